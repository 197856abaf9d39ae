//! Admission of inbound connections and their hand-off to [`crate::Node::accept`].
//!
//! Every inbound connection must pass, in order: its source IP is not quarantined; it has a
//! handshake token (per-source token bucket); its source has fewer than
//! `max_pending_per_source` connections in set-up; the node has fewer than
//! `max_pending_handshakes`. The slot it takes is held by an [`Admission`] until the session
//! layer reports its L2 handshake done, so "in set-up" spans the whole handshake, not only the
//! transport's. Set-up links then wait in a bounded queue: when the application does not keep
//! up, new links are refused and counted instead of piling up.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;

use crate::config::NodeConfig;
use crate::link::{Link, LinkContext};
use crate::stats::{AdmissionGauges, DropReason, NodeCounters};

/// A repeated quarantine doubles, at most this many times.
const MAX_QUARANTINE_DOUBLINGS: u32 = 6;
/// A full source table is pruned at most this often, so sources that cannot be tracked do not
/// each pay for a scan of the table.
const PRUNE_INTERVAL: Duration = Duration::from_secs(1);

/// Shared by the QUIC and μTCP accept loops of one node.
#[derive(Clone)]
pub(crate) struct Inbound {
    pub tx: mpsc::Sender<(Link, Admission)>,
    /// Node-level context; each link gets a child of its cancellation token.
    pub ctx: LinkContext,
    pub tracker: TaskTracker,
    pub handshake_timeout: Duration,
    /// One permit per inbound connection in set-up (`max_pending_handshakes`).
    pub pending: Arc<Semaphore>,
    pub max_pending: usize,
    pub retry_threshold: usize,
    pub sources: Arc<Sources>,
}

impl Inbound {
    pub fn counters(&self) -> &Arc<NodeCounters> {
        &self.ctx.node
    }

    /// Context for one new link: node shutdown cancels it, closing it does not touch the node.
    pub fn link_ctx(&self) -> LinkContext {
        LinkContext {
            cancel: self.ctx.cancel.child_token(),
            ..self.ctx.clone()
        }
    }

    /// Inbound connections in set-up right now.
    pub fn in_setup(&self) -> usize {
        self.max_pending - self.pending.available_permits()
    }

    /// Whether a QUIC client from an unvalidated address should prove it owns that address
    /// (stateless Retry) before the node keeps any state for it: under load, or when its
    /// source is out of tokens (the refusal then lands on a proven address, see [`Self::admit`]).
    pub fn wants_retry(&self, source: IpAddr, address_validated: bool) -> bool {
        !address_validated
            && (self.in_setup() >= self.retry_threshold
                || self.sources.out_of_tokens(source, Instant::now()))
    }

    /// Refuses (and counts) a connection from a quarantined source before any other work.
    pub fn quarantined(&self, source: IpAddr) -> bool {
        let q = self.sources.is_quarantined(source, Instant::now());
        if q {
            self.counters().count_drop(DropReason::Quarantined);
        }
        q
    }

    /// A set-up slot for one more inbound connection from `source`, or `None` (counted by
    /// reason) when a limit refuses it. `proven`: the source address is known not to be spoofed
    /// (TCP, or QUIC after a Retry); only then does an attempt while rate-limited count as a
    /// strike, so nobody can get someone else's address quarantined with forged packets.
    pub fn admit(&self, source: IpAddr, proven: bool) -> Option<Admission> {
        let tracked = match self.sources.admit(source, Instant::now(), proven) {
            Ok(tracked) => tracked,
            Err(reason) => {
                self.counters().count_drop(reason);
                return None;
            }
        };
        let Ok(permit) = self.pending.clone().try_acquire_owned() else {
            if tracked {
                self.sources.release(source);
            }
            self.counters().count_drop(DropReason::HandshakeLimit);
            return None;
        };
        Some(Admission {
            _permit: permit,
            source,
            tracked,
            sources: self.sources.clone(),
        })
    }

