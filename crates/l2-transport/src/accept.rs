//! Hand-off of inbound links from the accept loops to [`crate::Node::accept`], through a
//! bounded queue: when the application does not keep up, new links are refused and counted
//! instead of piling up.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::task::TaskTracker;

use crate::link::{Link, LinkContext};
use crate::stats::{DropReason, NodeCounters};

/// Shared by the QUIC and μTCP accept loops of one node.
#[derive(Clone)]
pub(crate) struct Inbound {
    pub tx: mpsc::Sender<Link>,
    /// Node-level context; each link gets a child of its cancellation token.
    pub ctx: LinkContext,
    pub tracker: TaskTracker,
    pub handshake_timeout: Duration,
}

impl Inbound {
    pub fn counters(&self) -> &Arc<NodeCounters> {
        &self.ctx.node
    }

    /// Context for one new link: node shutdown cancels it, closing it does not touch the node.
    pub fn link_ctx(&self) -> LinkContext {
        LinkContext { cancel: self.ctx.cancel.child_token(), ..self.ctx.clone() }
    }

    /// Queues a set-up link for `accept()`, or refuses it when the backlog is full.
    pub fn deliver(&self, link: Link) {
        match self.tx.try_send(link) {
            Ok(()) => {
                self.counters().links_accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(TrySendError::Full(link)) => {
                self.counters().count_drop(DropReason::AcceptBacklogFull);
                link.abort();
            }
            Err(TrySendError::Closed(link)) => link.abort(),
        }
    }
}
