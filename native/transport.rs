//! Transports for JavaScript: a node (QUIC, μTCP accept/dial and discovery on one tokio
//! runtime) and its links. A link moves opaque messages; the session layer sends one message
//! per batch of sealed frames, so one N-API crossing carries many frames each way. μTCP links
//! do their I/O on the JS thread, polled by Node's event loop (crate::utcp_poll); QUIC links
//! and the node's own calls settle their Promise from the runtime, with the stable code as a
//! `ERR_L2_…: ` prefix (napi's async path has no custom status), which the TS layer turns
//! into `L2Error.code`.

use crate::identity::Identity;
use crate::utcp_poll::Poller;
use crate::{bad_input, Code};
use l2_transport as tp;
use napi::bindgen_prelude::{Array, Buffer, PromiseRaw, ToNapiValue};
use napi::{Env, Result, Status};
use napi_derive::napi;
use std::net::SocketAddr;
use std::cell::OnceCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

fn async_err(e: tp::Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{}: {e}", e.code()))
}

fn addr(what: &str, s: &str) -> std::result::Result<SocketAddr, napi::Error<Code>> {
    s.parse().map_err(|_| bad_input(format!("{what} must be an IP address and port (\"127.0.0.1:4433\"), got {s:?}")))
}

fn millis(what: &str, v: Option<f64>, default: Duration) -> std::result::Result<Duration, napi::Error<Code>> {
    match v {
        None => Ok(default),
        Some(ms) if ms.is_finite() && ms > 0.0 && ms <= 86_400_000.0 => Ok(Duration::from_secs_f64(ms / 1000.0)),
        Some(ms) => Err(bad_input(format!("{what} must be 1..86400000 ms, got {ms}"))),
    }
}

/// Where and how a node listens.
#[napi(object)]
pub struct ListenOptions {
    /// IP address to bind (default 127.0.0.1).
    pub host: Option<String>,
    /// UDP port for QUIC (0 = any free port; omitted = 0).
    pub quic_port: Option<u32>,
    /// TCP port for μTCP (0 = any free port; omitted = 0).
    pub tcp_port: Option<u32>,
    /// UDP port for discovery (0 = any free port; omitted = 0).
    pub discovery_port: Option<u32>,
    /// Largest transport message accepted, in bytes (default 1 MiB).
    pub max_message_len: Option<u32>,
    /// QUIC idle timeout in ms (default 30 000).
    pub quic_idle_timeout_ms: Option<f64>,
    /// Inbound connections in set-up (transport and L2 handshake) per node (default 512).
    pub max_pending_handshakes: Option<u32>,
    /// The same per source IP (default 256).
    pub max_pending_handshakes_per_source: Option<u32>,
    /// Handshake attempts per second per source IP (default 100).
    pub handshake_rate_per_source: Option<u32>,
    /// Handshake attempts a quiet source IP may make in a burst (default 256).
    pub handshake_burst_per_source: Option<u32>,
    /// QUIC connections in set-up above which unvalidated clients get a stateless Retry (default 128; 0 = always).
    pub retry_threshold: Option<u32>,
    /// Strikes (failed handshakes, junk, attempts while rate-limited) that quarantine a source IP (default 8).
    pub quarantine_strikes: Option<u32>,
    /// First quarantine of a source IP in ms, doubled on each repeat (default 10 000).
    pub quarantine_ms: Option<f64>,
}

/// How to reach a peer.
#[napi(object)]
pub struct DialOptions {
    /// QUIC address `ip:port`.
    pub quic: Option<String>,
    /// μTCP address `ip:port`.
    pub tcp: Option<String>,
    /// `'auto'` (QUIC, then μTCP), `'quic'` or `'tcp'`; default `'auto'`.
    pub transport: Option<String>,
    /// How long QUIC may take before `'auto'` falls back to μTCP, ms (default 1000).
    pub quic_timeout_ms: Option<f64>,
    /// How long μTCP may take, ms (default 5000).
    pub tcp_timeout_ms: Option<f64>,
}

/// A node's listening addresses (`ip:port`).
#[napi(object)]
pub struct NodeAddresses {
    pub quic: Option<String>,
    pub tcp: Option<String>,
    pub discovery: Option<String>,
}