    /// Queues a set-up link for `accept()`, or refuses it when the backlog is full.
    pub fn deliver(&self, link: Link, admission: Admission) {
        match self.tx.try_send((link, admission)) {
            Ok(()) => {}
            Err(TrySendError::Full((link, _))) => {
                self.counters().count_drop(DropReason::AcceptBacklogFull);
                link.abort();
            }
            Err(TrySendError::Closed((link, _))) => link.abort(),
        }
    }
}

/// One inbound connection's set-up slot. Dropping it releases the slot (the handshake is done
/// or the connection gone); the session layer reports a failed handshake through
/// [`Admission::bad_handshake`] so the source is held to account.
pub struct Admission {
    _permit: OwnedSemaphorePermit,
    source: IpAddr,
    /// False when the source table was full and this source is not tracked.
    tracked: bool,
    sources: Arc<Sources>,
}

impl Admission {
    /// The L2 handshake failed or stalled: counted, and a strike against the source.
    pub fn bad_handshake(self) {
        self.strike(DropReason::BadHandshake);
    }

    /// The session layer refused the session because the node is full: counted only (a full
    /// node is not the peer's fault).
    pub fn session_limit(self) {
        self.sources.counters.count_drop(DropReason::SessionLimit);
    }

    /// Counts `reason` and holds it against the source.
    pub(crate) fn strike(self, reason: DropReason) {
        self.sources.counters.count_drop(reason);
        self.sources.strike(self.source, Instant::now());
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if self.tracked {
            self.sources.release(self.source);
        }
    }
}

impl std::fmt::Debug for Admission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admission")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What the node remembers about one source IP.
struct Source {
    tokens: f64,
    refilled: Instant,
    pending: usize,
    strikes: u32,
    last_strike: Instant,
    quarantined_until: Option<Instant>,
    /// Quarantines so far; each doubles the next one.
    quarantines: u32,
}

impl Source {
    fn quarantined(&self, now: Instant) -> bool {
        self.quarantined_until.is_some_and(|t| now < t)
    }
}

/// Per-source admission state: token buckets, pending counts, strikes and quarantines.
pub(crate) struct Sources {
    pending_cap: usize,
    rate: f64,
    burst: f64,
    strikes_to_quarantine: u32,
    quarantine: Duration,
    max_tracked: usize,
    counters: Arc<NodeCounters>,
    table: StdMutex<Table>,
}

struct Table {
    sources: HashMap<IpAddr, Source>,
    next_prune: Instant,
}

