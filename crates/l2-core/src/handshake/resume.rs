//! Resumption (SPEC.md §3.5): one round trip from the resumption secret of an earlier session,
//! no KEM. Each side proves it holds the secret with a finished MAC over a fresh transcript;
//! the traffic keys come from the secret and both nonces, so they are new for every resumption.

use super::messages::{self, MessageType, HEADER_LEN, NONCE_LEN};
use super::schedule::{kdf, label, HandshakeSecrets, Transcript};
use super::{Outcome, Role};
use crate::{Error, Result};
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Ticket identifier length.
pub const TICKET_ID_LEN: usize = 16;
/// Length of a sealed ticket (`Ticket::seal`).
pub const SEALED_TICKET_LEN: usize = 1 + 12 + 64 + 16;
const SEALED_TICKET_VERSION: u8 = 1;
const SEALED_TICKET_AAD: &[u8] = b"l2-session v1 2026-11 sealed resumption ticket";

/// What resuming needs: the secret and whom it was shared with.
pub struct Ticket {
    /// Public identifier, derived from the secret, that the responder looks the ticket up by.
    pub id: [u8; TICKET_ID_LEN],
    psk: Zeroizing<[u8; 32]>,
    /// The peer's authenticated Ed25519 key from the session that made the ticket.
    pub peer: [u8; 32],
}

impl Ticket {
    /// The ticket of a completed handshake.
    pub fn new(psk: &[u8; 32], peer: [u8; 32]) -> Self {
        let id = kdf(label::RESUMPTION_TICKET_ID, &[psk]);
        Self { id: id[..TICKET_ID_LEN].try_into().expect("16 bytes"), psk: Zeroizing::new(*psk), peer }
    }

    /// Seals the ticket under a caller's 32-byte key for storage at rest.
    pub fn seal(&self, key: &[u8], nonce: [u8; 12]) -> Result<Vec<u8>> {
        let plain = Zeroizing::new([&self.psk[..], &self.peer].concat());
        let sealed = crate::primitives::aead::seal(key, &nonce, &plain, SEALED_TICKET_AAD)?;
        Ok([&[SEALED_TICKET_VERSION][..], &nonce, &sealed].concat())
    }

    /// Opens a sealed ticket; a wrong key or altered bytes fail authentication.
    pub fn open(sealed: &[u8], key: &[u8]) -> Result<Self> {
        if sealed.len() != SEALED_TICKET_LEN || sealed[0] != SEALED_TICKET_VERSION {
            return Err(Error::BadInput("not a sealed resumption ticket".into()));
        }
        let plain = Zeroizing::new(crate::primitives::aead::open(key, &sealed[1..13], &sealed[13..], SEALED_TICKET_AAD)?);
        let psk = Zeroizing::new(plain[..32].try_into().expect("32 bytes"));
        Ok(Self::new(&psk, plain[32..].try_into().expect("32 bytes")))
    }
}

/// The responder's tickets, single use, each until its expiry (the session TTL).
#[derive(Default)]
pub struct TicketStore {
    tickets: HashMap<[u8; TICKET_ID_LEN], (Ticket, u64)>,
}

/// Tickets kept at most; a full store drops expired ones, then refuses new ones.
pub const MAX_TICKETS: usize = 100_000;

impl TicketStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `ticket` until `expires_at` (ms, the caller's clock).
    pub fn insert(&mut self, ticket: Ticket, expires_at: u64, now: u64) -> Result<()> {
        if self.tickets.len() >= MAX_TICKETS {
            self.tickets.retain(|_, (_, exp)| *exp > now);
        }
        if self.tickets.len() >= MAX_TICKETS {
            return Err(Error::Limit("resumption ticket store full"));
        }
        self.tickets.insert(ticket.id, (ticket, expires_at));
        Ok(())
    }

    /// Removes and returns the live ticket named by a resume hello whose binder proves the
    /// ticket's secret on this channel; each ticket resumes once. A hello with a wrong binder
    /// leaves the ticket in place: ticket ids travel in the clear, and knowing one must not be
    /// enough to use it up. Expired tickets go whenever they are named.
    pub fn take(&mut self, hello: &[u8], channel_binding: &[u8], now: u64) -> Result<Ticket> {
        messages::check(hello, MessageType::ResumeHello)?;
        let id: [u8; TICKET_ID_LEN] = hello[HEADER_LEN..HEADER_LEN + TICKET_ID_LEN].try_into().expect("fixed layout");
        match self.tickets.get(&id) {
            Some((_, exp)) if *exp <= now => {
                self.tickets.remove(&id);
                Err(Error::AuthFailed("unknown or expired resumption ticket"))
            }
            Some((t, _)) if binder_ok(t, channel_binding, hello) => Ok(self.tickets.remove(&id).expect("just found").0),
            Some(_) => Err(Error::AuthFailed("resumption binder")),
            None => Err(Error::AuthFailed("unknown or expired resumption ticket")),
        }
    }

    /// Tickets held.
    pub fn len(&self) -> usize {
        self.tickets.len()
    }

    /// True when no ticket is held.
    pub fn is_empty(&self) -> bool {
        self.tickets.is_empty()
    }
}

