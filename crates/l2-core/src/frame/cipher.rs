//! The frame cipher: per-direction keys, a never-wrapping counter as nonce, the replay window,
//! and key epochs so a rotation never strands frames sealed under the previous keys.

use super::openssl::{provider_for, AeadProvider, OpenSslAead, OPENSSL_FROM};
use super::replay::ReplayWindow;
use super::{FrameType, Header, HEADER_LEN, MAX_PAYLOAD};
use crate::primitives::aead::{AeadKey, TAG_LEN};
use crate::{Error, Result};
use zeroize::Zeroizing;

/// One direction's key in each direction, as a handshake outputs them.
pub struct TrafficKeys {
    /// Key this side seals with.
    pub send: Zeroizing<[u8; 32]>,
    /// Key this side opens with.
    pub recv: Zeroizing<[u8; 32]>,
}

/// Usage limits per key (SPEC.md §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLimits {
    /// Frames sealed after which `rekey_due()` turns true (the session layer rotates).
    pub rekey_after: u64,
    /// Hard limit: no frame is sealed or opened with a counter at or above it. Far below 2^64,
    /// so the counter, and with it the nonce, can never wrap.
    pub max_frames: u64,
    /// Failed openings after which the receive key is refused (AEAD integrity limit).
    pub max_auth_failures: u64,
}

impl Default for FrameLimits {
    fn default() -> Self {
        Self { rekey_after: 1 << 32, max_frames: 1 << 48, max_auth_failures: 1 << 36 }
    }
}

/// One direction's key, in AWS-LC and, when the process has OpenSSL 3, in OpenSSL too: frames
/// of `OPENSSL_FROM` bytes or more go through the latter (see `openssl.rs` for why).
struct Keys {
    small: AeadKey,
    large: Option<OpenSslAead>,
}

impl Keys {
    fn new(key: &[u8; 32], seal: bool) -> Self {
        let large = match provider_for(OPENSSL_FROM) {
            AeadProvider::OpenSsl => OpenSslAead::new(key, seal),
            AeadProvider::AwsLc => None,
        };
        Self { small: AeadKey::new(key), large }
    }

    fn large_for(&mut self, len: usize) -> Option<&mut OpenSslAead> {
        self.large.as_mut().filter(|_| len >= OPENSSL_FROM)
    }
}

struct SendKey {
    epoch: u16,
    key: Keys,
    next_counter: u64,
}

impl SendKey {
    fn new(epoch: u16, key: &[u8; 32]) -> Self {
        Self { epoch, key: Keys::new(key, true), next_counter: 0 }
    }
}

struct RecvKey {
    epoch: u16,
    key: Keys,
    window: ReplayWindow,
    auth_failures: u64,
}

impl RecvKey {
    fn new(epoch: u16, key: &[u8; 32]) -> Self {
        Self { epoch, key: Keys::new(key, false), window: ReplayWindow::new(), auth_failures: 0 }
    }
}

/// Outcome of one frame in a batch, as a byte so a batch crosses N-API as one array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameStatus {
    /// Opened; its plaintext is in the batch output.
    Ok = 0,
    /// Tag did not verify (forged or corrupted).
    AuthFailed = 1,
    /// Counter already seen or behind the window.
    Replay = 2,
    /// Sealed under an epoch we hold no key for.
    UnknownEpoch = 3,
    /// Counter or failure limit reached.
    Limit = 4,
}

impl FrameStatus {
    fn of(err: &Error) -> Self {
        match err {
            Error::Replay(_) => FrameStatus::Replay,
            Error::UnknownEpoch(_) => FrameStatus::UnknownEpoch,
            Error::Limit(_) => FrameStatus::Limit,
            _ => FrameStatus::AuthFailed,
        }
    }
}

/// A single opened frame.
#[derive(Debug, PartialEq, Eq)]
pub struct Opened {
    /// Its header.
    pub header: Header,
    /// Its plaintext.
    pub payload: Vec<u8>,
}

