//! Node and dial configuration. Every bound that protects memory or time is a field here, so
//! the binding can surface it and tests can shrink it.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use crate::error::{Error, Result};

/// Longest DID the discovery answer can carry (one length byte on the wire).
pub const MAX_DID_LEN: usize = 255;

/// What a [`crate::Node`] binds and how it bounds its work.
#[derive(Clone)]
pub struct NodeConfig {
    /// The node's DID string, announced by discovery; opaque to this crate.
    pub did: String,
    /// Ed25519 seed of the node identity; signs discovery answers.
    pub identity_seed: [u8; 32],
    /// UDP address of the QUIC endpoint (`None`: no QUIC; port 0: any free port).
    pub quic_bind: Option<SocketAddr>,
    /// TCP address of the μTCP listener (`None`: no μTCP).
    pub utcp_bind: Option<SocketAddr>,
    /// UDP address answering unicast discovery probes (`None`: no discovery service).
    pub discovery_bind: Option<SocketAddr>,
    /// Multicast group to join for LAN-wide probes (`None`: unicast only).
    pub discovery_multicast: Option<MulticastConfig>,
    /// Probes answered per second per source IP (also the burst size).
    pub discovery_rate_per_sec: u32,
    /// Largest frame accepted or sent; a longer length prefix closes the link before allocating.
    pub max_frame_len: usize,
    /// Incoming links waiting for [`crate::Node::accept`]; beyond this they are refused and counted.
    pub accept_backlog: usize,
    /// Time an inbound link has to complete QUIC/TCP set-up and send its preamble.
    pub handshake_timeout: Duration,
    /// Inbound links in set-up at once; more are refused and counted, so a flood of
    /// half-open connections cannot hold unbounded tasks and buffers.
    pub max_pending_handshakes: usize,
    /// How long a graceful `close()` waits for the peer to take our data and finish its side.
    pub close_linger: Duration,
    /// QUIC idle timeout; keep-alives are sent at a third of it.
    pub quic_idle_timeout: Duration,
    /// Per-stream and per-connection QUIC receive window in bytes (flow-control backpressure).
    pub quic_receive_window: u32,
    /// Requested kernel send/receive buffer of the QUIC UDP socket. The 208 KiB Linux default
    /// overflows when a few hundred handshakes (each ~3 KiB with ML-KEM) arrive at once; the
    /// kernel caps the request at `net.core.rmem_max`/`wmem_max`.
    pub quic_socket_buffer: usize,
    /// Connections one source IP may have in set-up at once (transport and L2 handshake).
    pub max_pending_per_source: usize,
    /// Handshake attempts per second per source IP (token bucket refill rate).
    pub handshake_rate_per_source: u32,
    /// Token bucket size: attempts a quiet source may make in a burst.
    pub handshake_burst_per_source: u32,
    /// Inbound QUIC connections in set-up above which a client whose address is not yet
    /// validated gets a stateless Retry instead of server state (0: always).
    pub retry_threshold: usize,
    /// Strikes (garbage handshakes, bad preambles, attempts while rate-limited) that quarantine
    /// a source IP.
    pub quarantine_strikes: u32,
    /// First quarantine of a source; each repeat doubles it, up to 64 times this.
    pub quarantine: Duration,
    /// Source IPs remembered at once; beyond this only node-wide limits apply to new sources,
    /// so the table cannot grow without bound.
    pub max_tracked_sources: usize,
}

/// Multicast group used by [`crate::Node::discover_multicast`] and joined by the service.
#[derive(Clone, Copy, Debug)]
pub struct MulticastConfig {
    /// Group address and port, e.g. `239.255.76.50:47650`.
    pub group: SocketAddrV4,
    /// Local interface address to join on and send from (`127.0.0.1` for loopback tests).
    pub interface: Ipv4Addr,
}

