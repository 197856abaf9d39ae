//! Message 2 from an untrusted responder, to an initiator that sent a real message 1 (fixed
//! identity and randomness).
//!
//! Input: one mode byte (bit 0 set: no expected peer; clear: the responder's key is pinned),
//! then message 2.
//! Properties: no panic; errors carry a peer-input code; a failed handshake stays failed; only
//! an honest message 2 of the fixtures is accepted (the fuzzer cannot sign or MAC), only from
//! the pinned peer when one is pinned, and then message 3 and the outcome are the honest ones.
#![no_main]

use l2_core::handshake::messages::INITIATOR_AUTH_LEN;
use l2_core::Error;
use l2_core_fuzz::{genuine, initiator, messages, trace, INITIATOR, RESPONDER};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, m2)) = data.split_first() else { return };
    let pinned = mode & 1 == 0;
    let (mut i, m1) = initiator(pinned.then(|| RESPONDER.public_key()));
    assert_eq!(m1, messages().m1);

    match i.handle(m2) {
        Ok(reply) => {
            let m3 = reply.expect("the initiator answers message 2");
            let g = genuine()
                .iter()
                .find(|g| g.initiator == INITIATOR && g.m2 == m2)
                .expect("initiator accepted a message 2 that no honest responder produced");
            assert!(!pinned || g.responder.identity == RESPONDER.identity, "accepted a responder other than the pinned one");
            assert_eq!(m3.len(), INITIATOR_AUTH_LEN);
            assert_eq!(m3, g.m3);
            let o = i.outcome().expect("complete");
            trace!("complete with responder {:?} (pinned: {pinned})", g.responder);
            assert_eq!(o.peer, g.responder.public_key());
            assert_eq!(o.transcript_hash, g.transcript_hash);
            assert!(i.take_keys().is_ok());
            assert!(matches!(i.handle(m2), Err(Error::InvalidState { .. })));
        }
        Err(e) => {
            trace!("failed (pinned: {pinned}): {e}");
            assert!(
                matches!(e.code(), "ERR_L2_BAD_INPUT" | "ERR_L2_UNSUPPORTED" | "ERR_L2_AUTH_FAILED"),
                "unexpected error from peer bytes: {e:?}"
            );
            assert!(!i.is_complete());
            assert!(i.take_keys().is_err());
            assert!(matches!(i.handle(m2), Err(Error::InvalidState { .. })), "a failed handshake must stay failed");
        }
    }
});
