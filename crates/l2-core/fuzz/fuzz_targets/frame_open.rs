//! Frames from an untrusted peer through `FrameCipher::open` and `FrameCipher::open_batch`.
//!
//! The first input byte picks the mode:
//! - even: raw bytes, opened as one frame and as a batch by fresh ciphers with fixed keys.
//!   A frame that opens must be exactly `header ‖ ChaCha20-Poly1305(recv key, header)`.
//! - odd: structure-aware. The rest of the input is a program: the peer seals frames (payloads
//!   from the input), they are delivered one at a time or in batches, intact or mutated
//!   (bit flips, byte writes, truncation, extension, swapped headers, rewritten counters,
//!   epochs and lengths), and keys rotate and retire. Every frame that opens must be
//!   byte-identical to a frame the peer sealed (in this run, or, since the keys are fixed, the
//!   frame the key holder seals for that header and plaintext: the corpus carries some), carry
//!   its plaintext, belong to an epoch still accepted, and no (epoch, counter) may open twice;
//!   an intact sealed frame of an accepted epoch whose counter has not opened must open.
#![no_main]

use l2_core::frame::{FrameCipher, FrameLimits, FrameStatus, FrameType, Header, HEADER_LEN};
use l2_core::primitives::aead;
use l2_core::Error;
use l2_core_fuzz::{frame_types, trace, traffic_keys, Cursor};
use libfuzzer_sys::fuzz_target;
use std::collections::{HashMap, HashSet};

const TINY: FrameLimits = FrameLimits { rekey_after: 4, max_frames: 12, max_auth_failures: 6 };

fuzz_target!(|data: &[u8]| {
    let mut c = Cursor::new(data);
    if c.u8() & 1 == 0 {
        raw(c.rest());
    } else {
        structured(&mut c);
    }
});

/// The frame the key holder would have produced for this header and plaintext.
fn reference_frame(header: &Header, payload: &[u8]) -> Vec<u8> {
    let aad = header.encode();
    let recv = traffic_keys(header.epoch, true).recv;
    [&aad[..], &aead::seal(&recv[..], &header.nonce(), payload, &aad).unwrap()].concat()
}

fn raw(input: &[u8]) {
    let mut one = FrameCipher::new(&traffic_keys(0, true), FrameLimits::default());
    let single = one.open(input);
    trace!("raw open: {:?}", single.as_ref().map(|o| o.header));
    match &single {
        Ok(o) => {
            assert_eq!(o.payload.len(), o.header.len as usize);
            assert_eq!(reference_frame(&o.header, &o.payload), input, "opened a frame nobody sealed");
            assert!(matches!(one.open(input), Err(Error::Replay(_))), "a frame opened twice");
        }
        Err(e) => assert!(matches!(e.code(), "ERR_L2_BAD_INPUT" | "ERR_L2_UNSUPPORTED" | "ERR_L2_AUTH_FAILED" | "ERR_L2_LIMIT")),
    }

    let mut batch_cipher = FrameCipher::new(&traffic_keys(0, true), FrameLimits::default());
    let (out, batch) = batch_cipher.open_batch(input);
    trace!("raw batch: status {:?}, consumed {}, error {:?}", batch.status, batch.consumed, batch.error);
    let frames = check_batch(input, &out, &batch);
    let mut seen = HashSet::new();
    for (frame, plain, status) in &frames {
        if *status == FrameStatus::Ok as u8 {
            let h = Header::decode(frame).unwrap();
            assert_eq!(&reference_frame(&h, plain), frame, "batch opened a frame nobody sealed");
            assert!(seen.insert(h.counter), "batch opened the same counter twice");
        }
    }
    // A single whole frame: `open` and `open_batch` agree.
    if frames.len() == 1 && batch.consumed == input.len() {
        assert_eq!(single.is_ok(), frames[0].2 == FrameStatus::Ok as u8);
    }
}

/// Checks the bookkeeping of a batch against the input; returns (frame bytes, plaintext,
/// status) per frame.
fn check_batch<'a>(input: &'a [u8], out: &'a [u8], batch: &l2_core::frame::BatchOpened) -> Vec<(&'a [u8], &'a [u8], u8)> {
    let n = batch.status.len();
    assert_eq!(batch.ends.len(), n);
    assert_eq!(batch.types.len(), n);
    assert!(batch.consumed <= input.len());
    assert_eq!(out.len(), batch.data_len());
    let (mut off, mut prev_end) = (0usize, 0usize);
    let mut frames = Vec::with_capacity(n);
    for i in 0..n {
        let h = Header::decode(&input[off..]).expect("batch reported a frame with a malformed header");
        let frame = &input[off..off + h.wire_len()];
        let end = batch.ends[i] as usize;
        assert!(end >= prev_end && end <= out.len());
        assert_eq!(batch.types[i], h.frame_type as u8);
        let plain = &out[prev_end..end];
        if batch.status[i] == FrameStatus::Ok as u8 {
            assert_eq!(plain.len(), h.len as usize);
        } else {
            assert!(batch.status[i] <= FrameStatus::Limit as u8);
            assert!(plain.is_empty(), "a failed frame wrote plaintext");
        }
        frames.push((frame, plain, batch.status[i]));
        off += h.wire_len();
        prev_end = end;
    }
    assert_eq!(off, batch.consumed);
    let rest = &input[off..];
    match &batch.error {
        Some(_) => assert!(Header::decode(rest).is_err()),
        None => assert!(rest.len() < HEADER_LEN || rest.len() < Header::decode(rest).unwrap().wire_len()),
    }
    frames
}

