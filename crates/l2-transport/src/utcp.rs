//! μTCP: TCP with TCP_NODELAY carrying the same length-prefixed frames as QUIC. It adds no
//! encryption: L2 frames arrive already sealed, and a second layer would only cost time.
//!
//! [`UtcpStream`] is the sans-reactor core of a μTCP link: a non-blocking socket, the frame
//! decoder and the outbound queue. Whoever learns that the socket is ready drives it: the
//! tokio [`Link`] methods with `AsyncFd` readiness, or a caller's own event loop (the Node.js
//! binding polls the descriptor with libuv on the JS thread) through [`crate::Polled`].

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use crate::accept::{Admission, Inbound};
use crate::config::TransportKind;
use crate::error::Result;
use crate::frame::{Decoded, FrameDecoder, FrameError, OutQueue, PREAMBLE};
use crate::link::{Io, Link, LinkContext, LinkParts};
use crate::stats::DropReason;
use crate::tls::ChannelBinding;

/// Pause after a failed `accept()` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// What a read of a [`UtcpStream`] found.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// At least one complete frame.
    Frames(Vec<Bytes>),
    /// Nothing complete yet and the socket has nothing more now: wait until it is readable.
    WouldBlock,
    /// The peer finished its side at a frame boundary.
    End,
}

/// The core of a μTCP link: one non-blocking socket, its frame decoder and outbound queue.
/// The two directions have their own locks, so one driver may read while another writes;
/// nothing here blocks or waits.
pub(crate) struct UtcpStream {
    socket: std::net::TcpStream,
    decoder: Mutex<FrameDecoder>,
    queue: Mutex<OutQueue>,
}

impl UtcpStream {
    /// Takes a connected socket (already past the preamble) and makes it non-blocking.
    pub fn new(socket: std::net::TcpStream, max_frame: usize) -> io::Result<Self> {
        socket.set_nonblocking(true)?;
        socket.set_nodelay(true)?;
        Ok(UtcpStream {
            socket,
            decoder: Mutex::new(FrameDecoder::new(max_frame)),
            queue: Mutex::new(OutQueue::default()),
        })
    }

    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.socket.peer_addr()
    }

    /// Writes what the socket takes now, queues the rest. Returns the offset at which the
    /// batch is written; compare with [`UtcpStream::written`].
    pub fn write<M: AsRef<[u8]>>(&self, frames: &[M]) -> io::Result<u64> {
        lock(&self.queue).send(&mut &self.socket, frames)
    }

    /// Writes queued bytes until done or the socket is full; returns the written offset.
    pub fn on_writable(&self) -> io::Result<u64> {
        let mut q = lock(&self.queue);
        q.flush(&mut &self.socket)?;
        Ok(q.written())
    }

    /// Offsets just past the last byte written and the last byte accepted.
    pub fn written(&self) -> (u64, u64) {
        let q = lock(&self.queue);
        (q.written(), q.accepted())
    }

    /// Complete frames already received (up to `max`), reading the socket only while none is
    /// complete. `WouldBlock` is only returned after the socket said so, as edge-triggered
    /// readiness (tokio's) requires.
    pub fn read_available(&self, max: usize) -> Result<Incoming, FrameError> {
        let mut d = lock(&self.decoder);
        loop {
            match d.decode(max)? {
                Decoded::Frames(f) => return Ok(Incoming::Frames(f)),
                Decoded::End => return Ok(Incoming::End),
                Decoded::NeedMore => {}
            }
            match d.read_from(&socket2::SockRef::from(&self.socket)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Incoming::WouldBlock),
                Err(e) => return Err(FrameError::Io(e)),
            }
        }
    }

    /// Ends our direction (the peer reads the end after the queued bytes), or both directions.
    pub fn shutdown(&self, how: Shutdown) {
        // Already-closed sockets report ENOTCONN; there is nothing else to do.
        let _ = self.socket.shutdown(how);
    }
}

/// The queue and decoder stay consistent at every point a panic could stop them, so a poisoned
/// lock is still usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Connects, disables Nagle (frames are already batched by `send_batch`) and sends the preamble.
pub(crate) async fn dial(
    addr: SocketAddr,
    ctx: LinkContext,
    tracker: &TaskTracker,
) -> Result<Link> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    stream.write_all(&PREAMBLE).await?;
    link(stream, ctx, tracker)
}

