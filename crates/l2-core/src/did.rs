//! `did:key` for Ed25519 (W3C did:key method): `did:key:z` + base58btc(0xed 0x01 ‖ key).

use crate::{Error, Result};

/// Multicodec prefix of an Ed25519 public key (varint 0xed).
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];
const PREFIX: &str = "did:key:z";

/// The `did:key` naming an Ed25519 public key.
pub fn encode(public_key: &[u8; 32]) -> String {
    let mut bytes = [0u8; 34];
    bytes[..2].copy_from_slice(&ED25519_MULTICODEC);
    bytes[2..].copy_from_slice(public_key);
    format!("{PREFIX}{}", bs58::encode(bytes).into_string())
}

/// The Ed25519 public key named by a `did:key`. Other DID methods and malformed keys are bad
/// input here: the TypeScript resolver turns other methods into keys before they reach the core.
pub fn decode(did: &str) -> Result<[u8; 32]> {
    if !did.starts_with("did:") || did.len() > 128 {
        return Err(Error::BadInput("not a DID".into()));
    }
    let Some(encoded) = did.strip_prefix(PREFIX) else {
        return Err(Error::BadInput("only did:key (base58btc, Ed25519) is resolved without a resolver".into()));
    };
    let bytes = bs58::decode(encoded).into_vec().map_err(|_| Error::BadInput("did:key is not valid base58btc".into()))?;
    if bytes.len() != 34 || bytes[..2] != ED25519_MULTICODEC {
        return Err(Error::BadInput("did:key does not hold an Ed25519 public key".into()));
    }
    Ok(bytes[2..].try_into().expect("32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let pk = crate::primitives::ed25519::public_key(&[1; 32]);
        let did = encode(&pk);
        assert!(did.starts_with("did:key:z6Mk"));
        assert_eq!(decode(&did).unwrap(), pk);
    }

    #[test]
    fn known_did_key_from_the_w3c_spec() {
        // Example from the did:key specification (Ed25519 test vector).
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let pk = decode(did).unwrap();
        assert_eq!(encode(&pk), did);
    }

    #[test]
    fn rejects_other_methods_and_junk() {
        for bad in ["did:web:example.com", "did:key:z0OIl", "did:key:zabc", "hello", "did:key:z6Mk"] {
            assert_eq!(decode(bad).unwrap_err().code(), "ERR_L2_BAD_INPUT", "{bad}");
        }
    }
}
