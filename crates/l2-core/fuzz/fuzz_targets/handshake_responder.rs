//! Message 1 and then message 3 from an untrusted initiator, through `Handshake::responder`
//! (fixed identity and randomness).
//!
//! Input: u16 (big-endian) length of message 1, message 1, then message 3 (see `split2`).
//! Properties: no panic; errors carry a peer-input code; a failed handshake stays failed;
//! message 2 is well formed (and the reference one for the reference message 1); the handshake
//! completes only for an honest (message 1, message 3) pair of the fixtures, since the fuzzer
//! cannot sign or MAC a transcript.
#![no_main]

use l2_core::handshake::messages::{INITIATOR_HELLO_LEN, RESPONDER_AUTH_LEN};
use l2_core::handshake::Handshake;
use l2_core::Error;
use l2_core_fuzz::{genuine, messages, responder, split2, trace, RESPONDER};
use libfuzzer_sys::fuzz_target;

fn assert_failed_for_good(r: &mut Handshake, err: &Error) {
    trace!("failed: {err}");
    assert!(
        matches!(err.code(), "ERR_L2_BAD_INPUT" | "ERR_L2_UNSUPPORTED" | "ERR_L2_AUTH_FAILED"),
        "unexpected error from peer bytes: {err:?}"
    );
    assert!(!r.is_complete());
    assert!(r.take_keys().is_err());
    assert!(matches!(r.handle(&messages().m3), Err(Error::InvalidState { .. })), "a failed handshake must stay failed");
}

fuzz_target!(|data: &[u8]| {
    let (m1, m3) = split2(data);
    let mut r = responder();

    let m2 = match r.handle(m1) {
        Ok(reply) => reply.expect("the responder answers message 1"),
        Err(e) => return assert_failed_for_good(&mut r, &e),
    };
    assert_eq!(m1.len(), INITIATOR_HELLO_LEN);
    assert_eq!(m2.len(), RESPONDER_AUTH_LEN);
    assert_eq!(m2[..4], [2, 1, 1, 0]);
    // Honest handshakes with this message 1 (initiators differing only in identity share it).
    let honest = || genuine().iter().filter(|g| g.responder == RESPONDER && g.m1 == m1);
    for g in honest() {
        assert_eq!(m2, g.m2, "fixed randomness must give the same message 2");
    }
    assert!(!r.is_complete());
    trace!("answered message 1 (honest: {})", honest().count());

    match r.handle(m3) {
        Ok(reply) => {
            assert!(reply.is_none(), "the responder sends nothing after message 3");
            let g = honest()
                .find(|g| g.m3 == m3)
                .expect("responder accepted a message 3 that no honest initiator produced");
            let o = r.outcome().expect("complete");
            trace!("complete with initiator {:?}", g.initiator);
            assert_eq!(o.peer, g.initiator.public_key());
            assert_eq!(o.transcript_hash, g.transcript_hash);
            assert!(r.take_keys().is_ok());
            assert!(r.take_keys().is_err(), "keys are taken once");
            assert!(matches!(r.handle(m3), Err(Error::InvalidState { .. })));
        }
        Err(e) => assert_failed_for_good(&mut r, &e),
    }
});
