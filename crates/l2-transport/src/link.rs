//! A [`Link`]: one bidirectional channel of discrete, opaque frames to one peer, over QUIC or
//! μTCP. It is the unit the session layer runs one L2 session on.
//!
//! On QUIC a link is one connection carrying one long-lived bidirectional stream of
//! length-prefixed frames. One stream (not one per batch) because L2 frames carry counters
//! checked by a replay window and are cheapest to check in order; a stream keeps order for
//! free, costs no stream set-up per batch, and its flow-control window is the backpressure.
//! One connection per link (not one stream per link on a shared connection) because the TLS
//! exporter, and so the channel binding, is per connection.
//!
//! On μTCP the link wraps a [`UtcpStream`] and does the accounting (counters, drops, aborts)
//! for whichever loop drives it: tokio through `AsyncFd` (the async methods) or another event
//! loop through [`Polled`].

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::RawFd;
use std::pin::pin;
use std::sync::{Arc, Mutex as StdMutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, Interest};
use tokio::sync::{Mutex, Notify};
use tokio_util::sync::CancellationToken;

use crate::config::TransportKind;
use crate::error::{Error, Result};
use crate::frame::{self, FrameError, FrameReader};
use crate::stats::{DropReason, LinkCounters, LinkStats, NodeCounters};
use crate::tls::ChannelBinding;
use crate::utcp::{Incoming, UtcpStream};

/// A byte stream a link reads frames from (a QUIC receive stream).
pub(crate) type ByteReader = Box<dyn AsyncRead + Send + Unpin>;

/// The connected transport a link is built on.
pub(crate) enum Io {
    Quic {
        conn: quinn::Connection,
        send: quinn::SendStream,
        reader: FrameReader<ByteReader>,
    },
    Utcp(UtcpStream),
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
    pub io: Io,
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
    transport: Transport,
    counters: LinkCounters,
    /// Fired when the read side saw the peer's end (clean or not); `close()` waits for it.
    peer_done: CancellationToken,
    ctx: LinkContext,
}

enum Transport {
    Quic {
        conn: quinn::Connection,
        writer: Mutex<quinn::SendStream>,
        reader: Mutex<FrameReader<ByteReader>>,
    },
    Utcp(Utcp),
}

struct Utcp {
    /// Declared before `stream`, so the reactor registration is dropped before the socket closes.
    driver: StdMutex<Driver>,
    stream: UtcpStream,
    /// Notified whenever queued bytes were written, for waiters that do not drive the socket.
    progress: Notify,
}

/// Which event loop learns about the μTCP socket's readiness. Chosen once, by the first user.
enum Driver {
    Unclaimed,
    /// Registered with the tokio reactor (by the first async read or write).
    Tokio(Arc<AsyncFd<RawFd>>),
    /// Handed to another event loop by [`Link::polled`].
    External,
}

impl Drop for Inner {
    // Ends the μTCP watcher task (see `Link::watch_cancel`) when the last handle goes away.
    fn drop(&mut self) {
        self.ctx.cancel.cancel();
    }
}

impl Link {
    pub(crate) fn new(parts: LinkParts, ctx: LinkContext) -> Link {
        let transport = match parts.io {
            Io::Quic { conn, send, reader } => Transport::Quic {
                conn,
                writer: Mutex::new(send),
                reader: Mutex::new(reader),
            },
            Io::Utcp(stream) => Transport::Utcp(Utcp {
                stream,
                progress: Notify::new(),
                driver: StdMutex::new(Driver::Unclaimed),
            }),
        };
        Link {
            inner: Arc::new(Inner {
                kind: parts.kind,
                local: parts.local,
                peer: parts.peer,
                binding: parts.binding,
                transport,
                counters: LinkCounters::default(),
                peer_done: CancellationToken::new(),
                ctx,
            }),
        }
    }

    fn utcp(&self) -> Option<&Utcp> {
        match &self.inner.transport {
            Transport::Utcp(u) => Some(u),
            Transport::Quic { .. } => None,
        }
    }

    fn quic(&self) -> Option<&quinn::Connection> {
        match &self.inner.transport {
            Transport::Quic { conn, .. } => Some(conn),
            Transport::Utcp(_) => None,
        }
    }

