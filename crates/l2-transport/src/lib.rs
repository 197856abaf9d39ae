//! Transports of l2-session: they move **opaque, already-sealed L2 frames** between peers over
//! QUIC (quinn/rustls, X25519MLKEM768 preferred), μTCP (length-prefixed frames over TCP, the
//! fallback) and a signed UDP discovery service. QUIC, discovery and link set-up run on tokio;
//! an established μTCP link is a sans-reactor core that tokio or another event loop drives
//! ([`Link::polled`]).
//!
//! This crate never encrypts frames: the L2 layer above seals them (ChaCha20-Poly1305) and
//! authenticates peers; what it gets from here is a [`Link`] per peer and, on QUIC, a
//! [`ChannelBinding`] value to mix into its handshake. Following quinn's split, the protocol
//! core (crates/l2-core) is sans-I/O and this crate alone owns sockets, timers and the clock.
//!
//! Entry points: [`Node::bind`], [`Node::dial`], [`Node::accept`], [`Link::send_batch`],
//! [`Link::recv_batch`], [`Node::discover`], [`Node::shutdown`].

mod accept;
mod config;
pub mod discovery;
mod error;
pub mod frame;
mod link;
mod node;
mod quic;
mod stats;
mod tls;
mod utcp;

pub use config::{
    DialOptions, DialTarget, MulticastConfig, NodeConfig, TransportChoice, TransportKind,
    MAX_DID_LEN,
};
pub use discovery::DiscoveryAnswer;
pub use error::{Error, Result};
pub use link::{Link, Polled};
pub use node::Node;
pub use accept::Admission;
pub use stats::{AdmissionGauges, DropReason, LinkStats, NodeStats};
pub use tls::{ChannelBinding, ALPN, EXPORTER_LABEL};