/// Node counters.
#[napi(object)]
pub struct NodeStats {
    pub links_accepted: f64,
    pub links_dialed: f64,
    pub tcp_fallbacks: f64,
    pub probes_answered: f64,
    pub quic_connections: u32,
    /// Dropped inputs by reason (every reason present, zeros included).
    pub dropped: std::collections::HashMap<String, f64>,
    /// Stateless QUIC Retry packets sent (address validation under load).
    pub retries_sent: f64,
    /// Quarantines of source IPs started.
    pub quarantines: f64,
    /// Inbound connections in set-up now (transport or L2 handshake).
    pub pending_handshakes: u32,
    /// Source IPs quarantined now.
    pub quarantined_sources: u32,
    /// Source IPs in the admission table.
    pub tracked_sources: u32,
    /// Tasks the node is running (accept loops, discovery, link set-up and watchers): a leak shows here.
    pub running_tasks: u32,
}

/// Link counters and path estimates.
#[napi(object)]
pub struct LinkStats {
    pub transport: String,
    pub bytes_sent: f64,
    pub bytes_received: f64,
    pub messages_sent: f64,
    pub messages_received: f64,
    /// Smoothed RTT in ms (QUIC only).
    pub rtt_ms: Option<f64>,
    /// Congestion window in bytes (QUIC only).
    pub cwnd: Option<f64>,
    pub lost_packets: Option<f64>,
}

/// A signed discovery answer.
#[napi(object)]
pub struct DiscoveryAnswer {
    pub did: String,
    pub public_key: Buffer,
    pub quic: Option<String>,
    pub tcp: Option<String>,
    /// Our address as the answering node saw it.
    pub observed: String,
    pub from: String,
    /// True when the DID is a `did:key` naming the key that signed the answer; other DID methods
    /// are as announced and must be checked through a resolver.
    pub did_verified: bool,
}

impl DiscoveryAnswer {
    /// A `did:key` must name the signing key, or anyone could announce someone else's DID.
    fn checked(a: tp::DiscoveryAnswer) -> std::result::Result<Self, napi::Error> {
        let did_verified = match l2_core::did::decode(&a.did) {
            Ok(key) if key == a.public_key => true,
            Ok(_) => return Err(napi::Error::new(Status::GenericFailure, "ERR_L2_AUTH_FAILED: discovery answer's did:key does not name its signing key")),
            Err(_) => false,
        };
        Ok(Self {
            did_verified,
            did: a.did,
            public_key: a.public_key.to_vec().into(),
            quic: a.quic.map(|s| s.to_string()),
            tcp: a.utcp.map(|s| s.to_string()),
            observed: a.observed.to_string(),
            from: a.from.to_string(),
        })
    }
}

fn transport_name(kind: tp::TransportKind) -> String {
    match kind {
        tp::TransportKind::Quic => "quic".into(),
        tp::TransportKind::Utcp => "tcp".into(),
    }
}

/// A listening node: QUIC, μTCP and discovery sockets on one runtime.
#[napi]
pub struct TransportNode {
    inner: Arc<tp::Node>,
}

