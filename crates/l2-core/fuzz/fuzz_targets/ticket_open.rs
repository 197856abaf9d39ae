//! Stored-session import: `Ticket::open`, the Rust side of resuming from
//! `session.export(key)`, on an untrusted sealed ticket and key, then the resume hello it gives.
//!
//! Input: one byte choosing the key (0: `TICKET_KEY`, 1: `OTHER_TICKET_KEY`, otherwise a key of
//! `byte / 3 % 64` bytes, the wrong length unless 32), then the sealed ticket.
//! Properties: no panic; malformed tickets and wrong-length keys are `ERR_L2_BAD_INPUT`; a
//! ticket opens exactly when it is one the fixtures sealed under that key (anything else is
//! `ERR_L2_AUTH_FAILED`); an opened ticket names the right peer, reseals to the same bytes and
//! resumes with the honest resume hello of its session.
#![no_main]

use l2_core::handshake::{Handshake, Ticket, SEALED_TICKET_LEN};
use l2_core_fuzz::{resumptions, sealed_tickets, trace, CHANNEL_BINDING, OTHER_TICKET_KEY, RESUME_NONCE_I, RESUME_NONCE_R, TICKET_KEY};
use libfuzzer_sys::fuzz_target;

/// Source of the odd-length keys.
const KEY_BYTES: [u8; 64] = [0x5e; 64];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, sealed)) = data.split_first() else { return };
    let key: &[u8] = match choice % 3 {
        0 => &TICKET_KEY,
        1 => &OTHER_TICKET_KEY,
        _ => &KEY_BYTES[..(choice / 3) as usize % 64],
    };
    // SPEC.md §3.5: version 1 ‖ nonce (12) ‖ sealed psk ‖ peer ‖ tag.
    let well_formed = sealed.len() == SEALED_TICKET_LEN && sealed[0] == 1;
    let genuine = sealed_tickets().iter().find(|t| t.key[..] == *key && t.bytes == sealed);

    match Ticket::open(sealed, key) {
        Ok(ticket) => {
            let g = genuine.expect("opened a ticket the fixtures never sealed under this key");
            trace!("opened a ticket of session {}", g.session);
            assert_eq!(ticket.peer, g.peer);
            let nonce: [u8; 12] = sealed[1..13].try_into().unwrap();
            assert_eq!(ticket.seal(key, nonce).unwrap(), sealed, "reseal round trip");
            let again = Ticket::open(sealed, key).unwrap();
            assert_eq!((again.id, again.peer), (ticket.id, ticket.peer));
            let (_, hello) = Handshake::resume_initiator(ticket, CHANNEL_BINDING, RESUME_NONCE_I).unwrap();
            let honest = resumptions()
                .iter()
                .find(|x| x.session == g.session && x.nonce_i == RESUME_NONCE_I && x.nonce_r == RESUME_NONCE_R)
                .expect("every session has a reference resumption");
            assert_eq!(hello, honest.r1);
        }
        Err(e) => {
            trace!("refused: {e}");
            assert!(genuine.is_none(), "refused a genuine ticket: {e:?}");
            let want = if !well_formed || key.len() != 32 { "ERR_L2_BAD_INPUT" } else { "ERR_L2_AUTH_FAILED" };
            assert_eq!(e.code(), want, "{e:?}");
        }
    }
});
