//! The hybrid post-quantum handshake (SPEC.md §3): three messages, X-Wing for the key exchange,
//! Ed25519 signatures and finished MACs for mutual authentication, BLAKE3 over the whole
//! transcript. Each step is a state that consumes itself (`initiator::AwaitResponderAuth`,
//! `responder::AwaitInitiatorAuth`); `Handshake` drives them from bytes for callers that hold
//! one object per handshake (the N-API binding).

mod initiator;
pub mod messages;
mod responder;
mod resume;
mod schedule;

pub use initiator::AwaitResponderAuth;
pub use responder::AwaitInitiatorAuth;
pub use resume::{AwaitResumeAccept, AwaitResumeFinish, Ticket, TicketStore, MAX_TICKETS, SEALED_TICKET_LEN};

use crate::frame::{FrameCipher, FrameLimits, TrafficKeys};
use crate::primitives::{ed25519::Identity, random, xwing};
use crate::{Error, Result};
use schedule::HandshakeSecrets;
use zeroize::Zeroizing;

/// Protocol version carried in every handshake message and bound by the transcript.
pub const VERSION: u8 = 1;
/// The only suite: X-Wing, Ed25519, ChaCha20-Poly1305, BLAKE3.
pub const SUITE: u8 = 1;
/// Largest channel-binding value accepted (TLS exporters give 32 bytes).
pub const MAX_CHANNEL_BINDING: usize = 255;

/// Which side of the handshake we are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sent message 1.
    Initiator,
    /// Answered it.
    Responder,
}

/// The initiator's randomness: an ephemeral X-Wing key seed and its transcript nonce.
pub struct InitiatorRandomness {
    /// Seed of the ephemeral X-Wing key pair (fresh per handshake: forward secrecy).
    pub ephemeral_seed: Zeroizing<[u8; 32]>,
    /// Nonce contributed to the transcript.
    pub nonce: [u8; 32],
}

impl InitiatorRandomness {
    /// Fresh values from the OS random source.
    pub fn generate() -> Result<Self> {
        Ok(Self { ephemeral_seed: Zeroizing::new(random()?), nonce: random()? })
    }
}

/// The responder's randomness: X-Wing encapsulation seed and its transcript nonce.
pub struct ResponderRandomness {
    /// X-Wing `eseed` (ML-KEM `m` ‖ X25519 ephemeral secret).
    pub eseed: Zeroizing<[u8; xwing::ESEED_LEN]>,
    /// Nonce contributed to the transcript.
    pub nonce: [u8; 32],
}

impl ResponderRandomness {
    /// Fresh values from the OS random source.
    pub fn generate() -> Result<Self> {
        Ok(Self { eseed: Zeroizing::new(random()?), nonce: random()? })
    }
}

/// What a completed handshake yields. Secrets stay here until moved into a `FrameCipher`.
pub struct Outcome {
    /// Our role.
    pub role: Role,
    /// The peer's authenticated Ed25519 public key.
    pub peer: [u8; 32],
    /// Public identifier of the session, the same on both sides.
    pub session_id: [u8; 16],
    /// Hash of the whole transcript, the same on both sides.
    pub transcript_hash: [u8; 32],
    /// Traffic keys seen from our side; taken (once) by `Handshake::take_keys`.
    pub keys: Option<TrafficKeys>,
    /// Secret for resuming this session later without a new KEM.
    pub resumption_secret: Zeroizing<[u8; 32]>,
}

impl Outcome {
    fn new(role: Role, peer: [u8; 32], secrets: &HandshakeSecrets, transcript_hash: [u8; 32]) -> Self {
        let s = secrets.finish(&transcript_hash);
        Self {
            role,
            peer,
            session_id: s.session_id,
            transcript_hash,
            keys: Some(s.traffic_keys(role == Role::Initiator)),
            resumption_secret: s.resumption.clone(),
        }
    }

}

impl core::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Outcome")
            .field("role", &self.role)
            .field("peer", &crate::did::encode(&self.peer))
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

enum Stage {
    AwaitResponderAuth(AwaitResponderAuth),
    AwaitInitiatorHello { identity: Identity, channel_binding: Vec<u8>, randomness: ResponderRandomness },
    AwaitInitiatorAuth(AwaitInitiatorAuth),
    AwaitResumeAccept(AwaitResumeAccept),
    AwaitResumeHello { ticket: Ticket, channel_binding: Vec<u8>, nonce: [u8; 32] },
    AwaitResumeFinish(AwaitResumeFinish),
    Complete(Box<Outcome>),
    Failed,
}

impl Stage {
    fn name(&self) -> &'static str {
        match self {
            Stage::AwaitResponderAuth(_) => "awaiting responder auth",
            Stage::AwaitInitiatorHello { .. } => "awaiting initiator hello",
            Stage::AwaitInitiatorAuth(_) => "awaiting initiator auth",
            Stage::AwaitResumeAccept(_) => "awaiting resume accept",
            Stage::AwaitResumeHello { .. } => "awaiting resume hello",
            Stage::AwaitResumeFinish(_) => "awaiting resume finish",
            Stage::Complete(_) => "complete",
            Stage::Failed => "failed",
        }
    }
}

/// One handshake driven by bytes: feed each peer message to `handle`, send what it returns.
/// After any error the handshake is failed for good: a retry is a new handshake.
pub struct Handshake {
    stage: Stage,
    resumed: bool,
}

