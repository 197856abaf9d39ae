//! Resumption at the initiator: the resume accept (R2) from an untrusted responder, to an
//! initiator resuming a fixture session from its sealed ticket (`Ticket::open`, then
//! `Handshake::resume_initiator`, as the binding does).
//!
//! Input: one byte choosing the fixture session (modulo their count), then R2.
//! Properties: no panic; R1 is the honest one; errors carry the code SPEC.md gives them; a failed
//! resumption stays failed; only an honest R2 of the fixtures for this session is accepted (the
//! fuzzer cannot compute a finished MAC), every honest one is, and then R3, the peer, the
//! transcript and the session id are the honest ones.
#![no_main]

use l2_core::handshake::messages::{RESUME_ACCEPT_LEN, RESUME_FINISH_LEN};
use l2_core::handshake::Handshake;
use l2_core::Error;
use l2_core_fuzz::{assert_failed_for_good, expected_check, genuine, open_ticket, resumptions, trace, CHANNEL_BINDING, RESUME_NONCE_I};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, r2)) = data.split_first() else { return };
    let session = choice as usize % genuine().len();
    let g = &genuine()[session];
    let (mut i, r1) =
        Handshake::resume_initiator(open_ticket(&g.initiator_ticket), CHANNEL_BINDING, RESUME_NONCE_I).expect("channel binding within limits");
    assert!(i.is_resumption());
    let honest = || resumptions().iter().filter(|x| x.session == session && x.nonce_i == RESUME_NONCE_I);
    assert!(honest().count() > 0 && honest().all(|x| x.r1 == r1), "fixed nonce must give the honest R1");

    match i.handle(r2) {
        Ok(reply) => {
            let r3 = reply.expect("the initiator answers R2");
            let x = honest().find(|x| x.r2 == r2).expect("accepted an R2 that no honest responder produced");
            trace!("resumed session {session}");
            assert_eq!(r3.len(), RESUME_FINISH_LEN);
            assert_eq!(r3, x.r3);
            let o = i.outcome().expect("complete");
            assert_eq!(o.peer, g.responder.public_key());
            assert_eq!((o.transcript_hash, o.session_id), (x.transcript_hash, x.session_id));
            assert!(i.take_keys().is_ok());
            assert!(i.take_keys().is_err(), "keys are taken once");
            assert!(matches!(i.handle(r2), Err(Error::InvalidState { .. })));
        }
        Err(e) => {
            trace!("R2 refused (session {session}): {e}");
            assert!(honest().all(|x| x.r2 != r2), "refused an honest R2: {e:?}");
            assert_eq!(e.code(), expected_check(r2, 5, RESUME_ACCEPT_LEN).err().unwrap_or("ERR_L2_AUTH_FAILED"), "{e:?}");
            assert_failed_for_good(&mut i, &e);
        }
    }
});