impl NodeConfig {
    /// A node on `127.0.0.1` with every service on a free port and conservative limits.
    pub fn loopback(did: impl Into<String>, identity_seed: [u8; 32]) -> Self {
        let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        NodeConfig {
            did: did.into(),
            identity_seed,
            quic_bind: Some(any),
            utcp_bind: Some(any),
            discovery_bind: Some(any),
            discovery_multicast: None,
            discovery_rate_per_sec: 20,
            max_frame_len: 1 << 20,
            accept_backlog: 1024,
            handshake_timeout: Duration::from_secs(5),
            max_pending_handshakes: 512,
            close_linger: Duration::from_secs(3),
            quic_idle_timeout: Duration::from_secs(30),
            quic_receive_window: 8 << 20,
            quic_socket_buffer: 4 << 20,
            max_pending_per_source: 256,
            handshake_rate_per_source: 100,
            handshake_burst_per_source: 256,
            retry_threshold: 128,
            quarantine_strikes: 8,
            quarantine: Duration::from_secs(10),
            max_tracked_sources: 65_536,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.did.is_empty() || self.did.len() > MAX_DID_LEN {
            return Err(Error::BadInput(format!(
                "did must be 1..={MAX_DID_LEN} bytes"
            )));
        }
        if self.max_frame_len == 0 || self.max_frame_len > u32::MAX as usize {
            return Err(Error::BadInput("max_frame_len must be 1..=u32::MAX".into()));
        }
        if self.accept_backlog == 0
            || self.max_pending_handshakes == 0
            || self.discovery_rate_per_sec == 0
        {
            return Err(Error::BadInput(
                "accept_backlog, max_pending_handshakes and discovery_rate_per_sec must be > 0"
                    .into(),
            ));
        }
        if self.max_pending_per_source == 0
            || self.handshake_rate_per_source == 0
            || self.handshake_burst_per_source == 0
            || self.quarantine_strikes == 0
            || self.max_tracked_sources == 0
        {
            return Err(Error::BadInput(
                "per-source limits, quarantine_strikes and max_tracked_sources must be > 0".into(),
            ));
        }
        if self.quarantine.is_zero() || self.quarantine > Duration::from_secs(86_400) {
            return Err(Error::BadInput("quarantine must be 1 ms..=1 day".into()));
        }
        if self.quic_idle_timeout < Duration::from_millis(300) {
            return Err(Error::BadInput(
                "quic_idle_timeout must be at least 300 ms".into(),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Debug for NodeConfig {
    // The seed is a secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("did", &self.did)
            .field("quic_bind", &self.quic_bind)
            .field("utcp_bind", &self.utcp_bind)
            .field("discovery_bind", &self.discovery_bind)
            .field("max_frame_len", &self.max_frame_len)
            .finish_non_exhaustive()
    }
}

/// Which transport a link runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// RFC 9000 QUIC through quinn.
    Quic,
    /// Length-prefixed frames over TCP.
    Utcp,
}

impl TransportKind {
    /// Lower-case name used in stats and by the binding.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Quic => "quic",
            TransportKind::Utcp => "utcp",
        }
    }
}

/// Transport choice for a dial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportChoice {
    /// QUIC only.
    Quic,
    /// μTCP only.
    Utcp,
    /// QUIC first; μTCP if QUIC has not connected within [`DialOptions::quic_timeout`].
    Auto,
}

/// Where a peer can be reached; discovery answers fill both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DialTarget {
    /// The peer's QUIC (UDP) address.
    pub quic: Option<SocketAddr>,
    /// The peer's μTCP (TCP) address.
    pub utcp: Option<SocketAddr>,
}

impl DialTarget {
    /// A QUIC-only target.
    pub fn quic(addr: SocketAddr) -> Self {
        DialTarget {
            quic: Some(addr),
            utcp: None,
        }
    }
    /// A μTCP-only target.
    pub fn utcp(addr: SocketAddr) -> Self {
        DialTarget {
            quic: None,
            utcp: Some(addr),
        }
    }
    /// Both transports, for [`TransportChoice::Auto`].
    pub fn both(quic: SocketAddr, utcp: SocketAddr) -> Self {
        DialTarget {
            quic: Some(quic),
            utcp: Some(utcp),
        }
    }
}

/// Per-dial options.
#[derive(Clone, Copy, Debug)]
pub struct DialOptions {
    /// Which transport(s) to try.
    pub transport: TransportChoice,
    /// Time QUIC gets before `Auto` falls back to μTCP (and the QUIC-only dial deadline).
    pub quic_timeout: Duration,
    /// Deadline for the TCP connect and preamble.
    pub utcp_timeout: Duration,
}

impl Default for DialOptions {
    fn default() -> Self {
        DialOptions {
            transport: TransportChoice::Auto,
            quic_timeout: Duration::from_secs(1),
            utcp_timeout: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_bad_values() {
        let good = NodeConfig::loopback("did:key:z6Mk", [7; 32]);
        assert!(good.validate().is_ok());
        let mut c = good.clone();
        c.did = String::new();
        assert_eq!(c.validate().unwrap_err().code(), "ERR_L2_BAD_INPUT");
        let mut c = good.clone();
        c.did = "x".repeat(MAX_DID_LEN + 1);
        assert!(c.validate().is_err());
        let mut c = good.clone();
        c.max_frame_len = 0;
        assert!(c.validate().is_err());
        let mut c = good.clone();
        c.handshake_burst_per_source = 0;
        assert!(c.validate().is_err());
        let mut c = good;
        c.quarantine = Duration::ZERO;
        assert!(c.validate().is_err());
    }

    #[test]
    fn debug_hides_the_seed() {
        let c = NodeConfig::loopback("did:key:z6Mk", [0xAB; 32]);
        let shown = format!("{c:?}");
        assert!(!shown.contains("171"), "seed bytes leaked: {shown}");
    }
}
