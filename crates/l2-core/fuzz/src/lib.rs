//! Fixtures shared by the fuzz targets and the corpus generator: fixed identities and
//! randomness, so every handshake message the real code produces is reproducible, and a small
//! cursor for turning fuzz input into structured choices.

use l2_core::frame::{FrameType, TrafficKeys};
use l2_core::handshake::{Handshake, InitiatorRandomness, ResponderRandomness, Ticket, TicketStore};
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

/// The messages of one honest handshake between two parties, and the tickets it left, sealed
/// under `TICKET_KEY` as `session.export(key)` stores them.
pub struct Messages {
    pub initiator: Party,
    pub responder: Party,
    pub m1: Vec<u8>,
    pub m2: Vec<u8>,
    pub m3: Vec<u8>,
    pub transcript_hash: [u8; 32],
    /// The initiator's ticket (its peer is the responder).
    pub initiator_ticket: Vec<u8>,
    /// The responder's ticket (its peer is the initiator); same secret, other peer.
    pub responder_ticket: Vec<u8>,
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
    let initiator_ticket = i.ticket().unwrap().seal(&TICKET_KEY, [1; 12]).unwrap();
    let responder_ticket = r.ticket().unwrap().seal(&TICKET_KEY, [2; 12]).unwrap();
    Messages { initiator, responder, m1, m2, m3, transcript_hash, initiator_ticket, responder_ticket }
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

/// Key the fixtures seal resumption tickets under (what a caller passes to `session.export`).
pub const TICKET_KEY: [u8; 32] = [0x7c; 32];
/// A second valid key: tickets sealed under one never open under the other.
pub const OTHER_TICKET_KEY: [u8; 32] = [0x7d; 32];

/// Opens a fixture ticket sealed under `TICKET_KEY`.
pub fn open_ticket(sealed: &[u8]) -> Ticket {
    Ticket::open(sealed, &TICKET_KEY).expect("fixture ticket")
}

/// A sealed ticket of the fixtures, as `session.export(key).ticket` carries it.
pub struct SealedTicket {
    pub key: [u8; 32],
    pub bytes: Vec<u8>,
    /// Index of its session in `genuine()`.
    pub session: usize,
    /// The peer it names.
    pub peer: [u8; 32],
}

/// Every sealed ticket of the fixtures: both sides of each `genuine()` session under
/// `TICKET_KEY`, and the reference initiator's resealed under another nonce and another key.
/// AEAD being unforgeable, these are the only ones `Ticket::open` may accept.
pub fn sealed_tickets() -> &'static [SealedTicket] {
    static T: OnceLock<Vec<SealedTicket>> = OnceLock::new();
    T.get_or_init(|| {
        let mut all = Vec::new();
        for (session, g) in genuine().iter().enumerate() {
            all.push(SealedTicket { key: TICKET_KEY, bytes: g.initiator_ticket.clone(), session, peer: g.responder.public_key() });
            all.push(SealedTicket { key: TICKET_KEY, bytes: g.responder_ticket.clone(), session, peer: g.initiator.public_key() });
        }
        let reference = &genuine()[0];
        for (key, nonce) in [(TICKET_KEY, [3; 12]), (OTHER_TICKET_KEY, [4; 12])] {
            let bytes = open_ticket(&reference.initiator_ticket).seal(&key, nonce).unwrap();
            all.push(SealedTicket { key, bytes, session: 0, peer: reference.responder.public_key() });
        }
        all
    })
}

/// Resumption nonces of the reference parties (the fuzz targets resume with these).
pub const RESUME_NONCE_I: [u8; 32] = [0x44; 32];
pub const RESUME_NONCE_R: [u8; 32] = [0x66; 32];

/// The messages of one honest resumption of a `genuine()` session.
pub struct Resumption {
    /// Index of the resumed session in `genuine()`.
    pub session: usize,
    pub nonce_i: [u8; 32],
    pub nonce_r: [u8; 32],
    pub r1: Vec<u8>,
    pub r2: Vec<u8>,
    pub r3: Vec<u8>,
    pub transcript_hash: [u8; 32],
    pub session_id: [u8; 16],
}

