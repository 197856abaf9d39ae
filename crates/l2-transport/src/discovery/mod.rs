//! UDP discovery: a stateless, signed probe/answer service ("who is there, what do you offer,
//! where did my probe come from") and the probing side, unicast or multicast.

pub mod wire;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::config::{DialTarget, MulticastConfig};
use crate::error::{Error, Result};
use crate::stats::{DropReason, NodeCounters};
use wire::{Answer, AnswerError, Probe, MAX_DATAGRAM, NONCE_LEN};

/// Sources tracked by the rate limiter; beyond this, unknown sources are refused until
/// entries expire, so a spoofing flood cannot grow memory.
const MAX_SOURCES: usize = 4096;

/// A verified answer, resolved against the address it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryAnswer {
    /// DID the node announced (opaque to this crate).
    pub did: String,
    /// Ed25519 key that signed the answer.
    pub public_key: [u8; 32],
    /// QUIC address: the answer's source IP with the announced port.
    pub quic: Option<SocketAddr>,
    /// μTCP address, likewise.
    pub utcp: Option<SocketAddr>,
    /// Our probing socket's address as the peer saw it (STUN-like).
    pub observed: SocketAddr,
    /// Where the answer came from.
    pub from: SocketAddr,
}

impl DiscoveryAnswer {
    fn new(a: Answer, from: SocketAddr) -> Self {
        let at = |port: Option<u16>| port.map(|p| SocketAddr::new(from.ip(), p));
        DiscoveryAnswer {
            did: a.did,
            public_key: a.public_key,
            quic: at(a.quic_port),
            utcp: at(a.utcp_port),
            observed: a.observed,
            from,
        }
    }

    /// The addresses to dial this node on.
    pub fn dial_target(&self) -> DialTarget {
        DialTarget {
            quic: self.quic,
            utcp: self.utcp,
        }
    }
}

/// The answering side, shared by the unicast and multicast sockets of a node.
pub(crate) struct Responder {
    pub key: SigningKey,
    pub did: String,
    pub quic_port: Option<u16>,
    pub utcp_port: Option<u16>,
    pub counters: Arc<NodeCounters>,
    pub limiter: Mutex<RateLimiter>,
}

impl Responder {
    /// The signed answer for one datagram, or `None` (counted) if it gets none.
    fn answer(&self, datagram: &[u8], from: SocketAddr, now: Instant) -> Option<Vec<u8>> {
        let Some(probe) = Probe::decode(datagram) else {
            self.counters.count_drop(DropReason::DiscoveryMalformed);
            return None;
        };
        // A poisoned lock only means another task panicked mid-update; the buckets are still usable.
        let allowed = self
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .allow(from.ip(), now);
        if !allowed {
            self.counters.count_drop(DropReason::DiscoveryRateLimited);
            return None;
        }
        let answer = Answer {
            nonce: probe.nonce,
            quic_port: self.quic_port,
            utcp_port: self.utcp_port,
            observed: from,
            public_key: self.key.verifying_key().to_bytes(),
            did: self.did.clone(),
        }
        .encode_signed(&self.key);
        // Holds by construction (see wire.rs); checked so no future field can break it.
        (answer.len() <= datagram.len()).then_some(answer)
    }

