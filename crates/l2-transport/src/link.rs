//! A [`Link`]: one bidirectional channel of discrete, opaque frames to one peer, over QUIC or
//! μTCP. It is the unit the session layer runs one L2 session on.
//!
//! On QUIC a link is one connection carrying one long-lived bidirectional stream of
//! length-prefixed frames. One stream (not one per batch) because L2 frames carry counters
//! checked by a replay window and are cheapest to check in order; a stream keeps order for
//! free, costs no stream set-up per batch, and its flow-control window is the backpressure.
//! One connection per link (not one stream per link on a shared connection) because the TLS
//! exporter, and so the channel binding, is per connection.

use std::net::{Shutdown, SocketAddr};
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::TransportKind;
use crate::error::{Error, Result};
use crate::frame::{self, FrameError, FrameReader};
use crate::stats::{DropReason, LinkCounters, LinkStats, NodeCounters};
use crate::tls::ChannelBinding;

/// A byte stream a link reads frames from (a QUIC receive stream or a TCP read half).
pub(crate) type ByteReader = Box<dyn AsyncRead + Send + Unpin>;

/// What a link writes to.
pub(crate) enum Writer {
    Quic(quinn::SendStream),
    Utcp(OwnedWriteHalf),
}

/// Node-level context every link carries.
#[derive(Clone)]
pub(crate) struct LinkContext {
    pub node: Arc<NodeCounters>,
    pub cancel: CancellationToken,
    pub max_frame: usize,
    pub linger: Duration,
}

/// Everything needed to build a link once its transport is connected.
pub(crate) struct LinkParts {
    pub kind: TransportKind,
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub binding: ChannelBinding,
    pub quic: Option<quinn::Connection>,
    /// The μTCP socket under `writer` and `reader`, shut down when the link is cancelled.
    pub tcp_socket: Option<RawFd>,
    pub writer: Writer,
    pub reader: FrameReader<ByteReader>,
}

/// A bidirectional channel of frames to one peer. Cheap to clone; clones share the link, so
/// one task can send while another receives. Dropping the last handle without [`Link::close`]
/// is an abort: like dropping a socket, data the peer has not yet received may be lost.
#[derive(Clone)]
pub struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    kind: TransportKind,
    local: SocketAddr,
    peer: SocketAddr,
    binding: ChannelBinding,
    quic: Option<quinn::Connection>,
    tcp_socket: Option<RawFd>,
    writer: Mutex<Writer>,
    reader: Mutex<FrameReader<ByteReader>>,
    counters: LinkCounters,
    /// Fired when the read side saw the peer's end (clean or not); `close()` waits for it.
    peer_done: CancellationToken,
    ctx: LinkContext,
}

impl Drop for Inner {
    // Ends the μTCP watcher task (see `Link::watch_cancel`) when the last handle goes away.
    fn drop(&mut self) {
        self.ctx.cancel.cancel();
    }
}

impl Link {
    pub(crate) fn new(parts: LinkParts, ctx: LinkContext) -> Link {
        Link {
            inner: Arc::new(Inner {
                kind: parts.kind,
                local: parts.local,
                peer: parts.peer,
                binding: parts.binding,
                quic: parts.quic,
                tcp_socket: parts.tcp_socket,
                writer: Mutex::new(parts.writer),
                reader: Mutex::new(parts.reader),
                counters: LinkCounters::default(),
                peer_done: CancellationToken::new(),
                ctx,
            }),
        }
    }

    /// Shuts the μTCP socket down once the link is cancelled (closed, aborted, node shutdown),
    /// even while a read or a write holds the halves, so an idle μTCP link never outlives its
    /// node. The task holds the link weakly: dropping the last handle closes the socket itself.
    pub(crate) fn watch_cancel(&self, tracker: &tokio_util::task::TaskTracker) {
        let Some(fd) = self.inner.tcp_socket else { return };
        let link: Weak<Inner> = Arc::downgrade(&self.inner);
        let cancel = self.inner.ctx.cancel.clone();
        tracker.spawn(async move {
            cancel.cancelled().await;
            if let Some(inner) = link.upgrade() {
                // SAFETY: `fd` belongs to the stream halves `inner` owns, so it stays open while
                // this strong reference lives.
                let socket = unsafe { BorrowedFd::borrow_raw(fd) };
                // Already-closed sockets report ENOTCONN; there is nothing else to do.
                let _ = socket2::SockRef::from(&socket).shutdown(Shutdown::Both);
                drop(inner);
            }
        });
    }