fn binder(psk: &[u8; 32], transcript: &Transcript) -> blake3::Hash {
    blake3::keyed_hash(&kdf(label::RESUMPTION_BINDER, &[psk]), &transcript.hash())
}

const BINDER_AT: usize = HEADER_LEN + TICKET_ID_LEN + NONCE_LEN;

/// True when a (well-formed) resume hello carries `ticket`'s binder over this channel.
fn binder_ok(ticket: &Ticket, channel_binding: &[u8], hello: &[u8]) -> bool {
    let mut transcript = Transcript::new(channel_binding);
    transcript.absorb(&hello[..BINDER_AT]);
    // blake3::Hash compares in constant time.
    binder(&ticket.psk, &transcript) == blake3::Hash::from(<[u8; 32]>::try_from(&hello[BINDER_AT..]).expect("32"))
}

/// Sent the resume hello; awaiting the responder's finished MAC.
pub struct AwaitResumeAccept {
    ticket: Ticket,
    transcript: Transcript,
}

/// Starts a resumption: returns the state and the resume hello.
pub fn start(ticket: Ticket, channel_binding: &[u8], nonce: [u8; NONCE_LEN]) -> (AwaitResumeAccept, Vec<u8>) {
    let mut transcript = Transcript::new(channel_binding);
    let head = [&messages::header(MessageType::ResumeHello)[..], &ticket.id, &nonce].concat();
    transcript.absorb(&head);
    let hello = [&head[..], binder(&ticket.psk, &transcript).as_bytes()].concat();
    transcript.absorb(&hello[head.len()..]);
    (AwaitResumeAccept { ticket, transcript }, hello)
}

impl AwaitResumeAccept {
    /// Verifies the responder's answer; returns the outcome and the resume finish.
    pub fn handle(mut self, msg: &[u8]) -> Result<(Outcome, Vec<u8>)> {
        messages::check(msg, MessageType::ResumeAccept)?;
        let clear = HEADER_LEN + NONCE_LEN;
        self.transcript.absorb(&msg[..clear]);
        let secrets = HandshakeSecrets::derive_resumed(&self.ticket.psk, &self.transcript.hash());
        if secrets.finished(false, &self.transcript) != blake3::Hash::from(<[u8; 32]>::try_from(&msg[clear..]).expect("32")) {
            return Err(Error::AuthFailed("resumption finished MAC"));
        }
        self.transcript.absorb(&msg[clear..]);
        let finished = *secrets.finished(true, &self.transcript).as_bytes();
        self.transcript.absorb(&finished);
        let reply = [&messages::header(MessageType::ResumeFinish)[..], &finished].concat();
        Ok((Outcome::new(Role::Initiator, self.ticket.peer, &secrets, self.transcript.hash()), reply))
    }
}

/// Answered a resume hello; awaiting the initiator's finished MAC.
pub struct AwaitResumeFinish {
    peer: [u8; 32],
    secrets: HandshakeSecrets,
    transcript: Transcript,
}

/// Answers a resume hello with `ticket` (from `TicketStore::take`).
pub fn respond(ticket: Ticket, channel_binding: &[u8], hello: &[u8], nonce: [u8; NONCE_LEN]) -> Result<(AwaitResumeFinish, Vec<u8>)> {
    messages::check(hello, MessageType::ResumeHello)?;
    if hello[HEADER_LEN..HEADER_LEN + TICKET_ID_LEN] != ticket.id {
        return Err(Error::AuthFailed("resume hello names another ticket"));
    }
    if !binder_ok(&ticket, channel_binding, hello) {
        return Err(Error::AuthFailed("resumption binder"));
    }
    let mut transcript = Transcript::new(channel_binding);
    transcript.absorb(hello);
    let clear = [&messages::header(MessageType::ResumeAccept)[..], &nonce].concat();
    transcript.absorb(&clear);
    let secrets = HandshakeSecrets::derive_resumed(&ticket.psk, &transcript.hash());
    let finished = *secrets.finished(false, &transcript).as_bytes();
    transcript.absorb(&finished);
    let reply = [&clear[..], &finished].concat();
    Ok((AwaitResumeFinish { peer: ticket.peer, secrets, transcript }, reply))
}

impl AwaitResumeFinish {
    /// Verifies the initiator's finished MAC; the session is resumed.
    pub fn handle(mut self, msg: &[u8]) -> Result<Outcome> {
        messages::check(msg, MessageType::ResumeFinish)?;
        if self.secrets.finished(true, &self.transcript) != blake3::Hash::from(<[u8; 32]>::try_from(&msg[HEADER_LEN..]).expect("32")) {
            return Err(Error::AuthFailed("resumption finished MAC"));
        }
        self.transcript.absorb(&msg[HEADER_LEN..]);
        Ok(Outcome::new(Role::Responder, self.peer, &self.secrets, self.transcript.hash()))
    }
}