/// Where the frames of a batch went: plaintexts are written back to back into the caller's
/// output buffer; these arrays say which bytes belong to which frame.
#[derive(Debug, Default)]
pub struct BatchOpened {
    /// Per frame: end offset of its plaintext in the output (start = previous end).
    pub ends: Vec<u32>,
    /// Per frame: its type byte.
    pub types: Vec<u8>,
    /// Per frame: its `FrameStatus`.
    pub status: Vec<u8>,
    /// Bytes of the input consumed (whole frames only; a trailing partial frame is left).
    pub consumed: usize,
    /// Set when a header is malformed: the stream cannot be resynchronised past it.
    pub error: Option<Error>,
}

impl BatchOpened {
    /// Bytes of plaintext written to the output.
    pub fn data_len(&self) -> usize {
        self.ends.last().map_or(0, |&e| e as usize)
    }
}

/// Seals and opens frames for one session.
pub struct FrameCipher {
    send: SendKey,
    recv: RecvKey,
    previous: Option<RecvKey>,
    limits: FrameLimits,
}

impl FrameCipher {
    /// A cipher at epoch 0 with the keys a handshake produced.
    pub fn new(keys: &TrafficKeys, limits: FrameLimits) -> Self {
        Self {
            send: SendKey::new(0, &keys.send),
            recv: RecvKey::new(0, &keys.recv),
            previous: None,
            limits,
        }
    }

    /// Current key epoch.
    pub fn epoch(&self) -> u16 {
        self.send.epoch
    }

    /// Counter the next sealed frame will carry.
    pub fn send_counter(&self) -> u64 {
        self.send.next_counter
    }

    /// True once the current keys sealed `rekey_after` frames: time to rotate.
    pub fn rekey_due(&self) -> bool {
        self.send.next_counter >= self.limits.rekey_after
    }

    /// True while frames of the previous epoch are still accepted.
    pub fn has_previous_epoch(&self) -> bool {
        self.previous.is_some()
    }

    /// Switches to the next epoch with fresh keys (from an in-session re-handshake). Frames of
    /// the epoch being replaced still open until `retire_previous` is called.
    pub fn install(&mut self, keys: &TrafficKeys) -> Result<u16> {
        let epoch = self.send.epoch.checked_add(1).ok_or(Error::Limit("key epochs exhausted"))?;
        self.send = SendKey::new(epoch, &keys.send);
        let old = core::mem::replace(&mut self.recv, RecvKey::new(epoch, &keys.recv));
        self.previous = Some(old);
        Ok(epoch)
    }

    /// Ends the grace period of the previous epoch: its frames are refused from now on.
    pub fn retire_previous(&mut self) {
        self.previous = None;
    }

    /// Writes one sealed frame to the start of `out` (at least `sealed_len(plaintext.len())`
    /// bytes); returns its length. Lets the binding seal straight into a JS-owned buffer.
    pub fn seal_to(&mut self, frame_type: FrameType, plaintext: &[u8], out: &mut [u8]) -> Result<usize> {
        if plaintext.len() > MAX_PAYLOAD {
            return Err(Error::BadInput(format!("frame payload of {} bytes exceeds {MAX_PAYLOAD}", plaintext.len())));
        }
        let wire_len = sealed_len(plaintext.len());
        if out.len() < wire_len {
            return Err(Error::BadInput(format!("output buffer of {} bytes, frame needs {wire_len}", out.len())));
        }
        let counter = self.send.next_counter;
        if counter >= self.limits.max_frames {
            return Err(Error::Limit("frame counter exhausted; rotate keys"));
        }
        let header = Header { frame_type, epoch: self.send.epoch, len: plaintext.len() as u32, counter };
        let aad = header.encode();
        let (head, rest) = out.split_at_mut(HEADER_LEN);
        head.copy_from_slice(&aad);
        let (body, tail) = rest.split_at_mut(plaintext.len());
        let tag: &mut [u8; TAG_LEN] = (&mut tail[..TAG_LEN]).try_into().expect("16-byte tag");
        let sealed = match self.send.key.large_for(plaintext.len()) {
            Some(large) => large.seal_to(header.nonce(), &aad, plaintext, body, &mut *tag),
            None => false,
        };
        if !sealed {
            self.send.key.small.seal_out_of_place(header.nonce(), &aad, plaintext, body, tag);
        }
        self.send.next_counter = counter + 1;
        Ok(wire_len)
    }

    /// Appends one sealed frame to `out`.
    pub fn seal_into(&mut self, frame_type: FrameType, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.resize(start + sealed_len(plaintext.len()), 0);
        self.seal_to(frame_type, plaintext, &mut out[start..]).map(|_| ()).inspect_err(|_| out.truncate(start))
    }