    /// Transport this link runs on.
    pub fn transport(&self) -> TransportKind {
        self.inner.kind
    }

    /// Our address for this link (the endpoint's UDP address on QUIC).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// The peer's address as seen from here.
    pub fn peer_addr(&self) -> SocketAddr {
        match &self.inner.quic {
            // QUIC follows migrations, so ask the connection rather than the dial address.
            Some(conn) => conn.remote_address(),
            None => self.inner.peer,
        }
    }

    /// Value the L2 handshake mixes in to bind itself to this connection.
    pub fn channel_binding(&self) -> ChannelBinding {
        self.inner.binding
    }

    /// The QUIC connection under this link, for tests that inspect TLS details.
    #[cfg(test)]
    pub(crate) fn quic_connection(&self) -> Option<&quinn::Connection> {
        self.inner.quic.as_ref()
    }

    /// True once the link was closed or aborted (locally or by node shutdown).
    pub fn is_closed(&self) -> bool {
        self.inner.ctx.cancel.is_cancelled()
    }

    /// Sends one frame; see [`Link::send_batch`].
    pub async fn send(&self, frame: Bytes) -> Result<()> {
        self.send_batch(vec![frame]).await
    }

    /// Sends frames in order as one gathered write. Waits while the transport has no room
    /// (QUIC flow control, TCP send buffer): this is the backpressure, nothing is queued
    /// beyond the batch itself. Frames longer than `max_frame_len` fail the whole batch
    /// before anything is written. A write that fails leaves the link aborted.
    pub async fn send_batch(&self, frames: Vec<Bytes>) -> Result<()> {
        let max = self.inner.ctx.max_frame;
        if let Some(f) = frames.iter().find(|f| f.len() > max) {
            return Err(Error::Limit(format!(
                "frame of {} bytes exceeds max_frame_len {max}",
                f.len()
            )));
        }
        if frames.is_empty() {
            return Ok(());
        }
        let (count, bytes) = (frames.len(), frames.iter().map(Bytes::len).sum());
        let mut chunks = frame::with_prefixes(frames);
        let cancel = &self.inner.ctx.cancel;
        let mut writer = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(closed()),
            w = self.inner.writer.lock() => w,
        };
        let written = tokio::select! {
            biased;
            _ = cancel.cancelled() => Err(closed()),
            r = write_chunks(&mut writer, &mut chunks) => r,
        };
        match written {
            Ok(()) => {
                self.inner.counters.sent(count, bytes);
                Ok(())
            }
            Err(e) => {
                drop(writer);
                self.abort();
                Err(e)
            }
        }
    }

    /// Waits for at least one frame, then returns every frame already received, up to `max`,
    /// so one call (one N-API crossing) moves many frames. An empty batch means the peer
    /// finished its side cleanly; later calls return empty batches too. An oversized length
    /// prefix (`ERR_L2_LIMIT`) or a stream ending inside a frame (`ERR_L2_BAD_INPUT`) is
    /// counted on the node and aborts the link.
    pub async fn recv_batch(&self, max: usize) -> Result<Vec<Bytes>> {
        if max == 0 {
            return Err(Error::BadInput("recv_batch max must be > 0".into()));
        }
        let cancel = &self.inner.ctx.cancel;
        let mut reader = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(closed()),
            r = self.inner.reader.lock() => r,
        };
        let read = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(closed()),
            r = reader.read_batch(max) => r,
        };
        drop(reader);
        if !matches!(&read, Ok(frames) if !frames.is_empty()) {
            self.inner.peer_done.cancel();
        }
        match read {
            Ok(frames) => {
                self.inner
                    .counters
                    .received(frames.len(), frames.iter().map(Bytes::len).sum());
                Ok(frames)
            }
            Err(FrameError::Oversized(len)) => {
                self.inner.ctx.node.count_drop(DropReason::OversizedFrame);
                self.abort();
                Err(Error::Limit(format!("peer announced a {len}-byte frame")))
            }
            Err(FrameError::Truncated) => {
                self.inner.ctx.node.count_drop(DropReason::TruncatedFrame);
                self.abort();
                Err(Error::BadInput("stream ended inside a frame".into()))
            }
            Err(FrameError::Io(e)) => Err(e.into()),
        }
    }

    /// Graceful close: finishes our direction once in-flight sends are written, waits until
    /// the peer has acknowledged our data (QUIC) and until a running `recv_batch` has seen the
    /// peer finish its side, then releases the connection. Closing a QUIC connection or a TCP
    /// socket while data is still in flight can lose it, hence the wait; it is bounded by
    /// `close_linger`, after which the link is aborted. Frames are never read here: keep a
    /// receiver running (the binding always does) or the close lasts the whole linger.
    pub async fn close(&self) {
        if self.is_closed() {
            return;
        }
        let inner = &self.inner;
        let graceful = async {
            {
                let mut writer = inner.writer.lock().await;
                match &mut *writer {
                    Writer::Quic(send) => {
                        // Already-finished or reset streams have nothing left to flush.
                        if send.finish().is_ok() {
                            let _ = send.stopped().await;
                        }
                    }
                    Writer::Utcp(w) => {
                        let _ = w.shutdown().await;
                    }
                }
            }
            // Not `conn.closed()`: after the peer closes, its last frames may still sit
            // unread in our buffers, and aborting now would discard them.
            inner.peer_done.cancelled().await;
        };
        tokio::select! {
            _ = inner.ctx.cancel.cancelled() => {}
            _ = tokio::time::timeout(inner.ctx.linger, graceful) => {}
        }
        self.abort();
    }

    /// Immediate close: pending and later operations return `ERR_L2_CLOSED`, unsent data is
    /// discarded, the peer sees the connection end.
    pub fn abort(&self) {
        self.inner.ctx.cancel.cancel();
        if let Some(conn) = &self.inner.quic {
            conn.close(0u32.into(), b"close");
        }
    }

    /// Counters and, on QUIC, the path estimates (RTT, congestion window, losses).
    pub fn stats(&self) -> LinkStats {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.inner.counters;
        let path = self.inner.quic.as_ref().map(|conn| conn.stats().path);
        LinkStats {
            transport: self.inner.kind,
            bytes_sent: c.bytes_sent.load(Relaxed),
            bytes_received: c.bytes_received.load(Relaxed),
            frames_sent: c.frames_sent.load(Relaxed),
            frames_received: c.frames_received.load(Relaxed),
            rtt: path.map(|p| p.rtt),
            cwnd: path.map(|p| p.cwnd),
            lost_packets: path.map(|p| p.lost_packets),
        }
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("transport", &self.inner.kind)
            .field("local", &self.inner.local)
            .field("peer", &self.inner.peer)
            .finish_non_exhaustive()
    }
}

fn closed() -> Error {
    Error::Closed("link closed".into())
}

async fn write_chunks(writer: &mut Writer, chunks: &mut [Bytes]) -> Result<()> {
    match writer {
        Writer::Quic(send) => send
            .write_all_chunks(chunks)
            .await
            .map_err(quic_write_error),
        Writer::Utcp(w) => frame::write_all_gathered(w, chunks)
            .await
            .map_err(Error::from),
    }
}

fn quic_write_error(e: quinn::WriteError) -> Error {
    use quinn::{ConnectionError as C, WriteError as W};
    match e {
        W::Stopped(_) | W::ClosedStream => Error::Closed(e.to_string()),
        W::ConnectionLost(C::TimedOut) => Error::Timeout("QUIC connection idle timeout".into()),
        W::ConnectionLost(
            C::ApplicationClosed(_) | C::ConnectionClosed(_) | C::LocallyClosed | C::Reset,
        ) => Error::Closed(e.to_string()),
        other => Error::transport("QUIC write", other),
    }
}