#[napi]
impl TransportNode {
    /// Binds the node's sockets; resolves when it is listening.
    #[napi(ts_return_type = "Promise<TransportNode>", catch_unwind)]
    pub fn listen<'env>(
        env: &'env Env,
        identity: &Identity,
        options: Option<ListenOptions>,
    ) -> std::result::Result<PromiseRaw<'env, TransportNode>, napi::Error<Code>> {
        let seed = identity.inner.seed();
        let did = l2_core::did::encode(&identity.inner.public_key());
        let mut config = tp::NodeConfig::loopback(did, *seed);
        if let Some(o) = options {
            let host: std::net::IpAddr = match o.host.as_deref() {
                Some(h) => h.parse().map_err(|_| bad_input(format!("host must be an IP address, got {h:?}")))?,
                None => std::net::Ipv4Addr::LOCALHOST.into(),
            };
            let port = |what: &str, p: Option<u32>| -> std::result::Result<SocketAddr, napi::Error<Code>> {
                let p = p.unwrap_or(0);
                let p = u16::try_from(p).map_err(|_| bad_input(format!("{what} must be 0..65535, got {p}")))?;
                Ok(SocketAddr::new(host, p))
            };
            config.quic_bind = Some(port("quicPort", o.quic_port)?);
            config.utcp_bind = Some(port("tcpPort", o.tcp_port)?);
            config.discovery_bind = Some(port("discoveryPort", o.discovery_port)?);
            if let Some(len) = o.max_message_len {
                config.max_frame_len = len as usize;
            }
            config.quic_idle_timeout = millis("quicIdleTimeoutMs", o.quic_idle_timeout_ms, config.quic_idle_timeout)?;
            let count = |what: &str, v: Option<u32>, min: u32, default: usize| match v {
                None => Ok(default),
                Some(n) if n >= min && n <= 1 << 20 => Ok(n as usize),
                Some(n) => Err(bad_input(format!("{what} must be {min}..{}, got {n}", 1 << 20))),
            };
            config.max_pending_handshakes = count("maxPendingHandshakes", o.max_pending_handshakes, 1, config.max_pending_handshakes)?;
            config.max_pending_per_source = count("maxPendingHandshakesPerSource", o.max_pending_handshakes_per_source, 1, config.max_pending_per_source)?;
            config.handshake_rate_per_source = count("handshakeRatePerSource", o.handshake_rate_per_source, 1, config.handshake_rate_per_source as usize)? as u32;
            config.handshake_burst_per_source = count("handshakeBurstPerSource", o.handshake_burst_per_source, 1, config.handshake_burst_per_source as usize)? as u32;
            config.retry_threshold = count("retryThreshold", o.retry_threshold, 0, config.retry_threshold)?;
            config.quarantine_strikes = count("quarantineStrikes", o.quarantine_strikes, 1, config.quarantine_strikes as usize)? as u32;
            config.quarantine = millis("quarantineMs", o.quarantine_ms, config.quarantine)?;
        }
        env.spawn_future(async move {
            let node = tp::Node::bind(config).await.map_err(async_err)?;
            Ok(TransportNode { inner: Arc::new(node) })
        })
        .map_err(internal)
    }

    /// The DID this node announces.
    #[napi(getter)]
    pub fn did(&self) -> String {
        self.inner.did().to_string()
    }

    /// Listening addresses.
    #[napi(getter)]
    pub fn addresses(&self) -> NodeAddresses {
        NodeAddresses {
            quic: self.inner.quic_addr().map(|a| a.to_string()),
            tcp: self.inner.utcp_addr().map(|a| a.to_string()),
            discovery: self.inner.discovery_addr().map(|a| a.to_string()),
        }
    }

    /// Dials a peer; with `transport: 'auto'` QUIC is tried first and μTCP takes over when QUIC
    /// cannot connect within `quicTimeoutMs`.
    #[napi(catch_unwind)]
    pub async fn dial(&self, options: DialOptions) -> Result<TransportLink> {
        let target = tp::DialTarget {
            quic: options.quic.as_deref().map(|s| addr("quic", s)).transpose().map_err(to_status)?,
            utcp: options.tcp.as_deref().map(|s| addr("tcp", s)).transpose().map_err(to_status)?,
        };
        let transport = match options.transport.as_deref().unwrap_or("auto") {
            "auto" => tp::TransportChoice::Auto,
            "quic" => tp::TransportChoice::Quic,
            "tcp" => tp::TransportChoice::Utcp,
            other => return Err(to_status(bad_input(format!("transport must be 'auto', 'quic' or 'tcp', got {other:?}")))),
        };
        let d = tp::DialOptions::default();
        let opts = tp::DialOptions {
            transport,
            quic_timeout: millis("quicTimeoutMs", options.quic_timeout_ms, d.quic_timeout).map_err(to_status)?,
            utcp_timeout: millis("tcpTimeoutMs", options.tcp_timeout_ms, d.utcp_timeout).map_err(to_status)?,
        };
        let node = self.inner.clone();
        let link = node.dial(target, opts).await.map_err(async_err)?;
        Ok(TransportLink::new(link, None))
    }

    /// The next inbound link; rejects with `ERR_L2_CLOSED` once the node is closed.
    #[napi(catch_unwind)]
    pub async fn accept(&self) -> Result<TransportLink> {
        let node = self.inner.clone();
        let (link, admission) = node.accept_admitted().await.map_err(async_err)?;
        Ok(TransportLink::new(link, Some(admission)))
    }

    /// Probes a discovery address; resolves with the verified, signed answer.
    #[napi(catch_unwind)]
    pub async fn discover(&self, address: String, timeout_ms: Option<f64>) -> Result<DiscoveryAnswer> {
        let to = addr("address", &address).map_err(to_status)?;
        let timeout = millis("timeoutMs", timeout_ms, Duration::from_secs(2)).map_err(to_status)?;
        let node = self.inner.clone();
        DiscoveryAnswer::checked(node.discover(to, timeout).await.map_err(async_err)?)
    }

    /// Node counters.
    #[napi]
    pub fn stats(&self) -> NodeStats {
        let s = self.inner.stats();
        NodeStats {
            links_accepted: s.links_accepted as f64,
            links_dialed: s.links_dialed as f64,
            tcp_fallbacks: s.utcp_fallbacks as f64,
            probes_answered: s.probes_answered as f64,
            quic_connections: s.quic_connections as u32,
            dropped: s.dropped.iter().map(|(r, n)| (r.as_str().to_string(), *n as f64)).collect(),
            retries_sent: s.retries_sent as f64,
            quarantines: s.quarantines as f64,
            pending_handshakes: s.admission.pending_handshakes as u32,
            quarantined_sources: s.admission.quarantined_sources as u32,
            tracked_sources: s.admission.tracked_sources as u32,
            running_tasks: self.inner.running_tasks() as u32,
        }
    }

    /// Closes every link and socket and stops the node's tasks.
    #[napi(catch_unwind)]
    pub async fn close(&self) -> Result<()> {
        let node = self.inner.clone();
        node.shutdown().await;
        Ok(())
    }
}

