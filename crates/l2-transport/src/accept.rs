//! Hand-off of inbound links from the accept loops to [`crate::Node::accept`], through a
//! bounded queue: when the application does not keep up, new links are refused and counted
//! instead of piling up.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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
    /// One permit per inbound connection in set-up (`max_pending_handshakes`).
    pub pending: Arc<Semaphore>,
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

    /// A set-up slot for one more inbound connection, or `None` (counted) when all are taken.
    pub fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.pending.clone().try_acquire_owned().ok();
        if permit.is_none() {
            self.counters().count_drop(DropReason::HandshakeLimit);
        }
        permit
    }

    /// Queues a set-up link for `accept()`, or refuses it when the backlog is full.
    pub fn deliver(&self, link: Link) {
        match self.tx.try_send(link) {
            Ok(()) => {}
            Err(TrySendError::Full(link)) => {
                self.counters().count_drop(DropReason::AcceptBacklogFull);
                link.abort();
            }
            Err(TrySendError::Closed(link)) => link.abort(),
        }
    }
}
