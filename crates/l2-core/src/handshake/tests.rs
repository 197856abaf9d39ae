//! Two-party handshake tests on deterministic randomness.

use super::*;
use crate::frame::FrameType;

fn id(n: u8) -> Identity {
    Identity::from_seed(&[n; 32])
}

fn irand(n: u8) -> InitiatorRandomness {
    InitiatorRandomness { ephemeral_seed: Zeroizing::new([n; 32]), nonce: [n.wrapping_add(1); 32] }
}

fn rrand(n: u8) -> ResponderRandomness {
    ResponderRandomness { eseed: Zeroizing::new([n; 64]), nonce: [n.wrapping_add(1); 32] }
}

/// Runs a handshake; `tamper` may alter message k (0-based) in flight.
fn run(tamper: impl Fn(usize, &mut Vec<u8>), cb_i: &[u8], cb_r: &[u8]) -> Result<(Handshake, Handshake)> {
    let expected = Some(id(2).public_key());
    let (mut i, mut m1) = Handshake::initiator(id(1), expected, cb_i, irand(10)).unwrap();
    let mut r = Handshake::responder(id(2), cb_r, rrand(20)).unwrap();
    tamper(0, &mut m1);
    let mut m2 = r.handle(&m1)?.expect("message 2");
    tamper(1, &mut m2);
    let mut m3 = i.handle(&m2)?.expect("message 3");
    tamper(2, &mut m3);
    assert!(r.handle(&m3)?.is_none());
    Ok((i, r))
}

#[test]
fn both_sides_agree_and_frames_flow() {
    let (mut i, mut r) = run(|_, _| {}, b"cb", b"cb").unwrap();
    let (oi, or) = (i.outcome().unwrap(), r.outcome().unwrap());
    assert_eq!(oi.session_id, or.session_id);
    assert_eq!(oi.transcript_hash, or.transcript_hash);
    assert_eq!(*oi.resumption_secret, *or.resumption_secret);
    assert_eq!(oi.peer, id(2).public_key());
    assert_eq!(or.peer, id(1).public_key());
    let (ki, kr) = (oi.keys.as_ref().unwrap(), or.keys.as_ref().unwrap());
    assert_eq!(*ki.send, *kr.recv);
    assert_eq!(*ki.recv, *kr.send);
    assert_ne!(*ki.send, *ki.recv);
    let (mut ci, mut cr) = (i.frame_cipher(Default::default()).unwrap(), r.frame_cipher(Default::default()).unwrap());
    let f = ci.seal(FrameType::Data, b"ping").unwrap();
    assert_eq!(cr.open(&f).unwrap().payload, b"ping");
    assert_eq!(i.frame_cipher(Default::default()).err().unwrap().code(), "ERR_L2_INVALID_STATE", "keys are taken once");
}

#[test]
fn every_bit_flip_in_every_message_is_rejected() {
    for (msg, len) in [(0, messages::INITIATOR_HELLO_LEN), (1, messages::RESPONDER_AUTH_LEN), (2, messages::INITIATOR_AUTH_LEN)] {
        for bit in 0..len * 8 {
            let result = run(|k, m| if k == msg { m[bit / 8] ^= 1 << (bit % 8) }, b"", b"");
            assert!(result.is_err(), "flip of bit {bit} in message {msg} went unnoticed");
        }
    }
}

#[test]
fn replayed_hello_yields_no_second_session() {
    let (mut i, m1) = Handshake::initiator(id(1), None, b"", irand(10)).unwrap();
    let mut r1 = Handshake::responder(id(2), b"", rrand(20)).unwrap();
    let m2 = r1.handle(&m1).unwrap().unwrap();
    let m3 = i.handle(&m2).unwrap().unwrap();
    r1.handle(&m3).unwrap();
    // An attacker replays message 1 to a fresh responder, then the recorded message 3.
    let mut r2 = Handshake::responder(id(2), b"", rrand(30)).unwrap();
    let m2b = r2.handle(&m1).unwrap().unwrap();
    assert_ne!(m2b, m2, "fresh responder randomness");
    assert_eq!(r2.handle(&m3).unwrap_err().code(), "ERR_L2_AUTH_FAILED");
    assert!(!r2.is_complete());
    // And the same responder will not take message 1 again.
    assert_eq!(r1.handle(&m1).unwrap_err().code(), "ERR_L2_INVALID_STATE");
}

