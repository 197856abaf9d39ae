//! Length-prefixed framing shared by the QUIC stream and μTCP: `u32` big-endian length, then
//! that many opaque bytes (an already-sealed L2 frame). See SPEC.md, "Transports".
//! Public so the fuzz targets (crates/l2-core/fuzz) drive the very code the links run.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// First bytes a dialer writes on a new link: names the framing and its version, so junk on a
/// listening port is rejected before any length prefix is trusted.
pub const PREAMBLE: [u8; 4] = *b"L2S\x01";
/// Size of the length prefix.
pub const PREFIX_LEN: usize = 4;
/// Largest read size: one read syscall brings many small frames under load.
pub const READ_CHUNK: usize = 64 * 1024;
/// Smallest read size, where an idle link settles: its waiting read pins only this much, so
/// thousands of idle sessions cost little memory (the buffer grows back while reads fill it).
pub const MIN_READ_CHUNK: usize = 2 * 1024;
/// `writev` accepts at most `IOV_MAX` (1024 on Linux) slices per call.
const MAX_IOV: usize = 1024;

/// Why framed input was rejected.
#[derive(Debug)]
pub enum FrameError {
    /// A prefix announced more than the configured maximum.
    Oversized(usize),
    /// The stream ended inside a frame.
    Truncated,
    /// The underlying stream failed.
    Io(io::Error),
}

/// One frame-parsing state machine for every driver: the async [`FrameReader`] (QUIC streams)
/// and the non-blocking μTCP stream (crate::utcp) both feed it bytes and take frames out. It
/// survives every split of the input, never reserves room for a frame longer than
/// `max_frame`, and hands out frames as zero-copy slices of its buffer.
pub struct FrameDecoder {
    buf: BytesMut,
    /// Current read size, between MIN_READ_CHUNK and READ_CHUNK, following how full reads come.
    chunk: usize,
    max_frame: usize,
    /// Bytes the next frame needs in `buf` (prefix included).
    need: usize,
    eof: bool,
}

/// What a [`FrameDecoder`] holds after taking frames out.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// At least one complete frame.
    Frames(Vec<Bytes>),
    /// No complete frame yet: read more.
    NeedMore,
    /// The stream ended cleanly at a frame boundary.
    End,
}

impl FrameDecoder {
    pub fn new(max_frame: usize) -> Self {
        FrameDecoder {
            buf: BytesMut::new(),
            chunk: MIN_READ_CHUNK,
            max_frame,
            need: PREFIX_LEN,
            eof: false,
        }
    }

    /// Returns every complete frame already buffered, up to `max`, or how the stream ended.
    pub fn decode(&mut self, max: usize) -> Result<Decoded, FrameError> {
        let mut out = Vec::new();
        self.need = PREFIX_LEN;
        while out.len() < max && self.buf.len() >= PREFIX_LEN {
            let len =
                u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
            if len > self.max_frame {
                if out.is_empty() {
                    return Err(FrameError::Oversized(len));
                }
                // Deliver the good frames first; the next call reports the bad prefix.
                break;
            }
            if self.buf.len() < PREFIX_LEN + len {
                self.need = PREFIX_LEN + len;
                break;
            }
            self.buf.advance(PREFIX_LEN);
            out.push(self.buf.split_to(len).freeze());
        }
        if !out.is_empty() {
            Ok(Decoded::Frames(out))
        } else if !self.eof {
            Ok(Decoded::NeedMore)
        } else if self.buf.is_empty() {
            Ok(Decoded::End)
        } else {
            Err(FrameError::Truncated)
        }
    }

    /// Makes room for the next read (what the pending frame needs, at least a chunk) and
    /// returns it. An emptied large buffer is let go first (the frames handed out keep their part).
    fn reserve_read(&mut self) -> usize {
        if self.buf.is_empty() && self.buf.capacity() > self.chunk {
            self.buf = BytesMut::new();
        }
        let room = self.need.saturating_sub(self.buf.len()).max(self.chunk);
        self.buf.reserve(room);
        self.buf.capacity() - self.buf.len()
    }

