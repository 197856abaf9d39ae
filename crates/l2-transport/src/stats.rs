//! Counters kept with relaxed atomics (they are statistics, not synchronisation) and the
//! snapshots handed to callers.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::config::TransportKind;

/// Why the node dropped input instead of acting on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A datagram on a discovery port that is not a well-formed probe.
    DiscoveryMalformed,
    /// A probe over its source's rate.
    DiscoveryRateLimited,
    /// A discovery answer whose signature did not verify (forged or corrupted).
    DiscoveryBadSignature,
    /// An inbound connection whose first bytes were not the link preamble.
    BadPreamble,
    /// A length prefix above `max_frame_len`; the link was closed before allocating.
    OversizedFrame,
    /// The stream ended inside a frame.
    TruncatedFrame,
    /// An inbound connection that did not finish set-up within `handshake_timeout`.
    HandshakeTimeout,
    /// An inbound link refused because the accept backlog was full.
    AcceptBacklogFull,
    /// An inbound connection refused because `max_pending_handshakes` were in set-up.
    HandshakeLimit,
    /// An inbound connection refused because its source IP had `max_pending_per_source` in set-up.
    SourceHandshakeLimit,
    /// An inbound connection refused because its source IP ran out of handshake tokens.
    RateLimited,
    /// An inbound connection refused because its source IP is quarantined.
    Quarantined,
    /// An inbound link whose L2 handshake failed or stalled (reported by the session layer).
    BadHandshake,
    /// An inbound session refused because the node holds its maximum of sessions.
    SessionLimit,
}

impl DropReason {
    /// Every reason, in the order snapshots list them.
    pub const ALL: [DropReason; 14] = [
        DropReason::DiscoveryMalformed,
        DropReason::DiscoveryRateLimited,
        DropReason::DiscoveryBadSignature,
        DropReason::BadPreamble,
        DropReason::OversizedFrame,
        DropReason::TruncatedFrame,
        DropReason::HandshakeTimeout,
        DropReason::AcceptBacklogFull,
        DropReason::HandshakeLimit,
        DropReason::SourceHandshakeLimit,
        DropReason::RateLimited,
        DropReason::Quarantined,
        DropReason::BadHandshake,
        DropReason::SessionLimit,
    ];

    /// Snake-case name used as a key by the binding.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::DiscoveryMalformed => "discovery_malformed",
            DropReason::DiscoveryRateLimited => "discovery_rate_limited",
            DropReason::DiscoveryBadSignature => "discovery_bad_signature",
            DropReason::BadPreamble => "bad_preamble",
            DropReason::OversizedFrame => "oversized_frame",
            DropReason::TruncatedFrame => "truncated_frame",
            DropReason::HandshakeTimeout => "handshake_timeout",
            DropReason::AcceptBacklogFull => "accept_backlog_full",
            DropReason::HandshakeLimit => "handshake_limit",
            DropReason::SourceHandshakeLimit => "source_handshake_limit",
            DropReason::RateLimited => "rate_limited",
            DropReason::Quarantined => "quarantined",
            DropReason::BadHandshake => "bad_handshake",
            DropReason::SessionLimit => "session_limit",
        }
    }
}

/// Node-wide counters shared by every task of a node.
#[derive(Default)]
pub(crate) struct NodeCounters {
    dropped: [AtomicU64; DropReason::ALL.len()],
    pub links_accepted: AtomicU64,
    pub links_dialed: AtomicU64,
    pub utcp_fallbacks: AtomicU64,
    pub probes_answered: AtomicU64,
    pub retries_sent: AtomicU64,
    pub quarantines: AtomicU64,
}

impl NodeCounters {
    pub fn count_drop(&self, reason: DropReason) {
        self.dropped[reason as usize].fetch_add(1, Relaxed);
    }