    /// Answers probes on `socket` until the node shuts down.
    pub async fn serve(self: Arc<Self>, socket: UdpSocket, cancel: CancellationToken) {
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let received = tokio::select! {
                _ = cancel.cancelled() => break,
                r = socket.recv_from(&mut buf) => r,
            };
            // Errors here are per-datagram (e.g. ICMP feedback); the socket keeps serving.
            let Ok((n, from)) = received else { continue };
            if n > MAX_DATAGRAM {
                self.counters.count_drop(DropReason::DiscoveryMalformed);
                continue;
            }
            if let Some(answer) = self.answer(&buf[..n], from, Instant::now()) {
                if socket.send_to(&answer, from).await.is_ok() {
                    self.counters
                        .probes_answered
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }
}

/// Token bucket per source IP: `rate` probes per second, bursts of up to `rate`.
pub(crate) struct RateLimiter {
    rate: f64,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: u32) -> Self {
        RateLimiter {
            rate: f64::from(rate_per_sec),
            buckets: HashMap::new(),
        }
    }

    fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= MAX_SOURCES {
            // A bucket idle for a second is full again, so forgetting it changes nothing.
            self.buckets
                .retain(|_, (_, last)| now.duration_since(*last) < Duration::from_secs(1));
            if self.buckets.len() >= MAX_SOURCES {
                return false;
            }
        }
        let (tokens, last) = self.buckets.entry(ip).or_insert((self.rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Socket that receives probes sent to the multicast group on `interface`.
pub(crate) fn multicast_listener(mc: MulticastConfig) -> Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    // Every node on the host binds the same group port; SO_REUSEADDR lets all of them receive.
    s.set_reuse_address(true)?;
    // Binding the group address (not 0.0.0.0) keeps unicast traffic for that port out.
    s.bind(&SocketAddr::V4(mc.group).into())?;
    s.join_multicast_v4(mc.group.ip(), &mc.interface)?;
    s.set_nonblocking(true)?;
    Ok(UdpSocket::from_std(s.into())?)
}

/// Sends one probe to `target` and returns the first valid answer to it.
pub(crate) async fn probe(
    target: SocketAddr,
    timeout: Duration,
    counters: &NodeCounters,
) -> Result<DiscoveryAnswer> {
    let local: SocketAddr = match target {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await?;
    let answers = exchange(&socket, target, timeout, true, counters).await?;
    answers
        .into_iter()
        .next()
        .ok_or_else(|| Error::Timeout(format!("no discovery answer from {target}")))
}

/// Sends one probe to the multicast group and collects every valid answer until `timeout`.
pub(crate) async fn probe_multicast(
    mc: MulticastConfig,
    timeout: Duration,
    counters: &NodeCounters,
) -> Result<Vec<DiscoveryAnswer>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(mc.interface, 0)).into())?;
    s.set_multicast_if_v4(&mc.interface)?;
    // Loopback delivery lets nodes on this host (and the tests) hear the probe.
    s.set_multicast_loop_v4(true)?;
    s.set_multicast_ttl_v4(1)?;
    s.set_nonblocking(true)?;
    let socket = UdpSocket::from_std(s.into())?;
    exchange(&socket, SocketAddr::V4(mc.group), timeout, false, counters).await
}

async fn exchange(
    socket: &UdpSocket,
    target: SocketAddr,
    timeout: Duration,
    first_only: bool,
    counters: &NodeCounters,
) -> Result<Vec<DiscoveryAnswer>> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|e| Error::transport("random nonce", e))?;
    socket.send_to(&Probe { nonce }.encode(), target).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut found: Vec<DiscoveryAnswer> = Vec::new();
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    while let Ok(received) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        let Ok((n, from)) = received else { continue };
        match Answer::decode_verified(&buf[..n.min(buf.len())]) {
            Ok(a) if a.nonce == nonce => {
                if !found.iter().any(|f| f.public_key == a.public_key) {
                    found.push(DiscoveryAnswer::new(a, from));
                }
                if first_only {
                    break;
                }
            }
            // A verified answer to another probe: stale or replayed, not ours to use.
            Ok(_) | Err(AnswerError::Malformed) => {
                counters.count_drop(DropReason::DiscoveryMalformed)
            }
            Err(AnswerError::BadSignature) => {
                counters.count_drop(DropReason::DiscoveryBadSignature)
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limiter_allows_bursts_then_refills() {
        let mut rl = RateLimiter::new(3);
        let ip: IpAddr = Ipv4Addr::LOCALHOST.into();
        let t0 = Instant::now();
        assert!((0..3).all(|_| rl.allow(ip, t0)));
        assert!(!rl.allow(ip, t0));
        assert!(rl.allow(ip, t0 + Duration::from_millis(400)));
        let other: IpAddr = Ipv4Addr::new(127, 0, 0, 2).into();
        assert!(rl.allow(other, t0), "sources are limited independently");
    }

    #[test]
    fn rate_limiter_memory_is_bounded() {
        let mut rl = RateLimiter::new(1);
        let t0 = Instant::now();
        for i in 0..MAX_SOURCES as u32 {
            assert!(rl.allow(IpAddr::V4(Ipv4Addr::from(i)), t0));
        }
        assert!(
            !rl.allow(IpAddr::V4(Ipv4Addr::from(u32::MAX)), t0),
            "full table refuses new sources"
        );
        assert!(
            rl.allow(
                IpAddr::V4(Ipv4Addr::from(u32::MAX)),
                t0 + Duration::from_secs(2)
            ),
            "idle entries expire"
        );
        assert!(rl.buckets.len() <= MAX_SOURCES);
    }

    #[test]
    fn responder_answers_probes_and_counts_junk() {
        let counters = Arc::new(NodeCounters::default());
        let r = Responder {
            key: SigningKey::from_bytes(&[5; 32]),
            did: "did:key:z6MkTest".into(),
            quic_port: Some(1),
            utcp_port: Some(2),
            counters: counters.clone(),
            limiter: Mutex::new(RateLimiter::new(10)),
        };
        let from: SocketAddr = "127.0.0.1:7777".parse().expect("literal");
        let probe = Probe {
            nonce: [8; NONCE_LEN],
        }
        .encode();
        let answer = r.answer(&probe, from, Instant::now()).expect("answered");
        assert!(answer.len() <= probe.len());
        let a = Answer::decode_verified(&answer).expect("valid");
        assert_eq!((a.observed, a.did.as_str()), (from, "did:key:z6MkTest"));
        assert!(r.answer(b"garbage", from, Instant::now()).is_none());
        assert_eq!(
            counters.snapshot(0).dropped(DropReason::DiscoveryMalformed),
            1
        );
    }
}