#[test]
fn wrong_responder_identity_fails_authentication() {
    let (mut i, m1) = Handshake::initiator(id(1), Some(id(3).public_key()), b"", irand(10)).unwrap();
    let mut r = Handshake::responder(id(2), b"", rrand(20)).unwrap();
    let m2 = r.handle(&m1).unwrap().unwrap();
    assert_eq!(i.handle(&m2).unwrap_err(), Error::AuthFailed("responder is not the expected peer"));
    assert_eq!(i.handle(&m2).unwrap_err().code(), "ERR_L2_INVALID_STATE", "failed for good");
}

#[test]
fn mismatched_channel_binding_fails() {
    assert_eq!(run(|_, _| {}, b"conn-a", b"conn-b").err().unwrap().code(), "ERR_L2_AUTH_FAILED");
    assert_eq!(run(|_, _| {}, b"", b"x").err().unwrap().code(), "ERR_L2_AUTH_FAILED");
}

#[test]
fn fresh_randomness_gives_fresh_keys() {
    let (a, _) = run(|_, _| {}, b"", b"").unwrap();
    let (mut i, m1) = Handshake::initiator(id(1), None, b"", irand(11)).unwrap();
    let mut r = Handshake::responder(id(2), b"", rrand(20)).unwrap();
    let m2 = r.handle(&m1).unwrap().unwrap();
    i.handle(&m2).unwrap();
    let send = |h: &Handshake| *h.outcome().unwrap().keys.as_ref().unwrap().send;
    assert_ne!(send(&a), send(&i));
    assert_ne!(a.outcome().unwrap().session_id, i.outcome().unwrap().session_id);
}

#[test]
fn initiator_identity_is_not_in_clear() {
    let (mut i, m1) = Handshake::initiator(id(1), None, b"", irand(10)).unwrap();
    let mut r = Handshake::responder(id(2), b"", rrand(20)).unwrap();
    let m2 = r.handle(&m1).unwrap().unwrap();
    let m3 = i.handle(&m2).unwrap().unwrap();
    let needle = id(1).public_key();
    let responder_key = id(2).public_key();
    for m in [&m1, &m2, &m3] {
        assert!(!m.windows(32).any(|w| w == needle), "initiator key visible");
        assert!(!m.windows(32).any(|w| w == responder_key), "responder key visible");
    }
}

#[test]
fn oversized_channel_binding_is_bad_input() {
    let err = Handshake::responder(id(2), &[0; 256], rrand(1)).err().unwrap();
    assert_eq!(err.code(), "ERR_L2_BAD_INPUT");
}

#[test]
fn rotation_installs_a_second_handshake_as_next_epoch() {
    let (mut i, mut r) = run(|_, _| {}, b"", b"").unwrap();
    let (mut ci, mut cr) = (i.frame_cipher(Default::default()).unwrap(), r.frame_cipher(Default::default()).unwrap());
    let in_flight = ci.seal(FrameType::Data, b"old").unwrap();
    let (mut i2, mut r2) = run(|_, _| {}, b"", b"").unwrap();
    assert_eq!(i2.install_into(&mut ci).unwrap(), 1);
    assert_eq!(r2.install_into(&mut cr).unwrap(), 1);
    let f = ci.seal(FrameType::Data, b"new").unwrap();
    assert_eq!(cr.open(&f).unwrap().header.epoch, 1);
    assert_eq!(cr.open(&in_flight).unwrap().payload, b"old");
}

fn resumed(store: &mut TicketStore, from: &Handshake, cb_i: &[u8], cb_r: &[u8], now: u64) -> Result<(Handshake, Handshake)> {
    let (mut i, hello) = Handshake::resume_initiator(from.ticket()?, cb_i, [7; 32])?;
    let ticket = store.take(&hello, cb_r, now)?;
    let mut r = Handshake::resume_responder(ticket, cb_r, [8; 32])?;
    let accept = r.handle(&hello)?.expect("resume accept");
    let finish = i.handle(&accept)?.expect("resume finish");
    assert!(r.handle(&finish)?.is_none());
    Ok((i, r))
}

#[test]
fn resumption_in_one_round_trip_gives_fresh_agreeing_keys() {
    let (full_i, full_r) = run(|_, _| {}, b"", b"").unwrap();
    let mut store = TicketStore::new();
    store.insert(full_r.ticket().unwrap(), 1_000, 0).unwrap();
    let (mut i, mut r) = resumed(&mut store, &full_i, b"cb", b"cb", 10).unwrap();
    assert!(i.is_resumption() && r.is_complete());
    assert_eq!(i.outcome().unwrap().peer, id(2).public_key());
    assert_eq!(r.outcome().unwrap().peer, id(1).public_key());
    assert_ne!(i.outcome().unwrap().session_id, full_i.outcome().unwrap().session_id);
    let (mut ci, mut cr) = (i.frame_cipher(Default::default()).unwrap(), r.frame_cipher(Default::default()).unwrap());
    assert_eq!(cr.open(&ci.seal(FrameType::Data, b"resumed").unwrap()).unwrap().payload, b"resumed");
    // Single use: the same ticket does not resume twice.
    assert_eq!(resumed(&mut store, &full_i, b"", b"", 10).err().unwrap().code(), "ERR_L2_AUTH_FAILED");
}

