//! Resumption at the responder: resume hello (R1) and resume finish (R3) from an untrusted
//! initiator, through `TicketStore::take` then `Handshake::resume_responder`, as the binding
//! calls them, with a store holding the real tickets of the fixture sessions (one expired).
//!
//! Input: u16 (big-endian) length of R1, R1, then R3 (see `split2`).
//! Properties: no panic; `take` succeeds exactly for an honest hello (its binder proves the
//! ticket) naming a live ticket, removes an expired ticket it names but leaves a live one in
//! place when the binder is wrong, and never hands a ticket out twice; errors carry
//! the code SPEC.md gives them; R2 is the honest one; the resumption completes only for an
//! honest (R1, R3) pair of the fixtures (the fuzzer cannot compute a binder or finished MAC),
//! and then with the right peer, transcript and session id; a failed resumption stays failed.
#![no_main]

use l2_core::handshake::messages::{RESUME_FINISH_LEN, RESUME_HELLO_LEN};
use l2_core::handshake::Handshake;
use l2_core::Error;
use l2_core_fuzz::{
    assert_failed_for_good, expected_check, genuine, resumptions, split2, stored_ticket, ticket_store, trace, CHANNEL_BINDING,
    NOW_MS, RESUME_NONCE_R,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (r1, r3) = split2(data);
    let mut store = ticket_store();
    let held = store.len();

    let check = expected_check(r1, 4, RESUME_HELLO_LEN);
    let named = check.ok().and_then(|()| stored_ticket(&r1[4..20]));
    let honest_r1 = resumptions().iter().any(|x| x.r1 == r1);
    let ticket = match store.take(r1, CHANNEL_BINDING, NOW_MS) {
        Ok(t) => t,
        Err(e) => {
            trace!("take refused: {e}");
            let want = check.err().unwrap_or("ERR_L2_AUTH_FAILED");
            assert_eq!(e.code(), want, "{e:?}");
            assert!(!(honest_r1 && matches!(named, Some((_, true)))), "refused an honest hello naming a live ticket");
            // Only an expired ticket goes on a refusal; a live one waits for its binder.
            assert_eq!(store.len(), held - matches!(named, Some((_, false))) as usize);
            return;
        }
    };
    assert!(honest_r1, "take accepted a binder no honest initiator computed");
    let (session, live) = named.expect("take handed out a ticket the store does not hold");
    assert!(live, "take handed out an expired ticket");
    assert_eq!(ticket.id[..], r1[4..20]);
    assert_eq!(ticket.peer, genuine()[session].initiator.public_key());
    assert_eq!(store.len(), held - 1);
    assert!(matches!(store.take(r1, CHANNEL_BINDING, NOW_MS), Err(Error::AuthFailed(_))), "a ticket resumes once");

    let mut r = Handshake::resume_responder(ticket, CHANNEL_BINDING, RESUME_NONCE_R).expect("channel binding within limits");
    assert!(r.is_resumption());
    let honest = resumptions().iter().find(|x| x.nonce_r == RESUME_NONCE_R && x.r1 == r1);
    let r2 = match r.handle(r1) {
        Ok(reply) => reply.expect("the responder answers R1"),
        Err(e) => {
            trace!("R1 refused: {e}");
            assert!(honest.is_none(), "refused an honest R1: {e:?}");
            assert_eq!(e.code(), "ERR_L2_AUTH_FAILED", "a hello that named a ticket is well formed: {e:?}");
            return assert_failed_for_good(&mut r, &e);
        }
    };
    let g = honest.expect("accepted an R1 that no honest initiator produced");
    assert_eq!(g.session, session);
    assert_eq!(r2, g.r2, "fixed nonce must give the honest R2");
    assert!(!r.is_complete());
    trace!("answered R1 of session {session}");

    match r.handle(r3) {
        Ok(reply) => {
            assert!(reply.is_none(), "the responder sends nothing after R3");
            assert_eq!(r3, g.r3, "accepted an R3 that no honest initiator produced");
            let o = r.outcome().expect("complete");
            trace!("resumed session {session}");
            assert_eq!(o.peer, genuine()[session].initiator.public_key());
            assert_eq!((o.transcript_hash, o.session_id), (g.transcript_hash, g.session_id));
            assert!(r.take_keys().is_ok());
            assert!(r.take_keys().is_err(), "keys are taken once");
            assert!(matches!(r.handle(r3), Err(Error::InvalidState { .. })));
        }
        Err(e) => {
            trace!("R3 refused: {e}");
            assert_ne!(r3, g.r3, "refused the honest R3: {e:?}");
            assert_eq!(e.code(), expected_check(r3, 6, RESUME_FINISH_LEN).err().unwrap_or("ERR_L2_AUTH_FAILED"), "{e:?}");
            assert_failed_for_good(&mut r, &e);
        }
    }
});