    /// Shuts the μTCP socket down once the link is cancelled (closed, aborted, node shutdown),
    /// whichever loop is waiting on it: both directions end, so a pending read sees the end
    /// and a pending write fails. An idle μTCP link thus never outlives its node. The task
    /// holds the link weakly: dropping the last handle closes the socket itself.
    pub(crate) fn watch_cancel(&self, tracker: &tokio_util::task::TaskTracker) {
        if self.utcp().is_none() {
            return;
        }
        let link: Weak<Inner> = Arc::downgrade(&self.inner);
        let cancel = self.inner.ctx.cancel.clone();
        tracker.spawn(async move {
            cancel.cancelled().await;
            if let Some(inner) = link.upgrade() {
                if let Transport::Utcp(u) = &inner.transport {
                    u.stream.shutdown(Shutdown::Both);
                }
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
        match self.quic() {
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
        self.quic()
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
        let Some((count, bytes)) = self.check_batch(&frames)? else {
            return Ok(());
        };
        let cancel = &self.inner.ctx.cancel;
        let written = match &self.inner.transport {
            Transport::Utcp(u) => match self.utcp_write(u, &frames, count, bytes) {
                Ok(done_at) => self.written_to(u, done_at).await,
                Err(e) => Err(e),
            },
            Transport::Quic { writer, .. } => {
                let mut chunks = frame::with_prefixes(frames);
                let mut writer = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return Err(closed()),
                    w = writer.lock() => w,
                };
                let written = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => Err(closed()),
                    r = writer.write_all_chunks(&mut chunks) => r.map_err(quic_write_error),
                };
                if written.is_ok() {
                    self.inner.counters.sent(count, bytes);
                }
                written
            }
        };
        if written.is_err() {
            self.abort();
        }
        written
    }

    /// Frame count and bytes of a batch (None when empty), or `ERR_L2_LIMIT` for a frame
    /// above `max_frame_len`.
    fn check_batch<M: AsRef<[u8]>>(&self, frames: &[M]) -> Result<Option<(usize, usize)>> {
        let max = self.inner.ctx.max_frame;
        if let Some(f) = frames.iter().find(|f| f.as_ref().len() > max) {
            return Err(Error::Limit(format!(
                "frame of {} bytes exceeds max_frame_len {max}",
                f.as_ref().len()
            )));
        }
        let bytes = frames.iter().map(|f| f.as_ref().len()).sum();
        Ok((!frames.is_empty()).then_some((frames.len(), bytes)))
    }

    /// Writes a batch on μTCP (queueing what the socket does not take); returns the offset
    /// at which it is written. Counted as sent once accepted: nothing is dropped from the
    /// queue short of an abort.
    fn utcp_write<M: AsRef<[u8]>>(
        &self,
        u: &Utcp,
        frames: &[M],
        count: usize,
        bytes: usize,
    ) -> Result<u64> {
        if self.is_closed() {
            return Err(closed());
        }
        let done_at = u.stream.write(frames).map_err(|e| self.failed(e.into()))?;
        self.inner.counters.sent(count, bytes);
        Ok(done_at)
    }

    /// Writes queued μTCP bytes; returns the written offset.
    fn utcp_flush(&self, u: &Utcp) -> Result<u64> {
        if self.is_closed() {
            return Err(closed());
        }
        let written = u.stream.on_writable().map_err(|e| self.failed(e.into()))?;
        u.progress.notify_waiters();
        Ok(written)
    }

    /// Waits until the μTCP stream has written up to `done_at`: drives the writes through
    /// tokio, or, when another loop drives the socket, waits for its progress.
    async fn written_to(&self, u: &Utcp, done_at: u64) -> Result<()> {
        let cancel = &self.inner.ctx.cancel;
        loop {
            let mut progress = pin!(u.progress.notified());
            progress.as_mut().enable();
            if u.stream.written().0 >= done_at {
                return Ok(());
            }
            match self.reactor(u)? {
                None => tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return Err(closed()),
                    _ = progress => {}
                },
                Some(fd) => {
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => return Err(closed()),
                        r = fd.writable() => r?.clear_ready(),
                    }
                    self.utcp_flush(u)?;
                }
            }
        }
    }