#[test]
fn resumption_refuses_expired_tickets_wrong_secrets_and_other_bindings() {
    let (full_i, full_r) = run(|_, _| {}, b"", b"").unwrap();
    let mut store = TicketStore::new();
    store.insert(full_r.ticket().unwrap(), 100, 0).unwrap();
    assert_eq!(resumed(&mut store, &full_i, b"", b"", 100).err().unwrap().code(), "ERR_L2_AUTH_FAILED", "expired");
    store.insert(full_r.ticket().unwrap(), 100, 0).unwrap();
    assert_eq!(resumed(&mut store, &full_i, b"a", b"b", 5).err().unwrap().code(), "ERR_L2_AUTH_FAILED", "binding");
    let (_, hello) = Handshake::resume_initiator(full_i.ticket().unwrap(), b"", [1; 32]).unwrap();
    assert_eq!(TicketStore::new().take(&hello, b"", 5).err().unwrap().code(), "ERR_L2_AUTH_FAILED", "unknown ticket");
}

#[test]
fn a_hello_with_a_forged_binder_does_not_use_up_the_ticket() {
    let (full_i, full_r) = run(|_, _| {}, b"", b"").unwrap();
    let mut store = TicketStore::new();
    store.insert(full_r.ticket().unwrap(), 1_000, 0).unwrap();
    let (_, hello) = Handshake::resume_initiator(full_i.ticket().unwrap(), b"cb", [3; 32]).unwrap();
    // An observer knows the ticket id (it travels in the clear) but not the binder's key.
    let mut forged = hello.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert_eq!(store.take(&forged, b"cb", 10).err().unwrap().code(), "ERR_L2_AUTH_FAILED");
    assert_eq!(store.take(&hello, b"other channel", 10).err().unwrap().code(), "ERR_L2_AUTH_FAILED");
    assert_eq!(store.len(), 1, "the ticket is still there");
    assert!(resumed(&mut store, &full_i, b"cb", b"cb", 10).is_ok(), "and its owner resumes with it");
    assert_eq!(store.len(), 0);
}

#[test]
fn every_bit_flip_in_resumption_messages_is_rejected() {
    let (full_i, full_r) = run(|_, _| {}, b"", b"").unwrap();
    for msg in 0..3 {
        let len = [messages::RESUME_HELLO_LEN, messages::RESUME_ACCEPT_LEN, messages::RESUME_FINISH_LEN][msg];
        for bit in 0..len * 8 {
            let (mut i, mut hello) = Handshake::resume_initiator(full_i.ticket().unwrap(), b"", [7; 32]).unwrap();
            let mut r = Handshake::resume_responder(full_r.ticket().unwrap(), b"", [8; 32]).unwrap();
            let flip = |m: &mut Vec<u8>| m[bit / 8] ^= 1 << (bit % 8);
            let result = (|| -> Result<()> {
                if msg == 0 { flip(&mut hello) }
                let mut accept = r.handle(&hello)?.unwrap();
                if msg == 1 { flip(&mut accept) }
                let mut finish = i.handle(&accept)?.unwrap();
                if msg == 2 { flip(&mut finish) }
                r.handle(&finish).map(|_| ())
            })();
            assert!(result.is_err(), "flip of bit {bit} in resumption message {msg} went unnoticed");
        }
    }
}

#[test]
fn sealed_tickets_open_only_with_their_key() {
    let (full_i, _) = run(|_, _| {}, b"", b"").unwrap();
    let sealed = full_i.ticket().unwrap().seal(&[9; 32], [1; 12]).unwrap();
    assert_eq!(sealed.len(), SEALED_TICKET_LEN);
    let opened = Ticket::open(&sealed, &[9; 32]).unwrap();
    assert_eq!(opened.id, full_i.ticket().unwrap().id);
    assert_eq!(opened.peer, id(2).public_key());
    assert_eq!(Ticket::open(&sealed, &[8; 32]).err().unwrap().code(), "ERR_L2_AUTH_FAILED");
    let mut bad = sealed.clone();
    bad[20] ^= 1;
    assert_eq!(Ticket::open(&bad, &[9; 32]).err().unwrap().code(), "ERR_L2_AUTH_FAILED");
}