    /// Accounts for a read of `n` bytes into the `room` `reserve_read` made: 0 is the end of
    /// the stream; full reads grow the read size, small ones shrink it back.
    fn after_read(&mut self, n: usize, room: usize) {
        if n == 0 {
            self.eof = true;
        }
        self.chunk = if n == room {
            (self.chunk * 2).min(READ_CHUNK)
        } else if n < self.chunk / 4 {
            (self.chunk / 2).max(MIN_READ_CHUNK)
        } else {
            self.chunk
        };
    }

    /// One non-blocking `recv` from `socket` into the buffer, without zeroing it first.
    /// Returns the byte count (0: end of stream) or the error (`WouldBlock`: nothing there).
    pub fn read_from(&mut self, socket: &socket2::SockRef<'_>) -> io::Result<usize> {
        let room = self.reserve_read();
        let n = loop {
            match socket.recv(self.buf.spare_capacity_mut()) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        // SAFETY: `recv` initialised the first `n` bytes of the spare capacity.
        unsafe { self.buf.set_len(self.buf.len() + n) };
        self.after_read(n, room);
        Ok(n)
    }
}

/// Async frame reader over any byte stream (a QUIC receive stream), parsing with [`FrameDecoder`].
pub struct FrameReader<R> {
    io: R,
    decoder: FrameDecoder,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(io: R, max_frame: usize) -> Self {
        FrameReader {
            io,
            decoder: FrameDecoder::new(max_frame),
        }
    }

    /// Waits for at least one frame, then returns every complete frame already buffered, up to
    /// `max`. An empty batch means the peer finished cleanly at a frame boundary.
    pub async fn read_batch(&mut self, max: usize) -> Result<Vec<Bytes>, FrameError> {
        loop {
            match self.decoder.decode(max)? {
                Decoded::Frames(frames) => return Ok(frames),
                Decoded::End => return Ok(Vec::new()),
                Decoded::NeedMore => {}
            }
            let d = &mut self.decoder;
            let room = d.reserve_read();
            let n = self.io.read_buf(&mut d.buf).await.map_err(FrameError::Io)?;
            d.after_read(n, room);
        }
    }

    /// Reads exactly `PREAMBLE.len()` bytes and checks them.
    pub async fn read_preamble(&mut self) -> io::Result<bool> {
        let mut got = [0u8; PREAMBLE.len()];
        self.io.read_exact(&mut got).await?;
        Ok(got == PREAMBLE)
    }
}

/// Interleaves a length prefix before each frame; all prefixes share one allocation.
pub fn with_prefixes(frames: Vec<Bytes>) -> Vec<Bytes> {
    let mut prefixes = BytesMut::with_capacity(frames.len() * PREFIX_LEN);
    for f in &frames {
        prefixes.put_u32(f.len() as u32);
    }
    let mut prefixes = prefixes.freeze();
    let mut chunks = Vec::with_capacity(frames.len() * 2);
    for f in frames {
        chunks.push(prefixes.split_to(PREFIX_LEN));
        chunks.push(f);
    }
    chunks
}

/// Outbound bytes of a non-blocking stream: frames are written with gathered writes straight
/// from the caller's buffers while the socket takes them; only what it does not take is
/// copied and kept, in order, for [`OutQueue::flush`] once the socket is writable again.
/// Byte offsets count everything ever accepted, so a caller can tell when its batch is out.
#[derive(Default)]
pub struct OutQueue {
    pending: VecDeque<Bytes>,
    /// Offset just past the last accepted byte.
    accepted: u64,
    /// Offset just past the last byte the kernel took.
    written: u64,
}

impl OutQueue {
    /// Frames `frames` (prefix, then bytes, each) and writes what `w` takes now; the rest is
    /// copied into the queue. Returns the offset at which this batch is completely written
    /// (compare with [`OutQueue::written`]). An error other than `WouldBlock` is returned as is,
    /// and leaves the stream in an unknown state: the caller must give it up.
    pub fn send<M: AsRef<[u8]>>(&mut self, w: &mut impl Write, frames: &[M]) -> io::Result<u64> {
        let prefixes: Vec<[u8; PREFIX_LEN]> = frames
            .iter()
            .map(|f| (f.as_ref().len() as u32).to_be_bytes())
            .collect();
        let parts = || {
            prefixes
                .iter()
                .zip(frames)
                .flat_map(|(p, f)| [&p[..], f.as_ref()])
        };
        let total: usize = parts().map(<[u8]>::len).sum();
        self.accepted += total as u64;
        // Nothing may overtake bytes already queued.
        let mut done = 0;
        if self.pending.is_empty() {
            while done < total {
                let n = match write_parts(w, parts(), done) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    r => r?,
                };
                done += n;
                self.written += n as u64;
            }
        }
        if done < total {
            let mut rest = BytesMut::with_capacity(total - done);
            let mut skip = done;
            for p in parts() {
                let s = skip.min(p.len());
                rest.extend_from_slice(&p[s..]);
                skip -= s;
            }
            self.pending.push_back(rest.freeze());
        }
        Ok(self.accepted)
    }

