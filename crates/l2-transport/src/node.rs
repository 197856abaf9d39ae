//! [`Node`]: the async shell owning one node's sockets and tasks — a QUIC endpoint, a μTCP
//! listener and the discovery service — and the only place that dials and accepts links.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accept::{Admission, Inbound, Sources};
use crate::config::{DialOptions, DialTarget, NodeConfig, TransportChoice};
use crate::discovery::{self, DiscoveryAnswer, RateLimiter, Responder};
use crate::error::{Error, Result};
use crate::link::{Link, LinkContext};
use crate::quic::QuicEndpoint;
use crate::stats::{NodeCounters, NodeStats};
use crate::utcp;

/// How long shutdown waits for QUIC peers to acknowledge the close before dropping state.
const QUIC_CLOSE_WAIT: Duration = Duration::from_secs(1);

/// A transport node. Cheap to clone; clones share the node. Must be created inside a tokio
/// runtime, whose worker threads then drive it.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

struct Inner {
    config: NodeConfig,
    public_key: [u8; 32],
    counters: Arc<NodeCounters>,
    cancel: CancellationToken,
    tracker: TaskTracker,
    quic: Option<Arc<QuicEndpoint>>,
    utcp_addr: Option<SocketAddr>,
    discovery_addr: Option<SocketAddr>,
    accepted: Mutex<mpsc::Receiver<(Link, Admission)>>,
    /// Per-source state and the node-wide set-up slots, for the stats gauges.
    admission: (Arc<Sources>, Arc<tokio::sync::Semaphore>),
}

impl Drop for Inner {
    // A node dropped without `shutdown()` still stops its tasks and releases its sockets
    // (without waiting for them, which a destructor cannot do).
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl Node {
    /// Binds every configured socket and starts the accept and discovery tasks.
    pub async fn bind(config: NodeConfig) -> Result<Node> {
        config.validate()?;
        let counters = Arc::new(NodeCounters::default());
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let (tx, rx) = mpsc::channel(config.accept_backlog);
        let inbound = Inbound {
            tx,
            ctx: LinkContext {
                node: counters.clone(),
                cancel: cancel.clone(),
                max_frame: config.max_frame_len,
                linger: config.close_linger,
            },
            tracker: tracker.clone(),
            handshake_timeout: config.handshake_timeout,
            pending: Arc::new(tokio::sync::Semaphore::new(config.max_pending_handshakes)),
            max_pending: config.max_pending_handshakes,
            retry_threshold: config.retry_threshold,
            sources: Arc::new(Sources::new(&config, counters.clone())),
        };
        let admission = (inbound.sources.clone(), inbound.pending.clone());

        let quic = config
            .quic_bind
            .map(|a| QuicEndpoint::bind(a, &config).map(Arc::new))
            .transpose()?;
        let utcp = match config.utcp_bind {
            Some(a) => Some(TcpListener::bind(a).await?),
            None => None,
        };
        let utcp_addr = utcp.as_ref().map(TcpListener::local_addr).transpose()?;
        let discovery = match config.discovery_bind {
            Some(a) => Some(UdpSocket::bind(a).await?),
            None => None,
        };
        let discovery_addr = discovery.as_ref().map(UdpSocket::local_addr).transpose()?;
        let multicast = config
            .discovery_multicast
            .map(discovery::multicast_listener)
            .transpose()?;

        let key = SigningKey::from_bytes(&config.identity_seed);
        let public_key = key.verifying_key().to_bytes();
        if discovery.is_some() || multicast.is_some() {
            let responder = Arc::new(Responder {
                key,
                did: config.did.clone(),
                quic_port: quic.as_ref().map(|q| q.local.port()),
                utcp_port: utcp_addr.map(|a| a.port()),
                counters: counters.clone(),
                limiter: StdMutex::new(RateLimiter::new(config.discovery_rate_per_sec)),
            });
            for socket in discovery.into_iter().chain(multicast) {
                tracker.spawn(responder.clone().serve(socket, cancel.clone()));
            }
        }
        if let Some(q) = &quic {
            tracker.spawn(q.clone().accept_loop(inbound.clone()));
        }
        if let Some(listener) = utcp {
            tracker.spawn(utcp::accept_loop(listener, inbound));
        }
        let inner = Inner {
            config,
            public_key,
            counters,
            cancel,
            tracker,
            quic,
            utcp_addr,
            discovery_addr,
            accepted: Mutex::new(rx),
            admission,
        };
        Ok(Node {
            inner: Arc::new(inner),
        })
    }

    /// The QUIC endpoint's UDP address.
    pub fn quic_addr(&self) -> Option<SocketAddr> {
        self.inner.quic.as_ref().map(|q| q.local)
    }

    /// The μTCP listener's address.
    pub fn utcp_addr(&self) -> Option<SocketAddr> {
        self.inner.utcp_addr
    }

    /// The unicast discovery socket's address.
    pub fn discovery_addr(&self) -> Option<SocketAddr> {
        self.inner.discovery_addr
    }

    /// This node's own addresses as a dial target (what discovery announces).
    pub fn dial_target(&self) -> DialTarget {
        DialTarget {
            quic: self.quic_addr(),
            utcp: self.utcp_addr(),
        }
    }

    /// The DID this node announces.
    pub fn did(&self) -> &str {
        &self.inner.config.did
    }

    /// Ed25519 public key derived from the configured seed (signs discovery answers).
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.public_key
    }

    /// Opens a link. `Auto` tries QUIC for `quic_timeout`, then μTCP; the link says which
    /// transport it ended on.
    pub async fn dial(&self, target: DialTarget, opts: DialOptions) -> Result<Link> {
        let dialled = self
            .inner
            .cancel
            .run_until_cancelled(self.dial_inner(target, opts))
            .await;
        let link = dialled.unwrap_or_else(|| Err(Error::Closed("node shut down".into())))?;
        self.inner.counters.links_dialed.fetch_add(1, Relaxed);
        Ok(link)
    }