struct Sealed {
    frame: Vec<u8>,
    plaintext: Vec<u8>,
    frame_type: FrameType,
}

struct World {
    peer: FrameCipher,
    me: FrameCipher,
    limits: FrameLimits,
    sealed: Vec<Sealed>,
    by_bytes: HashMap<Vec<u8>, usize>,
    /// (epoch, counter) of every frame opened so far.
    opened: HashSet<(u16, u64)>,
    epoch: u16,
    previous_accepted: bool,
}

impl World {
    fn epoch_accepted(&self, epoch: u16) -> bool {
        epoch == self.epoch || (self.previous_accepted && self.epoch.checked_sub(1) == Some(epoch))
    }

    /// Checks one frame's outcome against the model; `result` is `Ok(plaintext)` or the status.
    fn judge(&mut self, frame: &[u8], result: Result<(&[u8], FrameType), u8>) {
        let known = self.by_bytes.get(frame).copied();
        trace!("{} bytes, sealed #{known:?}: {:?}", frame.len(), result.map(|(p, t)| (t, p.len())));
        match result {
            Ok((plain, frame_type)) => {
                let h = Header::decode(frame).unwrap();
                match known {
                    Some(idx) => {
                        let s = &self.sealed[idx];
                        assert_eq!(plain, &s.plaintext[..], "wrong plaintext");
                        assert_eq!(frame_type, s.frame_type);
                    }
                    // Not sealed in this run, but the keys are fixed, so the input may carry a
                    // frame the key holder sealed elsewhere (the corpus has some): it must be
                    // exactly that frame.
                    None => assert_eq!(
                        reference_frame(&h, plain),
                        frame,
                        "opened a frame that is not byte-identical to a sealed frame: {h:?}, {} bytes",
                        frame.len()
                    ),
                }
                assert!(self.opened.insert((h.epoch, h.counter)), "replay: epoch {} counter {} opened twice", h.epoch, h.counter);
                assert!(self.epoch_accepted(h.epoch), "opened a frame of retired epoch {}", h.epoch);
                assert!(h.counter < self.limits.max_frames);
            }
            Err(status) => {
                // Liveness: a genuine frame of an accepted epoch whose counter never opened must
                // open (with the default limits; counters stay far inside the replay window).
                if known.is_some() {
                    let h = Header::decode(frame).unwrap();
                    if self.limits == FrameLimits::default()
                        && !self.opened.contains(&(h.epoch, h.counter))
                        && self.epoch_accepted(h.epoch)
                    {
                        panic!("genuine frame (epoch {}, counter {}) refused with status {status}", h.epoch, h.counter);
                    }
                }
            }
        }
    }

    fn open_one(&mut self, frame: &[u8]) {
        let res = self.me.open(frame);
        match &res {
            Ok(o) => {
                assert_eq!(o.header, Header::decode(frame).unwrap());
                self.judge(frame, Ok((&o.payload, o.header.frame_type)));
            }
            Err(e) => self.judge(frame, Err(status_of(e))),
        }
    }

    fn open_batch(&mut self, input: &[u8]) {
        let (out, batch) = self.me.open_batch(input);
        for (frame, plain, status) in check_batch(input, &out, &batch) {
            let t = Header::decode(frame).unwrap().frame_type;
            self.judge(frame, if status == FrameStatus::Ok as u8 { Ok((plain, t)) } else { Err(status) });
        }
    }
}

/// The batch status `open`'s error corresponds to (`u8::MAX` for malformed frames, which a
/// batch reports as its error instead).
fn status_of(e: &Error) -> u8 {
    match e {
        Error::Replay(_) => FrameStatus::Replay as u8,
        Error::UnknownEpoch(_) => FrameStatus::UnknownEpoch as u8,
        Error::Limit(_) => FrameStatus::Limit as u8,
        Error::AuthFailed(_) => FrameStatus::AuthFailed as u8,
        _ => u8::MAX,
    }
}

