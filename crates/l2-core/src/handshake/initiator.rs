//! The initiator's side: send the hello, then verify the responder and authenticate ourselves.

use super::messages::{self, AuthPayload, MessageType, HEADER_LEN, NONCE_LEN, RESPONDER_CLEAR_LEN};
use super::schedule::{label, HandshakeSecrets, Transcript};
use super::{InitiatorRandomness, Outcome, Role};
use crate::primitives::{aead::AeadKey, ed25519, ed25519::Identity, xwing};
use crate::{Error, Result};

/// Sent the hello; awaiting the responder's authenticated answer.
pub struct AwaitResponderAuth {
    identity: Identity,
    expected_peer: Option<[u8; 32]>,
    ephemeral: xwing::Expanded,
    transcript: Transcript,
}

/// Starts a handshake: returns the state and message 1.
pub fn start(
    identity: Identity,
    expected_peer: Option<[u8; 32]>,
    channel_binding: &[u8],
    randomness: InitiatorRandomness,
) -> (AwaitResponderAuth, Vec<u8>) {
    let ephemeral = xwing::Expanded::from_seed(&randomness.ephemeral_seed);
    let public = ephemeral.public_key();
    let hello = [&messages::header(MessageType::InitiatorHello)[..], &randomness.nonce, &public].concat();
    let mut transcript = Transcript::new(channel_binding);
    transcript.absorb(&hello);
    let state = AwaitResponderAuth { identity, expected_peer, ephemeral, transcript };
    (state, hello)
}

impl AwaitResponderAuth {
    /// Verifies message 2; on success returns the session outcome and message 3.
    pub fn handle(mut self, msg: &[u8]) -> Result<(Outcome, Vec<u8>)> {
        messages::check(msg, MessageType::ResponderAuth)?;
        let ciphertext: &[u8; xwing::CIPHERTEXT_LEN] =
            msg[HEADER_LEN + NONCE_LEN..RESPONDER_CLEAR_LEN].try_into().expect("fixed layout");
        self.transcript.absorb(&msg[..RESPONDER_CLEAR_LEN]);
        let kem_secret = self.ephemeral.decapsulate(ciphertext)?;
        let aad = self.transcript.hash();
        let secrets = HandshakeSecrets::derive(&kem_secret, &aad);

        let mut sealed = msg[RESPONDER_CLEAR_LEN..].to_vec();
        let plain = AeadKey::new(&secrets.responder_key).open_in_place([0; 12], &aad, &mut sealed)?;
        let peer = AuthPayload::decode(plain)?;
        if self.expected_peer.is_some_and(|want| want != peer.identity) {
            return Err(Error::AuthFailed("responder is not the expected peer"));
        }
        self.transcript.absorb(&peer.identity);
        ed25519::verify(&peer.identity, &self.transcript.signed_content(label::RESPONDER_SIGNATURE), &peer.signature)?;
        self.transcript.absorb(&peer.signature);
        if secrets.finished(false, &self.transcript) != blake3::Hash::from(peer.finished) {
            return Err(Error::AuthFailed("responder finished MAC"));
        }
        self.transcript.absorb(&peer.finished);

        let aad = self.transcript.hash();
        let identity = self.identity.public_key();
        self.transcript.absorb(&identity);
        let signature = self.identity.sign(&self.transcript.signed_content(label::INITIATOR_SIGNATURE));
        self.transcript.absorb(&signature);
        let finished = *secrets.finished(true, &self.transcript).as_bytes();
        self.transcript.absorb(&finished);

        let mut payload = AuthPayload { identity, signature, finished }.encode().to_vec();
        let tag = AeadKey::new(&secrets.initiator_key).seal_in_place([0; 12], &aad, &mut payload);
        let reply = [&messages::header(MessageType::InitiatorAuth)[..], &payload, &tag].concat();
        let outcome = Outcome::new(Role::Initiator, peer.identity, &secrets, self.transcript.hash());
        Ok((outcome, reply))
    }
}