fn resume(session: usize, nonce_i: [u8; 32], nonce_r: [u8; 32]) -> Resumption {
    let g = &genuine()[session];
    let (mut i, r1) = Handshake::resume_initiator(open_ticket(&g.initiator_ticket), CHANNEL_BINDING, nonce_i).unwrap();
    let mut r = Handshake::resume_responder(open_ticket(&g.responder_ticket), CHANNEL_BINDING, nonce_r).unwrap();
    let r2 = r.handle(&r1).expect("r1 accepted").expect("r2");
    let r3 = i.handle(&r2).expect("r2 accepted").expect("r3");
    assert!(r.handle(&r3).expect("r3 accepted").is_none());
    let (oi, or) = (i.outcome().unwrap(), r.outcome().unwrap());
    assert_eq!((oi.peer, or.peer), (g.responder.public_key(), g.initiator.public_key()));
    assert_eq!((oi.transcript_hash, oi.session_id), (or.transcript_hash, or.session_id));
    Resumption { session, nonce_i, nonce_r, r1, r2, r3, transcript_hash: oi.transcript_hash, session_id: oi.session_id }
}

/// Every honest resumption the fixtures contain: each `genuine()` session with the reference
/// nonces, and the reference session with another initiator or responder nonce. As with full
/// handshakes, these are the only resumptions that may ever complete.
pub fn resumptions() -> &'static [Resumption] {
    static R: OnceLock<Vec<Resumption>> = OnceLock::new();
    R.get_or_init(|| {
        let mut all: Vec<Resumption> = (0..genuine().len()).map(|k| resume(k, RESUME_NONCE_I, RESUME_NONCE_R)).collect();
        all.push(resume(0, [0x45; 32], RESUME_NONCE_R));
        all.push(resume(0, RESUME_NONCE_I, [0x67; 32]));
        all
    })
}

/// The responder's clock (ms) in the resumption targets.
pub const NOW_MS: u64 = 1_000_000;

/// A responder's ticket store as a node holds it: the responder tickets of every `genuine()`
/// session, live, except the last one's, which expired at `NOW_MS`.
pub fn ticket_store() -> TicketStore {
    let mut store = TicketStore::new();
    let last = genuine().len() - 1;
    for (k, g) in genuine().iter().enumerate() {
        let expires_at = if k == last { NOW_MS } else { NOW_MS + 60_000 };
        store.insert(open_ticket(&g.responder_ticket), expires_at, NOW_MS - 1000).unwrap();
    }
    store
}

/// Which `genuine()` session a ticket id belongs to, and whether the store holds it live.
pub fn stored_ticket(id: &[u8]) -> Option<(usize, bool)> {
    static IDS: OnceLock<Vec<[u8; 16]>> = OnceLock::new();
    let ids = IDS.get_or_init(|| genuine().iter().map(|g| open_ticket(&g.responder_ticket).id).collect());
    ids.iter().position(|x| x[..] == *id).map(|k| (k, k != genuine().len() - 1))
}

/// What `handshake::messages::check` must answer for `msg` expected as type `ty` of length
/// `len` (SPEC.md §3.2, written out independently): `Ok` or the error code.
pub fn expected_check(msg: &[u8], ty: u8, len: usize) -> Result<(), &'static str> {
    if msg.len() < 4 {
        Err("ERR_L2_BAD_INPUT")
    } else if msg[1] != 1 || msg[2] != 1 {
        Err("ERR_L2_UNSUPPORTED")
    } else if msg[0] != ty || msg[3] != 0 || msg.len() != len {
        Err("ERR_L2_BAD_INPUT")
    } else {
        Ok(())
    }
}

/// Checks a handshake that failed on peer bytes: a peer-input code, no keys, failed for good.
pub fn assert_failed_for_good(h: &mut Handshake, err: &l2_core::Error) {
    assert!(
        matches!(err.code(), "ERR_L2_BAD_INPUT" | "ERR_L2_UNSUPPORTED" | "ERR_L2_AUTH_FAILED"),
        "unexpected error from peer bytes: {err:?}"
    );
    assert!(!h.is_complete());
    assert!(h.take_keys().is_err());
    assert!(matches!(h.handle(&[]), Err(l2_core::Error::InvalidState { .. })), "a failed handshake must stay failed");
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

/// Discovery keys: the corpus generator signs seed answers with them, and the
/// `discovery_packets` target signs fuzzed answers with them.
pub fn discovery_keys() -> &'static [ed25519_dalek::SigningKey] {
    static K: OnceLock<Vec<ed25519_dalek::SigningKey>> = OnceLock::new();
    K.get_or_init(|| [0x31, 0x32].iter().map(|&b| ed25519_dalek::SigningKey::from_bytes(&[b; 32])).collect())
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
