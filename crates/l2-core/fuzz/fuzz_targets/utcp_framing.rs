//! Length framing of μTCP and the QUIC stream (`l2_transport::frame`): the `FrameReader` the
//! links run, fed by a stream that splits its bytes the way the input says, after an optional
//! preamble read; and the μTCP `OutQueue` through a writer that takes short writes and
//! reports a full socket.
//!
//! Input: flags (bit 0: the rest lists frames to encode, else it is the raw stream; bit 1:
//! read the preamble first; bit 2: the stream ends in an I/O error, not EOF; bit 3: the
//! default 1 MiB `max_frame_len`, else u16 + 1), u16 max frame, batch size, read sizes
//! (count, then one byte each: 0 = not ready yet, 255 = all that fits), for frames the same
//! for write sizes, then the frames (length byte, 255 = u16 follows, then the bytes) or the
//! stream.
//! Properties: no panic, no hang; whatever the split, the frames read and how the stream ends
//! (clean, truncated, oversized prefix, I/O error) are exactly those of a one-pass reference
//! parse; batches respect their size; no allocation exceeds a small multiple of
//! `max_frame_len` + `READ_CHUNK`, whatever lengths the prefixes announce; encoding then
//! decoding gives the frames back.
#![no_main]

use bytes::Bytes;
use l2_core_fuzz::{trace, Cursor};
use l2_transport::frame::{FrameError, FrameReader, OutQueue, PREAMBLE, PREFIX_LEN, READ_CHUNK};
use libfuzzer_sys::fuzz_target;
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::io::{self, IoSlice, Write};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, ReadBuf};

/// Records the largest single allocation made while armed: the reader must never size its
/// buffer by an announced length above `max_frame_len`.
struct Counting;
static ARMED: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) {
    if ARMED.load(Relaxed) {
        LARGEST.fetch_max(size, Relaxed);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Polls to completion. Every `Pending` here comes from the test streams, which are ready on
/// the next poll, so a future that stays pending is a hang.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("future never completed");
}

/// Next split size: from the input while it lasts, then "all that fits".
fn next_size(sizes: &mut &[u8]) -> u8 {
    match sizes.split_first() {
        Some((&s, rest)) => {
            *sizes = rest;
            s
        }
        None => u8::MAX,
    }
}

/// A byte stream that returns its data in the given splits and ends with EOF or an error.
struct SplitStream<'a> {
    data: &'a [u8],
    sizes: &'a [u8],
    fail_at_end: bool,
}

impl AsyncRead for SplitStream<'_> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, out: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let size = next_size(&mut this.sizes);
        if size == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if this.data.is_empty() {
            return Poll::Ready(if this.fail_at_end { Err(io::Error::other("connection reset")) } else { Ok(()) });
        }
        let n = if size == u8::MAX { usize::MAX } else { size as usize };
        let n = n.min(out.remaining()).min(this.data.len());
        out.put_slice(&this.data[..n]);
        this.data = &this.data[n..];
        Poll::Ready(Ok(()))
    }
}

/// A sink whose gathered writes take only as many bytes as the input says.
struct ShortWriter<'a> {
    out: Vec<u8>,
    sizes: &'a [u8],
}

/// Size 0 is a full socket (`WouldBlock`), as the μTCP outbound queue meets it.
impl Write for ShortWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let size = next_size(&mut self.sizes);
        if size == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut room = if size == u8::MAX { usize::MAX } else { size as usize };
        let start = self.out.len();
        for b in bufs {
            let n = b.len().min(room);
            self.out.extend_from_slice(&b[..n]);
            room -= n;
        }
        Ok(self.out.len() - start)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug, PartialEq)]
enum End {
    Clean,
    Truncated,
    Oversized(usize),
    Io,
}