    /// Counters only; the node fills in the gauges it owns (`quic_connections`, `admission`).
    pub fn snapshot(&self, quic_connections: usize) -> NodeStats {
        NodeStats {
            dropped: DropReason::ALL
                .iter()
                .map(|&r| (r, self.dropped[r as usize].load(Relaxed)))
                .collect(),
            links_accepted: self.links_accepted.load(Relaxed),
            links_dialed: self.links_dialed.load(Relaxed),
            utcp_fallbacks: self.utcp_fallbacks.load(Relaxed),
            probes_answered: self.probes_answered.load(Relaxed),
            retries_sent: self.retries_sent.load(Relaxed),
            quarantines: self.quarantines.load(Relaxed),
            quic_connections,
            admission: AdmissionGauges::default(),
        }
    }
}

/// A point-in-time copy of a node's counters.
#[derive(Clone, Debug)]
pub struct NodeStats {
    /// Dropped inputs by reason (every reason listed, zeros included).
    pub dropped: Vec<(DropReason, u64)>,
    /// Inbound links handed to `accept()`.
    pub links_accepted: u64,
    /// Outbound links established by `dial()`.
    pub links_dialed: u64,
    /// `Auto` dials that ended on μTCP.
    pub utcp_fallbacks: u64,
    /// Discovery probes answered.
    pub probes_answered: u64,
    /// Stateless QUIC Retry packets sent (address validation under load).
    pub retries_sent: u64,
    /// Quarantines started (a source quarantined twice counts twice).
    pub quarantines: u64,
    /// QUIC connections currently open on the endpoint.
    pub quic_connections: usize,
    /// Current occupancy of the admission limits.
    pub admission: AdmissionGauges,
}

/// How full the admission limits are right now.
#[derive(Clone, Copy, Debug, Default)]
pub struct AdmissionGauges {
    /// Inbound connections in set-up: from the first packet until the session layer reports
    /// the L2 handshake done (or the link goes away).
    pub pending_handshakes: usize,
    /// Source IPs currently quarantined.
    pub quarantined_sources: usize,
    /// Source IPs in the admission table.
    pub tracked_sources: usize,
}

impl NodeStats {
    /// The count for one drop reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.dropped
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }
}

/// Per-link counters; bytes count frame payloads, not length prefixes or QUIC overhead.
#[derive(Default)]
pub(crate) struct LinkCounters {
    pub bytes_sent: AtomicU64,
    pub bytes_received: AtomicU64,
    pub frames_sent: AtomicU64,
    pub frames_received: AtomicU64,
}

impl LinkCounters {
    pub fn sent(&self, frames: usize, bytes: usize) {
        self.frames_sent.fetch_add(frames as u64, Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Relaxed);
    }

    pub fn received(&self, frames: usize, bytes: usize) {
        self.frames_received.fetch_add(frames as u64, Relaxed);
        self.bytes_received.fetch_add(bytes as u64, Relaxed);
    }
}

/// A point-in-time copy of one link's counters and path estimates.
#[derive(Clone, Debug)]
pub struct LinkStats {
    /// Transport the link runs on.
    pub transport: TransportKind,
    /// Payload bytes sent.
    pub bytes_sent: u64,
    /// Payload bytes received.
    pub bytes_received: u64,
    /// Frames sent.
    pub frames_sent: u64,
    /// Frames received.
    pub frames_received: u64,
    /// Smoothed RTT (QUIC only; μTCP leaves RTT to the kernel and reports `None`).
    pub rtt: Option<Duration>,
    /// Congestion window in bytes (QUIC only).
    pub cwnd: Option<u64>,
    /// Packets declared lost (QUIC only).
    pub lost_packets: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reasons_index_their_own_slot() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
        let c = NodeCounters::default();
        c.count_drop(DropReason::OversizedFrame);
        c.count_drop(DropReason::OversizedFrame);
        let s = c.snapshot(0);
        assert_eq!(s.dropped(DropReason::OversizedFrame), 2);
        assert_eq!(s.dropped(DropReason::BadPreamble), 0);
        assert_eq!(s.dropped.len(), DropReason::ALL.len());
    }
}