    /// The tokio registration of the μTCP socket, made on first use; None once the link was
    /// handed to another loop.
    fn reactor(&self, u: &Utcp) -> Result<Option<Arc<AsyncFd<RawFd>>>> {
        let mut driver = u.driver.lock().unwrap_or_else(|p| p.into_inner());
        match &*driver {
            Driver::Tokio(fd) => Ok(Some(fd.clone())),
            Driver::External => Ok(None),
            Driver::Unclaimed => {
                // SAFETY: the descriptor belongs to `u.stream`, which outlives the registration
                // (see the field order of `Utcp`).
                let fd = unsafe {
                    AsyncFd::register_with_interest(
                        u.stream.fd(),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                }
                .map_err(|e| Error::from(io::Error::from(e)))?;
                let fd = Arc::new(fd);
                *driver = Driver::Tokio(fd.clone());
                Ok(Some(fd))
            }
        }
    }

    /// Aborts the link after a failed write or read and passes the error on.
    fn failed(&self, e: Error) -> Error {
        self.abort();
        e
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
        match &self.inner.transport {
            Transport::Quic { reader, .. } => {
                let mut reader = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return Err(closed()),
                    r = reader.lock() => r,
                };
                let read = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return Err(closed()),
                    r = reader.read_batch(max) => r,
                };
                drop(reader);
                self.received(read)
            }
            Transport::Utcp(u) => loop {
                if let Some(frames) = self.utcp_read(u, max)? {
                    return Ok(frames);
                }
                let Some(fd) = self.reactor(u)? else {
                    return Err(Error::BadInput(
                        "this link is driven by another event loop".into(),
                    ));
                };
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return Err(closed()),
                    r = fd.readable() => r?.clear_ready(),
                }
            },
        }
    }

    /// Frames already received on μTCP, or None when the socket has nothing now.
    fn utcp_read(&self, u: &Utcp, max: usize) -> Result<Option<Vec<Bytes>>> {
        if self.is_closed() {
            return Err(closed());
        }
        let read = match u.stream.read_available(max) {
            Ok(Incoming::WouldBlock) => return Ok(None),
            Ok(Incoming::Frames(frames)) => Ok(frames),
            Ok(Incoming::End) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
        self.received(read).map(Some)
    }

    /// The accounting of a read, whichever transport and loop: counters, the peer's end,
    /// dropped input.
    fn received(&self, read: Result<Vec<Bytes>, FrameError>) -> Result<Vec<Bytes>> {
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
                Err(self.failed(Error::Limit(format!("peer announced a {len}-byte frame"))))
            }
            Err(FrameError::Truncated) => {
                self.inner.ctx.node.count_drop(DropReason::TruncatedFrame);
                Err(self.failed(Error::BadInput("stream ended inside a frame".into())))
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
            match &inner.transport {
                Transport::Quic { writer, .. } => {
                    let mut send = writer.lock().await;
                    // Already-finished or reset streams have nothing left to flush.
                    if send.finish().is_ok() {
                        let _ = send.stopped().await;
                    }
                }
                Transport::Utcp(u) => {
                    let (_, accepted) = u.stream.written();
                    if self.written_to(u, accepted).await.is_ok() {
                        u.stream.shutdown(Shutdown::Write);
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
        if let Some(conn) = self.quic() {
            conn.close(0u32.into(), b"close");
        }
    }

    /// Hands a μTCP link's socket to an event loop other than tokio's (None on QUIC, or once
    /// a tokio task has read or written it): the caller polls [`Polled::fd`] for readiness
    /// and calls the matching method. The tokio reactor never sees the socket afterwards,
    /// so it costs the runtime no wakeup per packet. [`Link::close`], [`Link::abort`] and
    /// node shutdown keep working: they end the socket, which the caller then sees readable.
    pub fn polled(&self) -> Option<Polled> {
        let u = self.utcp()?;
        let mut driver = u.driver.lock().unwrap_or_else(|p| p.into_inner());
        match &*driver {
            Driver::Tokio(_) => None,
            Driver::Unclaimed | Driver::External => {
                *driver = Driver::External;
                Some(Polled { link: self.clone() })
            }
        }
    }

    /// Counters and, on QUIC, the path estimates (RTT, congestion window, losses).
    pub fn stats(&self) -> LinkStats {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.inner.counters;
        let path = self.quic().map(|conn| conn.stats().path);
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

/// A μTCP link driven by the caller's event loop (see [`Link::polled`]). Every method is
/// non-blocking; the link's counters, drop accounting and aborts apply as on the async path.
pub struct Polled {
    link: Link,
}

impl Polled {
    fn utcp(&self) -> &Utcp {
        self.link.utcp().expect("only μTCP links are polled")
    }

    /// The socket to poll. It stays open as long as the link does.
    pub fn fd(&self) -> RawFd {
        self.utcp().stream.fd()
    }

    /// The link this drives.
    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Writes the frames (copying only what the socket does not take now) and returns the
    /// offset at which they are written: done when [`Polled::written`] reaches it, else poll
    /// for writable and call [`Polled::on_writable`]. Frame limits as in [`Link::send_batch`].
    pub fn send<M: AsRef<[u8]>>(&self, frames: &[M]) -> Result<u64> {
        let u = self.utcp();
        match self.link.check_batch(frames)? {
            None => Ok(u.stream.written().1),
            Some((count, bytes)) => self.link.utcp_write(u, frames, count, bytes),
        }
    }

    /// Writes queued bytes after the socket became writable; returns the written offset.
    pub fn on_writable(&self) -> Result<u64> {
        self.link.utcp_flush(self.utcp())
    }

    /// Offset just past the last byte the kernel took.
    pub fn written(&self) -> u64 {
        self.utcp().stream.written().0
    }

    /// True while accepted bytes wait for the socket (never once the link is closed: they
    /// will not be written).
    pub fn has_queued(&self) -> bool {
        let (written, accepted) = self.utcp().stream.written();
        written < accepted && !self.link.is_closed()
    }

    /// Frames already received, up to `max` (an empty batch: the peer finished), or None
    /// when the socket has nothing now: poll for readable and call again. Errors as in
    /// [`Link::recv_batch`].
    pub fn recv(&self, max: usize) -> Result<Option<Vec<Bytes>>> {
        if max == 0 {
            return Err(Error::BadInput("recv max must be > 0".into()));
        }
        self.link.utcp_read(self.utcp(), max)
    }
}