    /// One sealed frame.
    pub fn seal(&mut self, frame_type: FrameType, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.seal_into(frame_type, plaintext, &mut out)?;
        Ok(out)
    }

    /// Opens exactly one frame.
    pub fn open(&mut self, frame: &[u8]) -> Result<Opened> {
        let header = Header::decode(frame)?;
        let mut payload = vec![0u8; header.len as usize];
        self.open_to(frame, &mut payload)?;
        Ok(Opened { header, payload })
    }

    /// Opens exactly one frame into `out`, which must be as long as its plaintext (`Header::len`):
    /// lets the binding decrypt straight into a JS-owned buffer.
    pub fn open_to(&mut self, frame: &[u8], out: &mut [u8]) -> Result<Header> {
        let header = Header::decode(frame)?;
        if frame.len() != header.wire_len() {
            return Err(Error::Malformed { what: "frame", reason: "length does not match its header" });
        }
        if out.len() != header.len as usize {
            return Err(Error::BadInput(format!("output buffer of {} bytes, frame holds {}", out.len(), header.len)));
        }
        self.open_body(&header, &frame[..HEADER_LEN], &frame[HEADER_LEN..], out)?;
        Ok(header)
    }

    /// Opens the frames back to back in `input`, writing their plaintexts back to back into
    /// `out` (at least `input.len()` bytes); one status per frame. Stops at a trailing partial
    /// frame or a malformed header. Bytes of `out` past the plaintexts are zeroed, so a caller
    /// handing out `out` whole (an uninitialised JS Buffer) hands out no stale memory.
    pub fn open_batch_to(&mut self, input: &[u8], out: &mut [u8]) -> BatchOpened {
        let mut batch = BatchOpened::default();
        if input.len() > u32::MAX as usize {
            // End offsets are u32 (they cross N-API as a Uint32Array).
            batch.error = Some(Error::BadInput(format!("a batch holds at most {} bytes", u32::MAX)));
            out.fill(0);
            return batch;
        }
        if out.len() < input.len() {
            batch.error = Some(Error::BadInput(format!("output buffer of {} bytes, input has {}", out.len(), input.len())));
            out.fill(0);
            return batch;
        }
        let mut written = 0usize;
        while input.len() - batch.consumed >= HEADER_LEN {
            let rest = &input[batch.consumed..];
            let header = match Header::decode(rest) {
                Ok(h) => h,
                Err(e) => {
                    batch.error = Some(e);
                    break;
                }
            };
            let wire_len = header.wire_len();
            if rest.len() < wire_len {
                break;
            }
            let plain = &mut out[written..written + header.len as usize];
            let status = match self.open_body(&header, &rest[..HEADER_LEN], &rest[HEADER_LEN..wire_len], plain) {
                Ok(()) => {
                    written += header.len as usize;
                    FrameStatus::Ok
                }
                Err(e) => FrameStatus::of(&e),
            };
            batch.ends.push(written as u32);
            batch.types.push(header.frame_type as u8);
            batch.status.push(status as u8);
            batch.consumed += wire_len;
        }
        out[written..].fill(0);
        batch
    }

    /// `open_batch_to` into a new vector holding exactly the plaintexts.
    pub fn open_batch(&mut self, input: &[u8]) -> (Vec<u8>, BatchOpened) {
        let mut out = vec![0u8; input.len()];
        let batch = self.open_batch_to(input, &mut out);
        out.truncate(batch.data_len());
        (out, batch)
    }

    /// Verifies `body` (ciphertext‖tag) and decrypts it into `out` (the plaintext length).
    fn open_body(&mut self, header: &Header, aad: &[u8], body: &[u8], out: &mut [u8]) -> Result<()> {
        let limits = self.limits;
        let rk = match &mut self.previous {
            Some(prev) if prev.epoch == header.epoch => prev,
            _ if self.recv.epoch == header.epoch => &mut self.recv,
            _ => return Err(Error::UnknownEpoch(header.epoch)),
        };
        if header.counter >= limits.max_frames {
            return Err(Error::Limit("frame counter beyond the hard limit"));
        }
        if rk.auth_failures >= limits.max_auth_failures {
            return Err(Error::Limit("too many forged frames under this key"));
        }
        rk.window.check(header.counter)?;
        let (ciphertext, tag) = body.split_at(body.len() - TAG_LEN);
        let opened = match rk.key.large_for(out.len()) {
            Some(large) => large.open_to(header.nonce(), aad, ciphertext, tag, out),
            None => rk.key.small.open_to(header.nonce(), aad, ciphertext, tag, out),
        };
        match opened {
            Ok(()) => {
                rk.window.mark(header.counter);
                Ok(())
            }
            Err(e) => {
                rk.auth_failures += 1;
                Err(e)
            }
        }
    }
}