    async fn dial_inner(&self, target: DialTarget, opts: DialOptions) -> Result<Link> {
        match opts.transport {
            TransportChoice::Quic => self.dial_quic(target, opts.quic_timeout).await,
            TransportChoice::Utcp => self.dial_utcp(target, opts.utcp_timeout).await,
            TransportChoice::Auto => {
                let quic_error = match self.dial_quic(target, opts.quic_timeout).await {
                    Ok(link) => return Ok(link),
                    Err(e) => e,
                };
                if target.utcp.is_none() {
                    return Err(quic_error);
                }
                self.inner.counters.utcp_fallbacks.fetch_add(1, Relaxed);
                self.dial_utcp(target, opts.utcp_timeout).await
            }
        }
    }

    async fn dial_quic(&self, target: DialTarget, within: Duration) -> Result<Link> {
        let addr = target
            .quic
            .ok_or_else(|| Error::BadInput("dial target has no QUIC address".into()))?;
        let quic = self
            .inner
            .quic
            .as_ref()
            .ok_or_else(|| Error::BadInput("node has no QUIC endpoint".into()))?;
        // Dropping the connect future on timeout abandons the attempt inside quinn.
        tokio::time::timeout(within, quic.dial(addr, self.link_ctx()))
            .await
            .map_err(|_| {
                Error::Timeout(format!("QUIC to {addr} not connected within {within:?}"))
            })?
    }

    async fn dial_utcp(&self, target: DialTarget, within: Duration) -> Result<Link> {
        let addr = target
            .utcp
            .ok_or_else(|| Error::BadInput("dial target has no μTCP address".into()))?;
        tokio::time::timeout(
            within,
            utcp::dial(addr, self.link_ctx(), &self.inner.tracker),
        )
        .await
        .map_err(|_| Error::Timeout(format!("μTCP to {addr} not connected within {within:?}")))?
    }

    fn link_ctx(&self) -> LinkContext {
        let c = &self.inner.config;
        LinkContext {
            node: self.inner.counters.clone(),
            cancel: self.inner.cancel.child_token(),
            max_frame: c.max_frame_len,
            linger: c.close_linger,
        }
    }

    /// Waits for the next inbound link (QUIC or μTCP) whose preamble arrived; its set-up slot
    /// is released at once (use [`Node::accept_admitted`] to hold it through a handshake).
    pub async fn accept(&self) -> Result<Link> {
        Ok(self.accept_admitted().await?.0)
    }

    /// Like [`Node::accept`], with the link's set-up slot: it counts against the node's and
    /// the source's pending handshakes until dropped, and reports a failed handshake.
    pub async fn accept_admitted(&self) -> Result<(Link, Admission)> {
        let closed = || Error::Closed("node shut down".into());
        let mut rx = tokio::select! {
            _ = self.inner.cancel.cancelled() => return Err(closed()),
            rx = self.inner.accepted.lock() => rx,
        };
        let link = tokio::select! {
            _ = self.inner.cancel.cancelled() => return Err(closed()),
            link = rx.recv() => link.ok_or_else(closed)?,
        };
        self.inner.counters.links_accepted.fetch_add(1, Relaxed);
        Ok(link)
    }

    /// Probes one discovery address and returns its verified answer.
    pub async fn discover(&self, addr: SocketAddr, timeout: Duration) -> Result<DiscoveryAnswer> {
        discovery::probe(addr, timeout, &self.inner.counters).await
    }

    /// Probes the configured multicast group and returns every verified answer heard within
    /// `timeout` (this node's own answer included when it listens on the group).
    pub async fn discover_multicast(&self, timeout: Duration) -> Result<Vec<DiscoveryAnswer>> {
        let mc = self
            .inner
            .config
            .discovery_multicast
            .ok_or_else(|| Error::BadInput("no discovery_multicast configured".into()))?;
        discovery::probe_multicast(mc, timeout, &self.inner.counters).await
    }

    /// Counters, open QUIC connections and admission gauges.
    pub fn stats(&self) -> NodeStats {
        let open = self
            .inner
            .quic
            .as_ref()
            .map_or(0, |q| q.endpoint.open_connections());
        let mut stats = self.inner.counters.snapshot(open);
        let (sources, pending) = &self.inner.admission;
        let in_setup = self.inner.config.max_pending_handshakes - pending.available_permits();
        stats.admission = sources.gauges(in_setup);
        stats
    }

    /// Tasks this node is still running (accept loops, discovery, link set-up and watchers).
    pub fn running_tasks(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Stops everything: every link's pending and later operations return `ERR_L2_CLOSED`,
    /// QUIC connections are closed, sockets released, and every task of the node has ended
    /// when this returns, so nothing keeps the runtime (or a Node.js process) alive.
    pub async fn shutdown(&self) {
        self.inner.cancel.cancel();
        self.inner.tracker.close();
        if let Some(q) = &self.inner.quic {
            q.endpoint.close(0u32.into(), b"shutdown");
            // Gives peers a chance to see the close; bounded because they may be gone.
            let _ = tokio::time::timeout(QUIC_CLOSE_WAIT, q.endpoint.wait_idle()).await;
        }
        self.inner.tracker.wait().await;
        self.inner.accepted.lock().await.close();
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("did", &self.inner.config.did)
            .field("quic", &self.quic_addr())
            .field("utcp", &self.inner.utcp_addr)
            .field("discovery", &self.inner.discovery_addr)
            .finish_non_exhaustive()
    }
}
