//! Fixtures shared by the fuzz targets and the corpus generator: fixed identities and
//! randomness, so every handshake message the real code produces is reproducible, and a small
//! cursor for turning fuzz input into structured choices.

use l2_core::frame::{FrameType, TrafficKeys};
use l2_core::handshake::{Handshake, InitiatorRandomness, ResponderRandomness};
use l2_core::primitives::ed25519::Identity;
use std::sync::OnceLock;
use zeroize::Zeroizing;

/// Channel binding used by both sides (a TLS exporter is 32 bytes).
pub const CHANNEL_BINDING: &[u8] = b"l2-core fuzz channel binding....";

/// Seeds of the long-term identities and randomness of the reference parties.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Party {
    pub identity: u8,
    pub randomness: u8,
}

/// The initiator every target drives (and the responder target expects most often).
pub const INITIATOR: Party = Party { identity: 0x11, randomness: 0x33 };
/// The responder every target drives.
pub const RESPONDER: Party = Party { identity: 0x22, randomness: 0x55 };

impl Party {
    pub fn identity(self) -> Identity {
        Identity::from_seed(&[self.identity; 32])
    }

    pub fn public_key(self) -> [u8; 32] {
        self.identity().public_key()
    }

    /// This party as initiator; returns the handshake and its message 1.
    pub fn initiator(self, expected_peer: Option<[u8; 32]>) -> (Handshake, Vec<u8>) {
        let r = self.randomness;
        let randomness = InitiatorRandomness { ephemeral_seed: Zeroizing::new([r; 32]), nonce: [r.wrapping_add(0x11); 32] };
        Handshake::initiator(self.identity(), expected_peer, CHANNEL_BINDING, randomness).expect("channel binding within limits")
    }

    /// This party as responder.
    pub fn responder(self) -> Handshake {
        let r = self.randomness;
        let randomness = ResponderRandomness { eseed: Zeroizing::new([r; 64]), nonce: [r.wrapping_add(0x11); 32] };
        Handshake::responder(self.identity(), CHANNEL_BINDING, randomness).expect("channel binding within limits")
    }
}

/// The initiator's long-term identity.
pub fn initiator_identity() -> Identity {
    INITIATOR.identity()
}

/// The responder's long-term identity.
pub fn responder_identity() -> Identity {
    RESPONDER.identity()
}

/// The fixed initiator; returns it and its message 1.
pub fn initiator(expected_peer: Option<[u8; 32]>) -> (Handshake, Vec<u8>) {
    INITIATOR.initiator(expected_peer)
}

/// The fixed responder.
pub fn responder() -> Handshake {
    RESPONDER.responder()
}

/// The messages of one honest handshake between two parties.
pub struct Messages {
    pub initiator: Party,
    pub responder: Party,
    pub m1: Vec<u8>,
    pub m2: Vec<u8>,
    pub m3: Vec<u8>,
    pub transcript_hash: [u8; 32],
}

fn run(initiator: Party, responder: Party) -> Messages {
    let (mut i, m1) = initiator.initiator(Some(responder.public_key()));
    let mut r = responder.responder();
    let m2 = r.handle(&m1).expect("m1 accepted").expect("m2");
    let m3 = i.handle(&m2).expect("m2 accepted").expect("m3");
    assert!(r.handle(&m3).expect("m3 accepted").is_none());
    assert!(i.is_complete() && r.is_complete());
    let transcript_hash = i.outcome().unwrap().transcript_hash;
    assert_eq!(transcript_hash, r.outcome().unwrap().transcript_hash);
    Messages { initiator, responder, m1, m2, m3, transcript_hash }
}

/// Every honest handshake the fixtures (and so the seed corpora) contain: the reference one,
/// then ones where the initiator or the responder has other randomness or another identity.
/// The fuzzer cannot sign or MAC, so these are the only handshakes that may ever complete:
/// the targets assert exactly that.
pub fn genuine() -> &'static [Messages] {
    static M: OnceLock<Vec<Messages>> = OnceLock::new();
    M.get_or_init(|| {
        vec![
            run(INITIATOR, RESPONDER),
            run(Party { randomness: 0x77, ..INITIATOR }, RESPONDER),
            run(Party { identity: 0x12, ..INITIATOR }, RESPONDER),
            run(INITIATOR, Party { randomness: 0x99, ..RESPONDER }),
            run(INITIATOR, Party { identity: 0x23, ..RESPONDER }),
        ]
    })
}

/// The reference handshake between `INITIATOR` and `RESPONDER`.
pub fn messages() -> &'static Messages {
    &genuine()[0]
}

/// Fixed traffic keys of `epoch`, seen from the receiving side (`mine`) or the sending peer.
pub fn traffic_keys(epoch: u16, mine: bool) -> TrafficKeys {
    let key = |dir: u8| {
        let mut k = [dir; 32];
        k[..2].copy_from_slice(&epoch.to_be_bytes());
        Zeroizing::new(k)
    };
    let (a, b) = (key(0xa5), key(0x5a));
    if mine {
        TrafficKeys { send: a, recv: b }
    } else {
        TrafficKeys { send: b, recv: a }
    }
}

/// True when `L2_FUZZ_TRACE` is set: targets then print what each input reached (to check by
/// hand that the seeds get where they should, e.g. a completed handshake).
pub fn tracing() -> bool {
    static T: OnceLock<bool> = OnceLock::new();
    *T.get_or_init(|| std::env::var_os("L2_FUZZ_TRACE").is_some())
}

/// Prints a line when tracing.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::tracing() {
            eprintln!("trace: {}", format_args!($($arg)*));
        }
    };
}

/// Every frame type the core knows (whatever `FrameType::try_from` accepts), so the targets
/// follow when types are added.
pub fn frame_types() -> &'static [FrameType] {
    static T: OnceLock<Vec<FrameType>> = OnceLock::new();
    T.get_or_init(|| {
        let types: Vec<FrameType> = (0..=u8::MAX).filter_map(|b| FrameType::try_from(b).ok()).collect();
        for &t in &types {
            assert_eq!(FrameType::try_from(t as u8), Ok(t), "frame type byte round trip");
        }
        assert!(!types.is_empty());
        types
    })
}

/// Reads structured choices from fuzz input; returns zeros once the input runs out.
pub struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Up to `n` bytes (fewer if the input runs out).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.data.split_at(n.min(self.data.len()));
        self.data = rest;
        head
    }

    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
}

/// Splits input into two messages: a big-endian u16 length, that many bytes, then the rest.
/// The corpus generator writes inputs in the same format with `join`.
pub fn split2(data: &[u8]) -> (&[u8], &[u8]) {
    let mut c = Cursor::new(data);
    let n = c.u16() as usize;
    let first = c.bytes(n);
    (first, c.rest())
}

/// Inverse of `split2`.
pub fn join(first: &[u8], second: &[u8]) -> Vec<u8> {
    let n = u16::try_from(first.len()).expect("first message below 64 KiB");
    [&n.to_be_bytes()[..], first, second].concat()
}