/// Turns the connected stream into a link. The socket leaves tokio's reactor here: the link
/// registers it again only if a tokio task reads or writes it, so a link driven by another
/// event loop costs the runtime no wakeups. Shut down on cancel by `Link::watch_cancel`.
fn link(stream: TcpStream, ctx: LinkContext, tracker: &TaskTracker) -> Result<Link> {
    let stream = UtcpStream::new(stream.into_std()?, ctx.max_frame)?;
    let parts = LinkParts {
        kind: TransportKind::Utcp,
        local: stream.local_addr()?,
        peer: stream.peer_addr()?,
        binding: ChannelBinding::NoTlsExporter,
        io: Io::Utcp(stream),
    };
    let link = Link::new(parts, ctx);
    link.watch_cancel(tracker);
    Ok(link)
}

/// Accepts TCP connections until the node shuts down.
pub(crate) async fn accept_loop(listener: TcpListener, inbound: Inbound) {
    loop {
        let accepted = tokio::select! {
            _ = inbound.ctx.cancel.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Refused streams are dropped here, closing the connection. A completed TCP
                // handshake proves the source address.
                if let Some(admission) = inbound.admit(peer.ip(), true) {
                    let inbound2 = inbound.clone();
                    inbound
                        .tracker
                        .spawn(accept_one(stream, inbound2, admission));
                }
            }
            Err(_) => tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await,
        }
    }
}