/// Bytes a frame needs beyond its plaintext, for callers sizing buffers.
pub const fn sealed_len(plaintext_len: usize) -> usize {
    HEADER_LEN + plaintext_len + TAG_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(a: u8, b: u8) -> TrafficKeys {
        TrafficKeys { send: Zeroizing::new([a; 32]), recv: Zeroizing::new([b; 32]) }
    }

    fn pair(limits: FrameLimits) -> (FrameCipher, FrameCipher) {
        (FrameCipher::new(&keys(1, 2), limits), FrameCipher::new(&keys(2, 1), limits))
    }

    #[test]
    fn seal_open_and_replay() {
        let (mut a, mut b) = pair(FrameLimits::default());
        let f = a.seal(FrameType::Data, b"hi").unwrap();
        assert_eq!(f.len(), sealed_len(2));
        let opened = b.open(&f).unwrap();
        assert_eq!(opened.payload, b"hi");
        assert_eq!(opened.header.counter, 0);
        assert_eq!(b.open(&f).unwrap_err(), Error::Replay(0));
    }

    #[test]
    fn reorder_within_window_and_duplicates() {
        let (mut a, mut b) = pair(FrameLimits::default());
        let frames: Vec<_> = (0..3000u32).map(|i| a.seal(FrameType::Data, &i.to_be_bytes()).unwrap()).collect();
        assert!(b.open(&frames[2999]).is_ok());
        for i in (1000..2999).rev() {
            assert_eq!(b.open(&frames[i]).unwrap().payload, (i as u32).to_be_bytes());
        }
        assert!(matches!(b.open(&frames[500]), Err(Error::Replay(500))), "behind the window");
        assert!(matches!(b.open(&frames[1500]), Err(Error::Replay(1500))), "duplicate");
    }

    #[test]
    fn forged_frames_do_not_move_the_window() {
        let (mut a, mut b) = pair(FrameLimits::default());
        let f = a.seal(FrameType::Data, b"payload").unwrap();
        for byte in 0..f.len() {
            let mut bad = f.clone();
            bad[byte] ^= 0x01;
            assert!(b.open(&bad).is_err(), "flip in byte {byte}");
        }
        assert_eq!(b.open(&f).unwrap().payload, b"payload");
    }

    #[test]
    fn epoch_switch_keeps_in_flight_frames() {
        let (mut a, mut b) = pair(FrameLimits::default());
        let old = a.seal(FrameType::Data, b"old").unwrap();
        a.install(&keys(3, 4)).unwrap();
        b.install(&keys(4, 3)).unwrap();
        let new = a.seal(FrameType::Data, b"new").unwrap();
        assert_eq!(b.open(&new).unwrap().header.epoch, 1);
        assert_eq!(b.open(&old).unwrap().payload, b"old", "previous epoch still opens");
        b.retire_previous();
        let old2 = {
            let mut c = FrameCipher::new(&keys(1, 2), FrameLimits::default());
            c.seal(FrameType::Data, b"x").unwrap();
            c.seal(FrameType::Data, b"late").unwrap()
        };
        assert_eq!(b.open(&old2).unwrap_err(), Error::UnknownEpoch(0));
    }

    #[test]
    fn counter_limit_is_hard() {
        let limits = FrameLimits { rekey_after: 2, max_frames: 3, max_auth_failures: 10 };
        let (mut a, mut b) = pair(limits);
        for _ in 0..3 {
            let f = a.seal(FrameType::Data, b"x").unwrap();
            b.open(&f).unwrap();
        }
        assert!(a.rekey_due());
        assert!(matches!(a.seal(FrameType::Data, b"x"), Err(Error::Limit(_))));
        a.install(&keys(5, 6)).unwrap();
        assert!(!a.rekey_due());
        assert!(a.seal(FrameType::Data, b"x").is_ok());
    }

    #[test]
    fn auth_failure_limit() {
        let limits = FrameLimits { max_auth_failures: 2, ..FrameLimits::default() };
        let (mut a, mut b) = pair(limits);
        let f = a.seal(FrameType::Data, b"x").unwrap();
        let mut bad = f.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(matches!(b.open(&bad), Err(Error::AuthFailed(_))));
        assert!(matches!(b.open(&bad), Err(Error::AuthFailed(_))));
        assert!(matches!(b.open(&f), Err(Error::Limit(_))));
    }

    #[test]
    fn batch_open_statuses_and_partial_tail() {
        let (mut a, mut b) = pair(FrameLimits::default());
        let mut wire = Vec::new();
        for i in 0..4u8 {
            a.seal_into(FrameType::Data, &[i; 3], &mut wire).unwrap();
        }
        let second = sealed_len(3);
        wire[second + HEADER_LEN] ^= 1; // corrupt frame 1
        let dup = wire[..second].to_vec();
        wire.extend_from_slice(&dup); // replay of frame 0
        wire.extend_from_slice(&[1, 1, 0]); // partial header
        let (data, out) = b.open_batch(&wire);
        assert_eq!(out.status, vec![0, 1, 0, 0, 2]);
        assert_eq!(out.ends, vec![3, 3, 6, 9, 9]);
        assert_eq!(data, [[0u8; 3], [2; 3], [3; 3]].concat());
        assert_eq!(out.consumed, wire.len() - 3);
        assert!(out.error.is_none());
    }

    #[test]
    fn batch_output_past_the_plaintexts_is_zeroed() {
        let (mut a, mut b) = pair(FrameLimits::default());
        let mut wire = Vec::new();
        a.seal_into(FrameType::Data, &[7; 5], &mut wire).unwrap();
        let first = wire.clone();
        a.seal_into(FrameType::Data, &[8; 3], &mut wire).unwrap();
        wire.extend_from_slice(&first); // replay: the cipher writes nothing for it
        wire.extend_from_slice(&first[..10]); // partial frame
        let mut out = vec![0xaau8; wire.len()];
        let opened = b.open_batch_to(&wire, &mut out);
        assert_eq!(opened.status, vec![0, 0, 2]);
        assert_eq!(out[..8], [7, 7, 7, 7, 7, 8, 8, 8]);
        assert!(out[8..].iter().all(|&x| x == 0), "stale bytes past the plaintexts");
    }

    #[test]
    fn refused_batch_leaves_no_stale_output() {
        let (mut a, mut b) = pair(FrameLimits::default());
        let wire = a.seal(FrameType::Data, &[7; 40]).unwrap();
        let mut out = vec![0xaau8; wire.len() - 1];
        let opened = b.open_batch_to(&wire, &mut out);
        assert!(matches!(opened.error, Some(Error::BadInput(_))));
        assert!(out.iter().all(|&x| x == 0), "stale bytes in a refused batch's output");
    }

    #[test]
    fn batch_open_stops_at_malformed_header() {
        let (mut a, mut b) = pair(FrameLimits::default());
        let mut wire = a.seal(FrameType::Data, b"ok").unwrap();
        wire.extend_from_slice(&[1, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let (_, out) = b.open_batch(&wire);
        assert_eq!(out.status, vec![0]);
        assert!(matches!(out.error, Some(Error::Malformed { .. })));
    }
}

#[cfg(test)]
mod slice_tests {
    use super::*;

    #[test]
    fn seal_to_checks_room_and_counts_nothing_on_failure() {
        let mut c = FrameCipher::new(&TrafficKeys { send: Zeroizing::new([1; 32]), recv: Zeroizing::new([2; 32]) }, FrameLimits::default());
        let mut small = [0u8; 20];
        assert_eq!(c.seal_to(FrameType::Data, b"hello", &mut small).unwrap_err().code(), "ERR_L2_BAD_INPUT");
        assert_eq!(c.send_counter(), 0);
        let mut out = Vec::new();
        c.seal_into(FrameType::Data, b"hello", &mut out).unwrap();
        assert_eq!(out.len(), sealed_len(5));
        assert_eq!(c.send_counter(), 1);
    }
}
