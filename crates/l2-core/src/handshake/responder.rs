//! The responder's side: answer the hello with a KEM ciphertext and our signed identity, then
//! verify the initiator's.

use super::messages::{self, AuthPayload, MessageType, HEADER_LEN, NONCE_LEN};
use super::schedule::{label, HandshakeSecrets, Transcript};
use super::{Outcome, ResponderRandomness, Role};
use crate::primitives::{aead::AeadKey, ed25519, ed25519::Identity, xwing};
use crate::{Error, Result};

/// Sent message 2; awaiting the initiator's authentication.
pub struct AwaitInitiatorAuth {
    secrets: HandshakeSecrets,
    transcript: Transcript,
}

/// Answers message 1: returns the state and message 2.
pub fn respond(
    identity: &Identity,
    channel_binding: &[u8],
    hello: &[u8],
    randomness: &ResponderRandomness,
) -> Result<(AwaitInitiatorAuth, Vec<u8>)> {
    messages::check(hello, MessageType::InitiatorHello)?;
    let ephemeral: &[u8; xwing::PUBLIC_KEY_LEN] = hello[HEADER_LEN + NONCE_LEN..].try_into().expect("fixed layout");
    let mut transcript = Transcript::new(channel_binding);
    transcript.absorb(hello);
    let (ciphertext, kem_secret) = xwing::encapsulate_with(ephemeral, &randomness.eseed)?;
    let clear = [&messages::header(MessageType::ResponderAuth)[..], &randomness.nonce, &ciphertext].concat();
    transcript.absorb(&clear);
    let aad = transcript.hash();
    let secrets = HandshakeSecrets::derive(&kem_secret, &aad);

    let own = identity.public_key();
    transcript.absorb(&own);
    let signature = identity.sign(&transcript.signed_content(label::RESPONDER_SIGNATURE));
    transcript.absorb(&signature);
    let finished = *secrets.finished(false, &transcript).as_bytes();
    transcript.absorb(&finished);

    let mut payload = AuthPayload { identity: own, signature, finished }.encode().to_vec();
    let tag = AeadKey::new(&secrets.responder_key).seal_in_place([0; 12], &aad, &mut payload);
    let reply = [&clear[..], &payload, &tag].concat();
    Ok((AwaitInitiatorAuth { secrets, transcript }, reply))
}

impl AwaitInitiatorAuth {
    /// Verifies message 3; on success the session is established.
    pub fn handle(mut self, msg: &[u8]) -> Result<Outcome> {
        messages::check(msg, MessageType::InitiatorAuth)?;
        let aad = self.transcript.hash();
        let mut sealed = msg[HEADER_LEN..].to_vec();
        let plain = AeadKey::new(&self.secrets.initiator_key).open_in_place([0; 12], &aad, &mut sealed)?;
        let peer = AuthPayload::decode(plain)?;
        self.transcript.absorb(&peer.identity);
        ed25519::verify(&peer.identity, &self.transcript.signed_content(label::INITIATOR_SIGNATURE), &peer.signature)?;
        self.transcript.absorb(&peer.signature);
        if self.secrets.finished(true, &self.transcript) != blake3::Hash::from(peer.finished) {
            return Err(Error::AuthFailed("initiator finished MAC"));
        }
        self.transcript.absorb(&peer.finished);
        Ok(Outcome::new(Role::Responder, peer.identity, &self.secrets, self.transcript.hash()))
    }
}