fn check_binding(channel_binding: &[u8]) -> Result<()> {
    if channel_binding.len() > MAX_CHANNEL_BINDING {
        return Err(Error::BadInput(format!("channel binding longer than {MAX_CHANNEL_BINDING} bytes")));
    }
    Ok(())
}

impl Handshake {
    /// Starts as initiator; returns the handshake and message 1. `expected_peer` pins the
    /// responder's identity (anyone else fails authentication).
    pub fn initiator(
        identity: Identity,
        expected_peer: Option<[u8; 32]>,
        channel_binding: &[u8],
        randomness: InitiatorRandomness,
    ) -> Result<(Self, Vec<u8>)> {
        check_binding(channel_binding)?;
        let (state, hello) = initiator::start(identity, expected_peer, channel_binding, randomness);
        Ok((Self { stage: Stage::AwaitResponderAuth(state), resumed: false }, hello))
    }

    /// Starts a resumption (no KEM) from a ticket of an earlier session; returns the resume hello.
    pub fn resume_initiator(ticket: Ticket, channel_binding: &[u8], nonce: [u8; 32]) -> Result<(Self, Vec<u8>)> {
        check_binding(channel_binding)?;
        let (state, hello) = resume::start(ticket, channel_binding, nonce);
        Ok((Self { stage: Stage::AwaitResumeAccept(state), resumed: true }, hello))
    }

    /// Answers a resumption with the ticket the hello names (see `TicketStore::take`).
    pub fn resume_responder(ticket: Ticket, channel_binding: &[u8], nonce: [u8; 32]) -> Result<Self> {
        check_binding(channel_binding)?;
        let stage = Stage::AwaitResumeHello { ticket, channel_binding: channel_binding.to_vec(), nonce };
        Ok(Self { stage, resumed: true })
    }

    /// Starts as responder, waiting for message 1.
    pub fn responder(identity: Identity, channel_binding: &[u8], randomness: ResponderRandomness) -> Result<Self> {
        check_binding(channel_binding)?;
        let stage = Stage::AwaitInitiatorHello { identity, channel_binding: channel_binding.to_vec(), randomness };
        Ok(Self { stage, resumed: false })
    }

    /// Handles the peer's next message; returns the message to send back, if any.
    pub fn handle(&mut self, msg: &[u8]) -> Result<Option<Vec<u8>>> {
        let (next, reply) = match core::mem::replace(&mut self.stage, Stage::Failed) {
            Stage::AwaitResponderAuth(s) => {
                let (outcome, reply) = s.handle(msg)?;
                (Stage::Complete(Box::new(outcome)), Some(reply))
            }
            Stage::AwaitInitiatorHello { identity, channel_binding, randomness } => {
                let (s, reply) = responder::respond(&identity, &channel_binding, msg, &randomness)?;
                (Stage::AwaitInitiatorAuth(s), Some(reply))
            }
            Stage::AwaitInitiatorAuth(s) => (Stage::Complete(Box::new(s.handle(msg)?)), None),
            Stage::AwaitResumeAccept(s) => {
                let (outcome, reply) = s.handle(msg)?;
                (Stage::Complete(Box::new(outcome)), Some(reply))
            }
            Stage::AwaitResumeHello { ticket, channel_binding, nonce } => {
                let (s, reply) = resume::respond(ticket, &channel_binding, msg, nonce)?;
                (Stage::AwaitResumeFinish(s), Some(reply))
            }
            Stage::AwaitResumeFinish(s) => (Stage::Complete(Box::new(s.handle(msg)?)), None),
            done @ (Stage::Complete(_) | Stage::Failed) => {
                let got = done.name();
                self.stage = done;
                return Err(Error::InvalidState { expected: "a handshake in progress", got });
            }
        };
        self.stage = next;
        Ok(reply)
    }

    /// True for a resumption (no KEM), false for a full handshake.
    pub fn is_resumption(&self) -> bool {
        self.resumed
    }

    /// The ticket for resuming this session later (its resumption secret and the peer).
    pub fn ticket(&self) -> Result<Ticket> {
        let o = self.outcome()?;
        Ok(Ticket::new(&o.resumption_secret, o.peer))
    }

    /// True once keys are confirmed on this side.
    pub fn is_complete(&self) -> bool {
        matches!(self.stage, Stage::Complete(_))
    }

    /// Moves the traffic keys out, once: two ciphers with the same keys would reuse nonces.
    pub fn take_keys(&mut self) -> Result<TrafficKeys> {
        match &mut self.stage {
            Stage::Complete(o) => o.keys.take().ok_or(Error::InvalidState { expected: "unused keys", got: "keys already taken" }),
            other => Err(Error::InvalidState { expected: "complete", got: other.name() }),
        }
    }

    /// A frame cipher at epoch 0 with this handshake's keys.
    pub fn frame_cipher(&mut self, limits: FrameLimits) -> Result<FrameCipher> {
        Ok(FrameCipher::new(&self.take_keys()?, limits))
    }

    /// Moves this handshake's keys into an existing cipher as its next epoch (key rotation).
    pub fn install_into(&mut self, cipher: &mut FrameCipher) -> Result<u16> {
        cipher.install(&self.take_keys()?)
    }

    /// The outcome, once complete.
    pub fn outcome(&self) -> Result<&Outcome> {
        match &self.stage {
            Stage::Complete(o) => Ok(o),
            other => Err(Error::InvalidState { expected: "complete", got: other.name() }),
        }
    }
}

#[cfg(test)]
mod tests;