fn internal(e: napi::Error) -> napi::Error<Code> {
    napi::Error::new(Code("ERR_L2_INTERNAL"), e.reason.clone())
}

fn to_status(e: napi::Error<Code>) -> napi::Error {
    napi::Error::new(Status::GenericFailure, format!("{}: {}", e.status.0, e.reason))
}

/// A channel of messages to one peer over QUIC or μTCP.
#[napi]
pub struct TransportLink {
    inner: tp::Link,
    /// An accepted link's set-up slot, held until the session layer settles its handshake.
    admission: std::sync::Mutex<Option<tp::Admission>>,
    /// μTCP: the JS-thread driver, started by the first send or recv (None on QUIC).
    poller: JsThreadOnly<OnceCell<Option<Rc<Poller>>>>,
}

/// A value used only on the JS thread of the link's env.
struct JsThreadOnly<T>(T);
// SAFETY: the poller is set and read only by `send`, `recv` and the finalizer (`Drop`), which
// N-API runs on the env's JS thread; a link that crosses threads (the result of an async `dial`
// or `accept`) carries it empty, and `close` (which runs on the runtime) never touches it.
unsafe impl<T> Send for JsThreadOnly<T> {}
unsafe impl<T> Sync for JsThreadOnly<T> {}

impl Drop for TransportLink {
    fn drop(&mut self) {
        if let Some(Some(p)) = self.poller.0.get() {
            p.orphan();
        }
    }
}

#[napi]
impl TransportLink {
    /// `'quic'` or `'tcp'`.
    #[napi(getter)]
    pub fn transport(&self) -> String {
        transport_name(self.inner.transport())
    }

    /// 32-byte TLS exporter value of the QUIC connection, or null on μTCP (SPEC.md §3.3).
    #[napi(getter)]
    pub fn channel_binding(&self) -> Option<Buffer> {
        self.inner.channel_binding().tls_exporter().map(|v| v.to_vec().into())
    }

    #[napi(getter)]
    pub fn local_address(&self) -> String {
        self.inner.local_addr().to_string()
    }

    #[napi(getter)]
    pub fn peer_address(&self) -> String {
        self.inner.peer_addr().to_string()
    }

