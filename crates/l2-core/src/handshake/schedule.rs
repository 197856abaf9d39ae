//! Transcript hash and key schedule (SPEC.md §3.4). Every derivation is BLAKE3 in derive-key
//! mode with its own context string, over fixed-length inputs, so no two uses can collide.

use crate::frame::TrafficKeys;
use zeroize::{Zeroize, Zeroizing};

/// Context strings, one per derived value. Changing any of them is a new protocol version.
pub(crate) mod label {
    pub const TRANSCRIPT: &str = "l2-session v1 2026-11 transcript";
    pub const HANDSHAKE_SECRET: &str = "l2-session v1 2026-11 handshake secret";
    pub const RESPONDER_HANDSHAKE_KEY: &str = "l2-session v1 2026-11 responder handshake key";
    pub const INITIATOR_HANDSHAKE_KEY: &str = "l2-session v1 2026-11 initiator handshake key";
    pub const RESPONDER_FINISHED: &str = "l2-session v1 2026-11 responder finished";
    pub const INITIATOR_FINISHED: &str = "l2-session v1 2026-11 initiator finished";
    pub const MASTER_SECRET: &str = "l2-session v1 2026-11 master secret";
    pub const INITIATOR_TO_RESPONDER: &str = "l2-session v1 2026-11 initiator to responder traffic";
    pub const RESPONDER_TO_INITIATOR: &str = "l2-session v1 2026-11 responder to initiator traffic";
    pub const RESUMPTION: &str = "l2-session v1 2026-11 resumption";
    pub const RESUMPTION_TICKET_ID: &str = "l2-session v1 2026-11 resumption ticket id";
    pub const RESUMPTION_BINDER: &str = "l2-session v1 2026-11 resumption binder";
    pub const RESUMED_HANDSHAKE_SECRET: &str = "l2-session v1 2026-11 resumed handshake secret";
    pub const SESSION_ID: &str = "l2-session v1 2026-11 session id";
    /// Prefixes of the signed content (with the transcript hash appended).
    pub const RESPONDER_SIGNATURE: &[u8] = b"l2-session v1 2026-11 responder signature\0";
    pub const INITIATOR_SIGNATURE: &[u8] = b"l2-session v1 2026-11 initiator signature\0";
}

/// BLAKE3 derive-key over the concatenation of `parts`.
pub(crate) fn kdf(context: &str, parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
    let mut h = blake3::Hasher::new_derive_key(context);
    for p in parts {
        h.update(p);
    }
    let out = Zeroizing::new(*h.finalize().as_bytes());
    h.zeroize();
    out
}

/// Running hash of everything both sides saw, starting with the channel binding.
#[derive(Clone)]
pub(crate) struct Transcript(blake3::Hasher);

impl Transcript {
    /// Starts the transcript with the channel binding (the transport's TLS exporter value, or
    /// empty), length-prefixed so "no binding" differs from any binding.
    pub fn new(channel_binding: &[u8]) -> Self {
        let mut h = blake3::Hasher::new_derive_key(label::TRANSCRIPT);
        h.update(&(channel_binding.len() as u16).to_be_bytes());
        h.update(channel_binding);
        Self(h)
    }

    /// Appends bytes (all absorbed items have fixed lengths, so plain concatenation is unambiguous).
    pub fn absorb(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The hash so far.
    pub fn hash(&self) -> [u8; 32] {
        *self.0.finalize().as_bytes()
    }

    /// Signed content: a role-specific prefix and the transcript hash.
    pub fn signed_content(&self, prefix: &[u8]) -> Vec<u8> {
        [prefix, &self.hash()].concat()
    }
}

/// Secrets of the handshake phase, derived once the KEM secret and the transcript up to the
/// KEM ciphertext are known.
pub(crate) struct HandshakeSecrets {
    secret: Zeroizing<[u8; 32]>,
    pub responder_key: Zeroizing<[u8; 32]>,
    pub initiator_key: Zeroizing<[u8; 32]>,
    responder_finished: Zeroizing<[u8; 32]>,
    initiator_finished: Zeroizing<[u8; 32]>,
}

impl HandshakeSecrets {
    /// HS = KDF(handshake secret; X-Wing secret ‖ transcript hash).
    pub fn derive(kem_secret: &[u8; 32], transcript_hash: &[u8; 32]) -> Self {
        Self::from_secret(kdf(label::HANDSHAKE_SECRET, &[kem_secret, transcript_hash]))
    }