impl Sources {
    pub fn new(config: &NodeConfig, counters: Arc<NodeCounters>) -> Self {
        Sources {
            pending_cap: config.max_pending_per_source,
            rate: f64::from(config.handshake_rate_per_source),
            burst: f64::from(config.handshake_burst_per_source),
            strikes_to_quarantine: config.quarantine_strikes,
            quarantine: config.quarantine,
            max_tracked: config.max_tracked_sources,
            counters,
            table: StdMutex::new(Table {
                sources: HashMap::new(),
                next_prune: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // The table holds counters only; a panic elsewhere cannot leave it inconsistent.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_quarantined(&self, ip: IpAddr, now: Instant) -> bool {
        self.lock()
            .sources
            .get(&ip)
            .is_some_and(|s| s.quarantined(now))
    }

    /// Whether `ip` has no handshake token right now.
    fn out_of_tokens(&self, ip: IpAddr, now: Instant) -> bool {
        self.lock().sources.get(&ip).is_some_and(|s| {
            let elapsed = now.saturating_duration_since(s.refilled).as_secs_f64();
            s.tokens + elapsed * self.rate < 1.0
        })
    }

    /// Takes a token and a pending slot for `ip`. `Ok(false)`: the table is full and the
    /// source is not tracked (node-wide limits still apply).
    fn admit(&self, ip: IpAddr, now: Instant, proven: bool) -> Result<bool, DropReason> {
        let mut table = self.lock();
        if !table.sources.contains_key(&ip) && !self.make_room(&mut table, now) {
            return Ok(false);
        }
        let source = table.sources.entry(ip).or_insert_with(|| Source {
            tokens: self.burst,
            refilled: now,
            pending: 0,
            strikes: 0,
            last_strike: now,
            quarantined_until: None,
            quarantines: 0,
        });
        if source.quarantined(now) {
            return Err(DropReason::Quarantined);
        }
        let elapsed = now.saturating_duration_since(source.refilled).as_secs_f64();
        source.tokens = (source.tokens + elapsed * self.rate).min(self.burst);
        source.refilled = now;
        if source.tokens < 1.0 {
            // Hammering on while refused counts against the source: persistent offenders end
            // up quarantined, for longer each time.
            if proven {
                self.strike_source(source, now);
            }
            return Err(DropReason::RateLimited);
        }
        if source.pending >= self.pending_cap {
            return Err(DropReason::SourceHandshakeLimit);
        }
        source.tokens -= 1.0;
        source.pending += 1;
        Ok(true)
    }

    fn release(&self, ip: IpAddr) {
        if let Some(s) = self.lock().sources.get_mut(&ip) {
            s.pending = s.pending.saturating_sub(1);
        }
    }

    fn strike(&self, ip: IpAddr, now: Instant) {
        if let Some(s) = self.lock().sources.get_mut(&ip) {
            self.strike_source(s, now);
        }
    }

    fn strike_source(&self, s: &mut Source, now: Instant) {
        // Strikes are forgotten after a quiet quarantine period, so an occasional failure
        // never adds up to a quarantine.
        if now.saturating_duration_since(s.last_strike) > self.quarantine {
            s.strikes = 0;
        }
        s.last_strike = now;
        s.strikes += 1;
        if s.strikes >= self.strikes_to_quarantine && !s.quarantined(now) {
            let factor = 1u32 << s.quarantines.min(MAX_QUARANTINE_DOUBLINGS);
            s.quarantined_until = Some(now + self.quarantine * factor);
            s.quarantines += 1;
            s.strikes = 0;
            self.counters.quarantines.fetch_add(1, Relaxed);
        }
    }

    /// Whether a new source fits, after dropping idle entries if the table is full.
    fn make_room(&self, table: &mut Table, now: Instant) -> bool {
        if table.sources.len() < self.max_tracked {
            return true;
        }
        if now < table.next_prune {
            return false;
        }
        table.next_prune = now + PRUNE_INTERVAL;
        let (rate, burst, quiet) = (self.rate, self.burst, self.quarantine);
        table.sources.retain(|_, s| {
            let refilled = s.tokens + now.saturating_duration_since(s.refilled).as_secs_f64() * rate;
            s.pending > 0
                || s.quarantined(now)
                || refilled < burst
                || (s.strikes > 0 && now.saturating_duration_since(s.last_strike) <= quiet)
        });
        table.sources.len() < self.max_tracked
    }

    pub fn gauges(&self, in_setup: usize) -> AdmissionGauges {
        let now = Instant::now();
        let table = self.lock();
        AdmissionGauges {
            pending_handshakes: in_setup,
            quarantined_sources: table.sources.values().filter(|s| s.quarantined(now)).count(),
            tracked_sources: table.sources.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn sources(f: impl FnOnce(&mut NodeConfig)) -> Sources {
        let mut c = NodeConfig::loopback("did:test", [1; 32]);
        f(&mut c);
        Sources::new(&c, Arc::new(NodeCounters::default()))
    }

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

    #[test]
    fn token_bucket_refuses_then_refills() {
        let s = sources(|c| {
            c.handshake_burst_per_source = 3;
            c.handshake_rate_per_source = 10;
        });
        let t = Instant::now();
        for _ in 0..3 {
            assert_eq!(s.admit(A, t, true), Ok(true));
            s.release(A);
        }
        assert_eq!(s.admit(A, t, true), Err(DropReason::RateLimited));
        assert!(s.out_of_tokens(A, t));
        assert!(!s.out_of_tokens(B, t));
        // Another source has its own bucket.
        assert_eq!(s.admit(B, t, true), Ok(true));
        // 100 ms at 10/s is one token.
        assert_eq!(s.admit(A, t + Duration::from_millis(100), true), Ok(true));
    }

    #[test]
    fn pending_per_source_is_capped_and_released() {
        let s = sources(|c| c.max_pending_per_source = 2);
        let t = Instant::now();
        assert_eq!(s.admit(A, t, true), Ok(true));
        assert_eq!(s.admit(A, t, true), Ok(true));
        assert_eq!(s.admit(A, t, true), Err(DropReason::SourceHandshakeLimit));
        s.release(A);
        assert_eq!(s.admit(A, t, true), Ok(true));
    }

    #[test]
    fn strikes_quarantine_with_doubling_backoff() {
        let s = sources(|c| {
            c.quarantine_strikes = 2;
            c.quarantine = Duration::from_secs(10);
        });
        let t = Instant::now();
        assert_eq!(s.admit(A, t, true), Ok(true));
        s.strike(A, t);
        assert!(!s.is_quarantined(A, t));
        s.strike(A, t);
        assert!(s.is_quarantined(A, t));
        assert_eq!(s.admit(A, t, true), Err(DropReason::Quarantined));
        assert!(!s.is_quarantined(B, t));
        let after_first = t + Duration::from_secs(11);
        assert!(!s.is_quarantined(A, after_first));
        s.strike(A, after_first);
        s.strike(A, after_first);
        // The second quarantine lasts twice as long.
        assert!(s.is_quarantined(A, after_first + Duration::from_secs(15)));
        assert!(!s.is_quarantined(A, after_first + Duration::from_secs(21)));
        assert_eq!(s.counters.quarantines.load(Relaxed), 2);
    }

    #[test]
    fn unproven_addresses_cannot_earn_strikes() {
        let s = sources(|c| {
            c.handshake_burst_per_source = 1;
            c.quarantine_strikes = 1;
        });
        let t = Instant::now();
        assert_eq!(s.admit(A, t, false), Ok(true));
        // Forged packets in A's name, over its rate: refused, but A is not quarantined.
        assert_eq!(s.admit(A, t, false), Err(DropReason::RateLimited));
        assert!(!s.is_quarantined(A, t));
        assert_eq!(s.admit(A, t, true), Err(DropReason::RateLimited));
        assert!(s.is_quarantined(A, t));
    }

    #[test]
    fn isolated_strikes_are_forgotten() {
        let s = sources(|c| {
            c.quarantine_strikes = 2;
            c.quarantine = Duration::from_secs(1);
        });
        let t = Instant::now();
        assert_eq!(s.admit(A, t, true), Ok(true));
        s.strike(A, t);
        s.strike(A, t + Duration::from_secs(5));
        assert!(!s.is_quarantined(A, t + Duration::from_secs(5)));
    }

    #[test]
    fn full_table_prunes_idle_sources_and_stays_bounded() {
        let s = sources(|c| c.max_tracked_sources = 2);
        let t = Instant::now();
        assert_eq!(s.admit(A, t, true), Ok(true));
        assert_eq!(s.admit(B, t, true), Ok(true));
        let c = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4));
        // Both busy: the third is admitted untracked.
        assert_eq!(s.admit(c, t, true), Ok(false));
        s.release(A);
        // A is idle once its bucket refills; the next prune (one interval later) drops it.
        let later = t + PRUNE_INTERVAL + Duration::from_secs(5);
        assert_eq!(s.admit(c, later, true), Ok(true));
        assert_eq!(s.gauges(0).tracked_sources, 2);
    }
}