    /// Sends messages in order (the caller may reuse its buffers once this returns); waits while
    /// the transport's flow control has no room, so a fast sender is held back instead of
    /// buffering without bound. On μTCP the messages are
    /// written before this returns (the promise is already resolved) unless the socket is
    /// full; only then is the rest copied and written when the socket has room.
    #[napi(catch_unwind)]
    pub fn send<'env>(&self, env: &'env Env, messages: Vec<&[u8]>) -> std::result::Result<PromiseRaw<'env, ()>, napi::Error<Code>> {
        if let Some(p) = self.poller(env)? {
            return Ok(PromiseRaw::new(env.raw(), p.send(&messages).map_err(internal)?));
        }
        let owned: Vec<bytes::Bytes> = messages.iter().map(|m| bytes::Bytes::copy_from_slice(m)).collect();
        let link = self.inner.clone();
        env.spawn_future(async move { link.send_batch(owned).await.map_err(async_err) }).map_err(internal)
    }

    /// Waits for at least one message, then returns all that arrived, up to `max` (default
    /// 1024). An empty array means the peer closed its side. On μTCP what already arrived is
    /// returned in an already-resolved promise.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<Buffer>>")]
    pub fn recv<'env>(&self, env: &'env Env, max: Option<u32>) -> std::result::Result<PromiseRaw<'env, Received>, napi::Error<Code>> {
        let max = max.unwrap_or(1024) as usize;
        if let Some(p) = self.poller(env)? {
            return Ok(PromiseRaw::new(env.raw(), p.recv(max).map_err(internal)?));
        }
        let link = self.inner.clone();
        env.spawn_future(async move { link.recv_batch(max).await.map(Received).map_err(async_err) }).map_err(internal)
    }

    /// Link counters.
    #[napi]
    pub fn stats(&self) -> LinkStats {
        let s = self.inner.stats();
        LinkStats {
            transport: transport_name(s.transport),
            bytes_sent: s.bytes_sent as f64,
            bytes_received: s.bytes_received as f64,
            messages_sent: s.frames_sent as f64,
            messages_received: s.frames_received as f64,
            rtt_ms: s.rtt.map(|d| d.as_secs_f64() * 1000.0),
            cwnd: s.cwnd.map(|c| c as f64),
            lost_packets: s.lost_packets.map(|c| c as f64),
        }
    }

    /// Graceful close: flushes what was sent, then releases the connection (and its set-up slot).
    #[napi(catch_unwind)]
    pub async fn close(&self) -> Result<()> {
        self.release();
        let link = self.inner.clone();
        link.close().await;
        Ok(())
    }

    /// Immediate close, dropping anything in flight (and the set-up slot).
    #[napi]
    pub fn abort(&self) {
        self.release();
        self.inner.abort();
    }

    /// Ends an accepted link's handshake phase, releasing its set-up slot: `'done'`,
    /// `'bad_handshake'` (counted and held against the source IP) or `'session_limit'`
    /// (counted). Only the first call counts; dialled links have nothing to settle.
    #[napi]
    pub fn settle_handshake(&self, outcome: String) -> std::result::Result<(), napi::Error<Code>> {
        if !matches!(outcome.as_str(), "done" | "bad_handshake" | "session_limit") {
            return Err(bad_input(format!("outcome must be 'done', 'bad_handshake' or 'session_limit', got {outcome:?}")));
        }
        match (self.release(), outcome.as_str()) {
            (Some(a), "bad_handshake") => a.bad_handshake(),
            (Some(a), "session_limit") => a.session_limit(),
            _ => {}
        }
        Ok(())
    }
}

/// Received messages, turned into Buffers on the JS thread: each copied once into memory V8
/// allocates (no intermediate Vec, no external buffer whose finalizer costs a GC callback).
pub struct Received(pub Vec<bytes::Bytes>);

impl ToNapiValue for Received {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> Result<napi::sys::napi_value> {
        let env = Env::from_raw(env);
        let mut out = env.create_array(val.0.len() as u32)?;
        for (i, message) in val.0.iter().enumerate() {
            let mut buf = crate::js_buffer(&env, message.len()).map_err(to_status)?;
            buf.copy_from_slice(message);
            out.set(i as u32, buf)?;
        }
        // SAFETY: `out` was created on this env just above.
        unsafe { Array::to_napi_value(env.raw(), out) }
    }
}

impl TransportLink {
    fn new(inner: tp::Link, admission: Option<tp::Admission>) -> Self {
        TransportLink { inner, admission: std::sync::Mutex::new(admission), poller: JsThreadOnly(OnceCell::new()) }
    }

    /// The μTCP driver, started on first use on the JS thread (None on QUIC).
    fn poller(&self, env: &Env) -> std::result::Result<Option<&Rc<Poller>>, napi::Error<Code>> {
        let cell = &self.poller.0;
        if cell.get().is_none() {
            let started = Poller::start(env.raw(), &self.inner).map_err(internal)?;
            let _ = cell.set(started);
        }
        Ok(cell.get().and_then(Option::as_ref))
    }

    /// Takes the set-up slot out of the link (dropping it releases the slot).
    fn release(&self) -> Option<tp::Admission> {
        self.admission.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}