    /// Writes queued bytes until the queue is empty or `w` would block.
    pub fn flush(&mut self, w: &mut impl Write) -> io::Result<()> {
        while !self.pending.is_empty() {
            let n = match write_parts(w, self.pending.iter().map(|b| &b[..]), 0) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                r => r?,
            };
            self.written += n as u64;
            let mut n = n;
            while let Some(front) = self.pending.front_mut() {
                if n < front.len() {
                    front.advance(n);
                    break;
                }
                n -= front.len();
                self.pending.pop_front();
            }
        }
        Ok(())
    }

    /// Offset just past the last byte written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Offset just past the last byte accepted (written or queued).
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// True when every accepted byte was written.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// One gathered write of `parts` (at most `MAX_IOV` slices), skipping their first `skip` bytes.
fn write_parts<'a>(
    w: &mut impl Write,
    parts: impl Iterator<Item = &'a [u8]>,
    mut skip: usize,
) -> io::Result<usize> {
    let mut slices: Vec<IoSlice<'_>> = Vec::new();
    for p in parts {
        if skip >= p.len() {
            skip -= p.len();
            continue;
        }
        slices.push(IoSlice::new(&p[skip..]));
        skip = 0;
        if slices.len() == MAX_IOV {
            break;
        }
    }
    loop {
        match w.write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => return r,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncWriteExt, ReadBuf};

    /// Yields its input one byte per read, the worst split a stream can produce.
    struct OneByte(Vec<u8>, usize);

    impl AsyncRead for OneByte {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            out: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if self.1 < self.0.len() {
                let b = self.0[self.1];
                out.put_slice(&[b]);
                self.1 += 1;
            }
            Poll::Ready(Ok(()))
        }
    }

    fn wire(frames: &[&[u8]]) -> Vec<u8> {
        let chunks = with_prefixes(frames.iter().map(|f| Bytes::copy_from_slice(f)).collect());
        chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }

    #[tokio::test]
    async fn frames_survive_byte_by_byte_reads() {
        let input = wire(&[b"hello", b"", b"world!"]);
        let mut r = FrameReader::new(OneByte(input, 0), 64);
        let mut got = Vec::new();
        loop {
            let batch = r.read_batch(10).await.expect("valid input");
            if batch.is_empty() {
                break;
            }
            got.extend(batch);
        }
        assert_eq!(
            got,
            vec![
                Bytes::from_static(b"hello"),
                Bytes::new(),
                Bytes::from_static(b"world!")
            ]
        );
    }

    #[tokio::test]
    async fn read_size_grows_under_load_and_an_idle_wait_pins_little() {
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let mut r = FrameReader::new(rx, 4096);
        let burst = wire(&vec![&[7u8; 1000][..]; 1000]);
        tx.write_all(&burst).await.expect("burst");
        let mut got = 0;
        while got < 1000 {
            got += r.read_batch(1000).await.expect("burst frames").len();
        }
        assert_eq!(r.decoder.chunk, READ_CHUNK, "full reads grow the read size");
        for _ in 0..8 {
            tx.write_all(&wire(&[b"ping"])).await.expect("small");
            assert_eq!(r.read_batch(8).await.expect("small frame").len(), 1);
        }
        assert_eq!(
            r.decoder.chunk, MIN_READ_CHUNK,
            "small reads shrink it back"
        );
        // A read waiting on an idle link holds a small buffer, not the burst's.
        let idle =
            tokio::time::timeout(std::time::Duration::from_millis(20), r.read_batch(8)).await;
        assert!(idle.is_err(), "nothing to read");
        assert!(
            r.decoder.buf.capacity() <= 2 * MIN_READ_CHUNK,
            "idle buffer {}",
            r.decoder.buf.capacity()
        );
    }

    #[tokio::test]
    async fn batch_respects_max_and_keeps_the_rest() {
        let input = wire(&[b"a", b"b", b"c"]);
        let mut r = FrameReader::new(&input[..], 64);
        assert_eq!(r.read_batch(2).await.expect("ok").len(), 2);
        assert_eq!(
            r.read_batch(2).await.expect("ok"),
            vec![Bytes::from_static(b"c")]
        );
        assert!(r.read_batch(2).await.expect("eof").is_empty());
    }

    #[tokio::test]
    async fn oversized_prefix_is_rejected_without_allocating() {
        let input = [0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3];
        let mut r = FrameReader::new(&input[..], 1024);
        assert!(matches!(
            r.read_batch(1).await,
            Err(FrameError::Oversized(0xFFFF_FFFF))
        ));
        assert!(
            r.decoder.buf.capacity() < 1 << 20,
            "buffer grew to {}",
            r.decoder.buf.capacity()
        );
    }

    #[tokio::test]
    async fn good_frames_come_before_the_bad_prefix() {
        let mut input = wire(&[b"ok"]);
        input.extend_from_slice(&[0xFF; 4]);
        let mut r = FrameReader::new(&input[..], 16);
        assert_eq!(
            r.read_batch(8).await.expect("first frame"),
            vec![Bytes::from_static(b"ok")]
        );
        assert!(matches!(
            r.read_batch(8).await,
            Err(FrameError::Oversized(_))
        ));
    }

    #[tokio::test]
    async fn truncated_frame_is_reported() {
        let mut input = wire(&[b"0123456789"]);
        input.truncate(8);
        let mut r = FrameReader::new(&input[..], 64);
        assert!(matches!(r.read_batch(1).await, Err(FrameError::Truncated)));
    }

    /// Takes at most `room` bytes per write, then reports `WouldBlock` until given more room.
    struct Tight {
        out: Vec<u8>,
        room: usize,
        per_write: usize,
    }

    impl Write for Tight {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(b)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut n = self.room.min(self.per_write);
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let before = self.out.len();
            for b in bufs {
                let take = n.min(b.len());
                self.out.extend_from_slice(&b[..take]);
                n -= take;
            }
            let wrote = self.out.len() - before;
            self.room -= wrote;
            Ok(wrote)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn gathered_write_round_trips() {
        let frames: Vec<Bytes> = (0..3000u32)
            .map(|i| Bytes::from(i.to_be_bytes().to_vec()))
            .collect();
        let mut out = Vec::new();
        let mut q = OutQueue::default();
        let end = q.send(&mut out, &frames).expect("write to vec");
        assert_eq!((q.written(), end, q.is_empty()), (end, 3000 * 8, true));
        assert_eq!(
            out,
            wire(&frames.iter().map(|f| &f[..]).collect::<Vec<_>>())
        );
    }

    #[test]
    fn partial_writes_queue_the_rest_in_order() {
        let mut w = Tight {
            out: Vec::new(),
            room: 7,
            per_write: 3,
        };
        let mut q = OutQueue::default();
        let first = q.send(&mut w, &[b"hello", b"world"]).expect("partial");
        assert_eq!((q.written(), first, q.is_empty()), (7, 18, false));
        // A later batch waits behind the queued bytes, even with room again.
        w.room = 2;
        let second = q.send(&mut w, &[b"!"]).expect("queued");
        assert_eq!((q.written(), second), (7, 23));
        w.room = usize::MAX;
        q.flush(&mut w).expect("flush");
        assert!(q.is_empty());
        assert_eq!(q.written(), 23);
        assert_eq!(w.out, wire(&[b"hello", b"world", b"!"]));
    }

    #[test]
    fn write_errors_surface() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut q = OutQueue::default();
        let e = q.send(&mut Broken, &[b"x"]).expect_err("broken pipe");
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