/// A sealed frame, possibly mutated as the input says.
fn pick(w: &World, c: &mut Cursor) -> Option<Vec<u8>> {
    if w.sealed.is_empty() {
        return None;
    }
    let mut f = w.sealed[c.u8() as usize % w.sealed.len()].frame.clone();
    for _ in 0..c.u8() % 4 {
        let pos = if f.is_empty() { 0 } else { c.u16() as usize % f.len() };
        match c.u8() % 8 {
            0 if !f.is_empty() => f[pos] ^= 1 << (c.u8() % 8),
            1 if !f.is_empty() => f[pos] = c.u8(),
            2 => f.truncate(pos),
            3 => {
                let n = c.u8() as usize % 32;
                f.extend_from_slice(c.bytes(n));
            }
            4 if f.len() >= HEADER_LEN => {
                // Another sealed frame's header on this body.
                let other = &w.sealed[c.u8() as usize % w.sealed.len()].frame;
                f[..HEADER_LEN].copy_from_slice(&other[..HEADER_LEN]);
            }
            5 if f.len() >= HEADER_LEN => {
                let counter = c.u8() as u64;
                f[8..16].copy_from_slice(&counter.to_be_bytes());
            }
            6 if f.len() >= HEADER_LEN => {
                let epoch = c.u8() as u16 % 4;
                f[2..4].copy_from_slice(&epoch.to_be_bytes());
            }
            7 if f.len() >= HEADER_LEN => {
                // Announced length off by a little (the body no longer matches).
                let len = u32::from_be_bytes(f[4..8].try_into().unwrap());
                let len = len.wrapping_add(c.u8() as u32).wrapping_sub(128);
                f[4..8].copy_from_slice(&len.to_be_bytes());
            }
            _ => {}
        }
    }
    Some(f)
}

fn structured(c: &mut Cursor) {
    let limits = if c.u8() & 1 == 0 { FrameLimits::default() } else { TINY };
    let mut w = World {
        peer: FrameCipher::new(&traffic_keys(0, false), FrameLimits::default()),
        me: FrameCipher::new(&traffic_keys(0, true), limits),
        limits,
        sealed: Vec::new(),
        by_bytes: HashMap::new(),
        opened: HashSet::new(),
        epoch: 0,
        previous_accepted: false,
    };
    for _ in 0..64 {
        if c.is_empty() {
            break;
        }
        match c.u8() % 8 {
            0 | 1 => {
                let frame_type = frame_types()[c.u8() as usize % frame_types().len()];
                let len = match c.u8() {
                    255 => 4096,
                    n => n as usize % 80,
                };
                let mut plaintext = c.bytes(len).to_vec();
                plaintext.resize(len, 0);
                let before = w.peer.send_counter();
                let frame = w.peer.seal(frame_type, &plaintext).expect("seal");
                assert_eq!(w.peer.send_counter(), before + 1);
                assert_eq!(frame.len(), l2_core::frame::sealed_len(len));
                assert!(w.by_bytes.insert(frame.clone(), w.sealed.len()).is_none(), "two sealed frames are identical");
                w.sealed.push(Sealed { frame, plaintext, frame_type });
            }
            2 => {
                if let Some(f) = pick(&w, c) {
                    w.open_one(&f);
                }
            }
            3 => {
                let mut input = Vec::new();
                for _ in 0..c.u8() % 6 + 1 {
                    if let Some(f) = pick(&w, c) {
                        input.extend_from_slice(&f);
                    }
                }
                let n = c.u8() as usize % 24;
                input.extend_from_slice(c.bytes(n));
                w.open_batch(&input);
            }
            4 if w.epoch < 6 => {
                let next = w.epoch + 1;
                assert_eq!(w.peer.install(&traffic_keys(next, false)), Ok(next));
                assert_eq!(w.me.install(&traffic_keys(next, true)), Ok(next));
                w.epoch = next;
                w.previous_accepted = true;
            }
            5 => {
                w.me.retire_previous();
                w.previous_accepted = false;
            }
            6 => {
                // Raw bytes as a frame, into the live cipher.
                let n = c.u16() as usize % 512;
                let f = c.bytes(n).to_vec();
                w.open_one(&f);
            }
            7 => {
                // Sealing into a buffer of the wrong size fails cleanly and burns no counter.
                let len = c.u8() as usize % 64;
                let out_len = c.u8() as usize % (l2_core::frame::sealed_len(len) + 1);
                let mut out = vec![0u8; out_len];
                let before = w.peer.send_counter();
                let res = w.peer.seal_to(FrameType::Data, &vec![7u8; len], &mut out);
                assert_eq!(res.is_ok(), out_len >= l2_core::frame::sealed_len(len));
                if res.is_err() {
                    assert_eq!(w.peer.send_counter(), before);
                } else {
                    // Only full-size buffers get here; keep the frame as sealed.
                    let frame = out[..l2_core::frame::sealed_len(len)].to_vec();
                    w.by_bytes.insert(frame.clone(), w.sealed.len());
                    w.sealed.push(Sealed { frame, plaintext: vec![7u8; len], frame_type: FrameType::Data });
                }
            }
            _ => {}
        }
    }
}