    /// HS of a resumption = KDF(resumed handshake secret; resumption secret ‖ transcript hash).
    pub fn derive_resumed(resumption_secret: &[u8; 32], transcript_hash: &[u8; 32]) -> Self {
        Self::from_secret(kdf(label::RESUMED_HANDSHAKE_SECRET, &[resumption_secret, transcript_hash]))
    }

    fn from_secret(secret: Zeroizing<[u8; 32]>) -> Self {
        Self {
            responder_key: kdf(label::RESPONDER_HANDSHAKE_KEY, &[&secret[..]]),
            initiator_key: kdf(label::INITIATOR_HANDSHAKE_KEY, &[&secret[..]]),
            responder_finished: kdf(label::RESPONDER_FINISHED, &[&secret[..]]),
            initiator_finished: kdf(label::INITIATOR_FINISHED, &[&secret[..]]),
            secret,
        }
    }

    /// Finished MAC of a role over the transcript so far.
    pub fn finished(&self, initiator: bool, transcript: &Transcript) -> blake3::Hash {
        let key = if initiator { &self.initiator_finished } else { &self.responder_finished };
        blake3::keyed_hash(key, &transcript.hash())
    }

    /// Traffic keys, resumption secret and session id from the complete transcript.
    pub fn finish(&self, final_hash: &[u8; 32]) -> SessionSecrets {
        let master = kdf(label::MASTER_SECRET, &[&self.secret[..], final_hash]);
        let id = kdf(label::SESSION_ID, &[&master[..]]);
        SessionSecrets {
            initiator_to_responder: kdf(label::INITIATOR_TO_RESPONDER, &[&master[..]]),
            responder_to_initiator: kdf(label::RESPONDER_TO_INITIATOR, &[&master[..]]),
            resumption: kdf(label::RESUMPTION, &[&master[..]]),
            session_id: id[..16].try_into().expect("16 bytes"),
        }
    }
}

/// What the key schedule hands to the established session.
pub(crate) struct SessionSecrets {
    pub initiator_to_responder: Zeroizing<[u8; 32]>,
    pub responder_to_initiator: Zeroizing<[u8; 32]>,
    pub resumption: Zeroizing<[u8; 32]>,
    pub session_id: [u8; 16],
}

impl SessionSecrets {
    /// The traffic keys seen from one side.
    pub fn traffic_keys(&self, initiator: bool) -> TrafficKeys {
        let (send, recv) = if initiator {
            (&self.initiator_to_responder, &self.responder_to_initiator)
        } else {
            (&self.responder_to_initiator, &self.initiator_to_responder)
        };
        TrafficKeys { send: send.clone(), recv: recv.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_binding_changes_the_transcript() {
        assert_ne!(Transcript::new(b"").hash(), Transcript::new(b"x").hash());
        assert_ne!(Transcript::new(b"a").hash(), Transcript::new(b"b").hash());
    }

    #[test]
    fn every_output_is_distinct() {
        let hs = HandshakeSecrets::derive(&[1; 32], &[2; 32]);
        let s = hs.finish(&[3; 32]);
        let all = [&*hs.responder_key, &*hs.initiator_key, &*s.initiator_to_responder, &*s.responder_to_initiator, &*s.resumption];
        for i in 0..all.len() {
            for j in i + 1..all.len() {
                assert_ne!(all[i], all[j]);
            }
        }
    }
}
