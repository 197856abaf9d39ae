//! Handshake message layouts (SPEC.md §3.2). Every message has a fixed length, so parsing is a
//! header check and slicing; anything else is malformed.

use super::{SUITE, VERSION};
use crate::primitives::{aead::TAG_LEN, xwing};
use crate::{Error, Result};

/// Common header: type, version, suite, reserved (zero).
pub const HEADER_LEN: usize = 4;
/// Random value each side contributes to the transcript.
pub const NONCE_LEN: usize = 32;
/// Sealed identity payload: Ed25519 public key ‖ signature ‖ finished MAC.
pub const AUTH_PAYLOAD_LEN: usize = 32 + 64 + 32;
/// Sealed payload with its tag.
pub const SEALED_AUTH_LEN: usize = AUTH_PAYLOAD_LEN + TAG_LEN;

/// Initiator hello: header ‖ nonce_i ‖ ephemeral X-Wing public key.
pub const INITIATOR_HELLO_LEN: usize = HEADER_LEN + NONCE_LEN + xwing::PUBLIC_KEY_LEN;
/// Responder part of message 2 sent in the clear: header ‖ nonce_r ‖ X-Wing ciphertext.
pub const RESPONDER_CLEAR_LEN: usize = HEADER_LEN + NONCE_LEN + xwing::CIPHERTEXT_LEN;
/// Responder auth: the clear part ‖ sealed responder identity.
pub const RESPONDER_AUTH_LEN: usize = RESPONDER_CLEAR_LEN + SEALED_AUTH_LEN;
/// Initiator auth: header ‖ sealed initiator identity.
pub const INITIATOR_AUTH_LEN: usize = HEADER_LEN + SEALED_AUTH_LEN;
/// Resume hello: header ‖ ticket id ‖ nonce_i ‖ binder.
pub const RESUME_HELLO_LEN: usize = HEADER_LEN + 16 + NONCE_LEN + 32;
/// Resume accept: header ‖ nonce_r ‖ responder finished MAC.
pub const RESUME_ACCEPT_LEN: usize = HEADER_LEN + NONCE_LEN + 32;
/// Resume finish: header ‖ initiator finished MAC.
pub const RESUME_FINISH_LEN: usize = HEADER_LEN + 32;

/// Message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageType {
    /// Message 1, initiator → responder.
    InitiatorHello = 1,
    /// Message 2, responder → initiator.
    ResponderAuth = 2,
    /// Message 3, initiator → responder.
    InitiatorAuth = 3,
    /// Resumption message 1, initiator → responder.
    ResumeHello = 4,
    /// Resumption message 2, responder → initiator.
    ResumeAccept = 5,
    /// Resumption message 3, initiator → responder.
    ResumeFinish = 6,
}

impl MessageType {
    fn len(self) -> usize {
        match self {
            MessageType::InitiatorHello => INITIATOR_HELLO_LEN,
            MessageType::ResponderAuth => RESPONDER_AUTH_LEN,
            MessageType::InitiatorAuth => INITIATOR_AUTH_LEN,
            MessageType::ResumeHello => RESUME_HELLO_LEN,
            MessageType::ResumeAccept => RESUME_ACCEPT_LEN,
            MessageType::ResumeFinish => RESUME_FINISH_LEN,
        }
    }
}

/// The header of a message of type `t`.
pub fn header(t: MessageType) -> [u8; HEADER_LEN] {
    [t as u8, VERSION, SUITE, 0]
}

/// Checks header and length of a message expected to be of type `t`.
pub fn check(bytes: &[u8], t: MessageType) -> Result<()> {
    let malformed = |reason| Error::Malformed { what: "handshake message", reason };
    if bytes.len() < HEADER_LEN {
        return Err(malformed("truncated header"));
    }
    if bytes[1] != VERSION {
        return Err(Error::Unsupported { what: "protocol version", value: bytes[1] });
    }
    if bytes[2] != SUITE {
        return Err(Error::Unsupported { what: "cipher suite", value: bytes[2] });
    }
    if bytes[0] != t as u8 {
        return Err(malformed("unexpected message type"));
    }
    if bytes[3] != 0 {
        return Err(malformed("reserved byte is not zero"));
    }
    if bytes.len() != t.len() {
        return Err(malformed("wrong length"));
    }
    Ok(())
}

/// The opened identity payload of message 2 or 3.
pub struct AuthPayload {
    pub identity: [u8; 32],
    pub signature: [u8; 64],
    pub finished: [u8; 32],
}

impl AuthPayload {
    /// Serialises the payload.
    pub fn encode(&self) -> [u8; AUTH_PAYLOAD_LEN] {
        let mut out = [0u8; AUTH_PAYLOAD_LEN];
        out[..32].copy_from_slice(&self.identity);
        out[32..96].copy_from_slice(&self.signature);
        out[96..].copy_from_slice(&self.finished);
        out
    }

    /// Parses an opened payload (its length was fixed by the message check).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != AUTH_PAYLOAD_LEN {
            return Err(Error::Malformed { what: "handshake payload", reason: "wrong length" });
        }
        Ok(Self {
            identity: bytes[..32].try_into().expect("32"),
            signature: bytes[32..96].try_into().expect("64"),
            finished: bytes[96..].try_into().expect("32"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(INITIATOR_HELLO_LEN, 1252);
        assert_eq!(RESPONDER_AUTH_LEN, 1300);
        assert_eq!(INITIATOR_AUTH_LEN, 148);
        assert_eq!((RESUME_HELLO_LEN, RESUME_ACCEPT_LEN, RESUME_FINISH_LEN), (84, 68, 36));
    }

    #[test]
    fn header_checks() {
        let mut m = vec![0u8; INITIATOR_AUTH_LEN];
        m[..4].copy_from_slice(&header(MessageType::InitiatorAuth));
        assert!(check(&m, MessageType::InitiatorAuth).is_ok());
        assert!(check(&m, MessageType::InitiatorHello).is_err());
        assert!(check(&m[..100], MessageType::InitiatorAuth).is_err());
        m[1] = 9;
        assert_eq!(check(&m, MessageType::InitiatorAuth).unwrap_err().code(), "ERR_L2_UNSUPPORTED");
        m[1] = VERSION;
        m[3] = 1;
        assert_eq!(check(&m, MessageType::InitiatorAuth).unwrap_err().code(), "ERR_L2_BAD_INPUT");
    }
}
