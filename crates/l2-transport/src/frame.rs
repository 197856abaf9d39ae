//! Length-prefixed framing shared by the QUIC stream and μTCP: `u32` big-endian length, then
//! that many opaque bytes (an already-sealed L2 frame). See SPEC.md, "Transports".
//! Public so the fuzz targets (crates/l2-core/fuzz) drive the very code the links run.

use std::io::{self, IoSlice};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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

/// Incremental parser over any byte stream: survives every split of the input, never reads a
/// frame longer than `max_frame`, and hands out frames as zero-copy slices of its buffer.
pub struct FrameReader<R> {
    io: R,
    buf: BytesMut,
    /// Current read size, between MIN_READ_CHUNK and READ_CHUNK, following how full reads come.
    chunk: usize,
    max_frame: usize,
    eof: bool,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(io: R, max_frame: usize) -> Self {
        FrameReader {
            io,
            buf: BytesMut::new(),
            chunk: MIN_READ_CHUNK,
            max_frame,
            eof: false,
        }
    }

    /// Waits for at least one frame, then returns every complete frame already buffered, up to
    /// `max`. An empty batch means the peer finished cleanly at a frame boundary.
    pub async fn read_batch(&mut self, max: usize) -> Result<Vec<Bytes>, FrameError> {
        loop {
            let (frames, need) = self.take_ready(max)?;
            if !frames.is_empty() {
                return Ok(frames);
            }
            if self.eof {
                return if self.buf.is_empty() {
                    Ok(Vec::new())
                } else {
                    Err(FrameError::Truncated)
                };
            }
            if self.buf.is_empty() && self.buf.capacity() > self.chunk {
                // Let go of the tail of a large buffer (the frames handed out keep their part).
                self.buf = BytesMut::new();
            }
            // Reserve what the pending frame needs (already bounded by max_frame), at least a chunk.
            let room = need.saturating_sub(self.buf.len()).max(self.chunk);
            self.buf.reserve(room);
            let room = self.buf.capacity() - self.buf.len();
            let n = self
                .io
                .read_buf(&mut self.buf)
                .await
                .map_err(FrameError::Io)?;
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
    }

    /// Reads exactly `PREAMBLE.len()` bytes and checks them.
    pub async fn read_preamble(&mut self) -> io::Result<bool> {
        let mut got = [0u8; PREAMBLE.len()];
        self.io.read_exact(&mut got).await?;
        Ok(got == PREAMBLE)
    }

    /// Splits complete frames off the buffer; also returns the byte count the next frame needs.
    fn take_ready(&mut self, max: usize) -> Result<(Vec<Bytes>, usize), FrameError> {
        let mut out = Vec::new();
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
                return Ok((out, PREFIX_LEN + len));
            }
            self.buf.advance(PREFIX_LEN);
            out.push(self.buf.split_to(len).freeze());
        }
        Ok((out, PREFIX_LEN))
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

/// Writes all chunks with gathered writes: a batch of small frames leaves in one syscall.
pub async fn write_all_gathered<W: AsyncWrite + Unpin>(
    w: &mut W,
    chunks: &mut [Bytes],
) -> io::Result<()> {
    let mut idx = 0;
    while idx < chunks.len() {
        let slices: Vec<IoSlice<'_>> = chunks[idx..]
            .iter()
            .take(MAX_IOV)
            .map(|c| IoSlice::new(c))
            .collect();
        let mut n = w.write_vectored(&slices).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while idx < chunks.len() && n >= chunks[idx].len() {
            n -= chunks[idx].len();
            idx += 1;
        }
        if n > 0 {
            chunks[idx].advance(n);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::ReadBuf;

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
        assert_eq!(r.chunk, READ_CHUNK, "full reads grow the read size");
        for _ in 0..8 {
            tx.write_all(&wire(&[b"ping"])).await.expect("small");
            assert_eq!(r.read_batch(8).await.expect("small frame").len(), 1);
        }
        assert_eq!(r.chunk, MIN_READ_CHUNK, "small reads shrink it back");
        // A read waiting on an idle link holds a small buffer, not the burst's.
        let idle = tokio::time::timeout(std::time::Duration::from_millis(20), r.read_batch(8)).await;
        assert!(idle.is_err(), "nothing to read");
        assert!(r.buf.capacity() <= 2 * MIN_READ_CHUNK, "idle buffer {}", r.buf.capacity());
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
            r.buf.capacity() < 1 << 20,
            "buffer grew to {}",
            r.buf.capacity()
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

    #[tokio::test]
    async fn gathered_write_round_trips() {
        let frames: Vec<Bytes> = (0..3000u32)
            .map(|i| Bytes::from(i.to_be_bytes().to_vec()))
            .collect();
        let mut chunks = with_prefixes(frames.clone());
        let mut out = Vec::new();
        write_all_gathered(&mut out, &mut chunks)
            .await
            .expect("write to vec");
        let mut r = FrameReader::new(&out[..], 64);
        let mut got = Vec::new();
        while got.len() < frames.len() {
            got.extend(r.read_batch(500).await.expect("ok"));
        }
        assert_eq!(got, frames);
    }
}