/// One pass over the whole stream, written out from SPEC.md independently of the reader.
fn reference(mut s: &[u8], max_frame: usize, fail_at_end: bool) -> (Vec<&[u8]>, End) {
    let mut frames = Vec::new();
    loop {
        if s.len() >= PREFIX_LEN {
            let len = u32::from_be_bytes(s[..4].try_into().unwrap()) as usize;
            if len > max_frame {
                return (frames, End::Oversized(len));
            }
            if s.len() >= PREFIX_LEN + len {
                frames.push(&s[PREFIX_LEN..PREFIX_LEN + len]);
                s = &s[PREFIX_LEN + len..];
                continue;
            }
        }
        // Out of complete frames: the stream's end decides.
        let end = if fail_at_end { End::Io } else if s.is_empty() { End::Clean } else { End::Truncated };
        return (frames, end);
    }
}

/// Encodes `frames` as a link sends them; checks the bytes against the format.
fn encode(frames: &[Bytes], write_sizes: &[u8]) -> Vec<u8> {
    let mut w = ShortWriter { out: Vec::new(), sizes: write_sizes };
    let mut queue = OutQueue::default();
    let done_at = queue.send(&mut w, frames).expect("a short writer never fails");
    // Each flush is one "writable" event; the split sizes run out into "all that fits".
    while queue.written() < done_at {
        queue.flush(&mut w).expect("a short writer never fails");
    }
    let want: Vec<u8> = frames.iter().flat_map(|f| [&(f.len() as u32).to_be_bytes()[..], f].concat()).collect();
    assert_eq!(w.out, want, "gathered write lost, repeated or reordered bytes");
    w.out
}

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    let flags = c.u8();
    let raw_max = c.u16();
    let max_frame = if flags & 8 != 0 { 1 << 20 } else { raw_max as usize + 1 };
    let batch = c.u8() as usize + 1;
    let n = c.u8() as usize;
    let read_sizes = c.bytes(n);
    let wire;
    let stream: &[u8] = if flags & 1 != 0 {
        let n = c.u8() as usize;
        let write_sizes = c.bytes(n);
        let mut frames = Vec::new();
        while !c.is_empty() {
            let len = match c.u8() {
                u8::MAX => c.u16() as usize,
                l => l as usize,
            };
            frames.push(Bytes::copy_from_slice(c.bytes(len)));
        }
        wire = encode(&frames, write_sizes);
        &wire
    } else {
        c.rest()
    };
    let fail_at_end = flags & 4 != 0;

    // One reader for the preamble and then the frames, as the QUIC accept path uses it.
    let mut reader = FrameReader::new(SplitStream { data: stream, sizes: read_sizes, fail_at_end }, max_frame);
    let mut frames_in = stream;
    if flags & 2 != 0 {
        match block_on(reader.read_preamble()) {
            Ok(ok) => {
                assert!(stream.len() >= PREAMBLE.len());
                assert_eq!(ok, stream[..PREAMBLE.len()] == PREAMBLE);
                // A link with the wrong preamble is dropped unread.
                if !ok {
                    return;
                }
                frames_in = &stream[PREAMBLE.len()..];
            }
            Err(_) => return assert!(stream.len() < PREAMBLE.len()),
        }
    }

    let (want, want_end) = reference(frames_in, max_frame, fail_at_end);
    let mut got: Vec<Bytes> = Vec::new();
    LARGEST.store(0, Relaxed);
    ARMED.store(true, Relaxed);
    let end = loop {
        match block_on(reader.read_batch(batch)) {
            Ok(b) if b.is_empty() => break End::Clean,
            Ok(b) => {
                assert!(b.len() <= batch, "batch of {} over its size {batch}", b.len());
                got.extend(b);
            }
            Err(FrameError::Truncated) => break End::Truncated,
            Err(FrameError::Oversized(len)) => break End::Oversized(len),
            Err(FrameError::Io(_)) => break End::Io,
        }
    };
    ARMED.store(false, Relaxed);
    let largest = LARGEST.load(Relaxed);
    trace!("{} frames, end {end:?}, largest allocation {largest} (max frame {max_frame})", got.len());
    assert!(largest <= 4 * (PREFIX_LEN + max_frame + READ_CHUNK), "allocated {largest} bytes for max frame {max_frame}");
    assert_eq!(end, want_end);
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(&want).all(|(g, w)| g[..] == **w), "frames differ from the reference parse");
});