async fn accept_one(mut stream: TcpStream, inbound: Inbound, admission: Admission) {
    let ctx = inbound.link_ctx();
    let mut got = [0u8; PREAMBLE.len()];
    let read = tokio::select! {
        _ = ctx.cancel.cancelled() => return,
        r = tokio::time::timeout(inbound.handshake_timeout, stream.read_exact(&mut got)) => r,
    };
    match read {
        Err(_) => inbound.counters().count_drop(DropReason::HandshakeTimeout),
        // Fewer than four bytes then EOF: junk as well.
        Ok(Err(_)) => admission.strike(DropReason::BadPreamble),
        Ok(Ok(_)) if got != PREAMBLE => admission.strike(DropReason::BadPreamble),
        Ok(Ok(_)) => {
            if let Ok(link) = link(stream, ctx, &inbound.tracker) {
                inbound.deliver(link, admission);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::LinkContext;
    use crate::stats::NodeCounters;
    use std::io::Write;
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    /// A connected loopback pair: (the core under test, the plain blocking peer).
    fn pair(max_frame: usize) -> (UtcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let peer =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (ours, _) = listener.accept().expect("accept");
        (UtcpStream::new(ours, max_frame).expect("core"), peer)
    }

    /// Reads until `n` frames arrived or the stream ended, spinning on `WouldBlock` (loopback
    /// delivers within microseconds; the peer wrote everything before this is called).
    fn read_frames(s: &UtcpStream, n: usize) -> Result<Vec<Bytes>, FrameError> {
        let mut got = Vec::new();
        while got.len() < n {
            match s.read_available(n - got.len())? {
                Incoming::Frames(f) => got.extend(f),
                Incoming::WouldBlock => std::thread::yield_now(),
                Incoming::End => break,
            }
        }
        Ok(got)
    }

    #[test]
    fn a_full_socket_keeps_the_rest_queued_until_writable() {
        let (ours, peer) = pair(1 << 20);
        socket2::SockRef::from(&ours.socket)
            .set_send_buffer_size(4096)
            .expect("sndbuf");
        let frames: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 16 * 1024]).collect();
        let done_at = ours.write(&frames).expect("write");
        let (written, accepted) = ours.written();
        assert_eq!(accepted, done_at);
        assert!(
            written < done_at,
            "a 1 MiB batch does not fit a small send buffer and an unread receive buffer"
        );
        // The peer reads on its own thread; the core writes whenever the socket has room.
        let reader = std::thread::spawn(move || {
            let peer_core = UtcpStream::new(peer, 1 << 20).expect("peer core");
            read_frames(&peer_core, 64).expect("frames")
        });
        while ours.on_writable().expect("flush") < done_at {
            std::thread::yield_now();
        }
        let got = reader.join().expect("reader");
        assert_eq!(got.len(), 64);
        assert!(got.iter().enumerate().all(|(i, f)| f[..] == frames[i][..]));
    }

    #[test]
    fn frames_split_across_reads_come_out_whole() {
        let (ours, mut peer) = pair(64);
        assert_eq!(ours.read_available(8).expect("empty"), Incoming::WouldBlock);
        let wire = [&[0, 0, 0, 5][..], b"hello", &[0, 0, 0, 2], b"ok"].concat();
        for (i, byte) in wire.iter().enumerate() {
            peer.write_all(&[*byte]).expect("byte");
            peer.flush().expect("flush");
            if i + 1 < 9 {
                // Give the byte time to land, then make sure no partial frame leaks out.
                std::thread::sleep(std::time::Duration::from_millis(1));
                assert_eq!(
                    ours.read_available(8).expect("partial"),
                    Incoming::WouldBlock
                );
            }
        }
        assert_eq!(
            read_frames(&ours, 2).expect("frames"),
            vec![Bytes::from_static(b"hello"), Bytes::from_static(b"ok")]
        );
        drop(peer);
        while ours.read_available(8).expect("end") == Incoming::WouldBlock {
            std::thread::yield_now();
        }
    }

    /// A link over a loopback pair, driven through `Polled`, with its node counters.
    fn polled_link(max_frame: usize) -> (crate::Polled, std::net::TcpStream, Arc<NodeCounters>) {
        let (stream, peer) = pair(max_frame);
        let node = Arc::new(NodeCounters::default());
        let ctx = LinkContext {
            node: node.clone(),
            cancel: CancellationToken::new(),
            max_frame,
            linger: Duration::from_secs(1),
        };
        let parts = LinkParts {
            kind: TransportKind::Utcp,
            local: stream.local_addr().expect("local"),
            peer: stream.peer_addr().expect("peer"),
            binding: ChannelBinding::NoTlsExporter,
            io: Io::Utcp(stream),
        };
        let polled = Link::new(parts, ctx)
            .polled()
            .expect("μTCP links can be polled");
        (polled, peer, node)
    }

    fn drops(node: &NodeCounters, reason: DropReason) -> u64 {
        node.snapshot(0)
            .dropped
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }

    /// Polls `recv` until it has an answer (the peer already wrote).
    fn recv_ready(p: &crate::Polled) -> Result<Vec<Bytes>> {
        loop {
            if let Some(r) = p.recv(8)? {
                return Ok(r);
            }
            std::thread::yield_now();
        }
    }

    #[test]
    fn an_oversized_prefix_is_a_limit_error_counted_and_aborts() {
        let (p, mut peer, node) = polled_link(16);
        peer.write_all(&[0, 0, 0, 2, b'o', b'k', 0, 0, 1, 0])
            .expect("write");
        assert_eq!(
            recv_ready(&p).expect("good frame first"),
            vec![Bytes::from_static(b"ok")]
        );
        let e = recv_ready(&p).expect_err("oversized");
        assert_eq!(e.code(), "ERR_L2_LIMIT");
        assert_eq!(drops(&node, DropReason::OversizedFrame), 1);
        assert!(p.link().is_closed());
        assert_eq!(
            p.send(&[b"x"]).expect_err("aborted").code(),
            "ERR_L2_CLOSED"
        );
    }

    #[test]
    fn the_stream_ending_inside_a_frame_is_bad_input_counted_and_aborts() {
        let (p, mut peer, node) = polled_link(64);
        peer.write_all(&[0, 0, 0, 9, 1, 2]).expect("write");
        drop(peer);
        assert_eq!(
            recv_ready(&p).expect_err("truncated").code(),
            "ERR_L2_BAD_INPUT"
        );
        assert_eq!(drops(&node, DropReason::TruncatedFrame), 1);
        assert!(p.link().is_closed());
    }

    #[test]
    fn polled_sends_count_and_respect_max_frame() {
        let (p, peer, _) = polled_link(8);
        assert_eq!(
            p.send(&[&[0u8; 9][..]]).expect_err("too long").code(),
            "ERR_L2_LIMIT"
        );
        let done_at = p.send(&[&b"abc"[..], b"de"]).expect("send");
        assert_eq!((p.written(), done_at, p.has_queued()), (13, 13, false));
        let s = p.link().stats();
        assert_eq!((s.frames_sent, s.bytes_sent), (2, 5));
        let peer = UtcpStream::new(peer, 8).expect("peer core");
        assert_eq!(
            read_frames(&peer, 2).expect("frames"),
            vec![Bytes::from_static(b"abc"), Bytes::from_static(b"de")]
        );
        assert_eq!(p.recv(0).expect_err("max 0").code(), "ERR_L2_BAD_INPUT");
    }
}
