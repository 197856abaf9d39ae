//! Ed25519 (RFC 8032) signatures through ed25519-dalek.

use crate::{Error, Result};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Public key of the 32-byte secret seed.
pub fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// Signs `message` with the key derived from `seed`.
pub fn sign(seed: &[u8; 32], message: &[u8]) -> [u8; 64] {
    SigningKey::from_bytes(seed).sign(message).to_bytes()
}

/// Verifies `signature` on `message`; `Ok(())` only for a valid signature. Uses the strict check
/// (canonical encodings, no small-order keys or R), so a signature cannot be malleated.
pub fn verify(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Result<()> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| Error::AuthFailed("invalid Ed25519 public key"))?;
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| Error::AuthFailed("invalid Ed25519 signature"))
}

/// A long-term Ed25519 identity held in Rust memory; the seed is zeroised on drop and never
/// printed.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
}

impl Identity {
    /// Identity from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { key: SigningKey::from_bytes(seed) }
    }

    /// A fresh identity from the OS random source.
    pub fn generate() -> Result<Self> {
        let seed = zeroize::Zeroizing::new(super::random::<32>()?);
        Ok(Self::from_seed(&seed))
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The secret seed, for callers that explicitly export it.
    pub fn seed(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.key.to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

impl core::fmt::Debug for Identity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Identity({})", crate::did::encode(&self.public_key()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_tamper() {
        let id = Identity::from_seed(&[3u8; 32]);
        let sig = id.sign(b"hello");
        assert!(verify(&id.public_key(), b"hello", &sig).is_ok());
        assert_eq!(verify(&id.public_key(), b"hellp", &sig).unwrap_err().code(), "ERR_L2_AUTH_FAILED");
    }

    #[test]
    fn debug_shows_no_seed() {
        let id = Identity::from_seed(&[0x41u8; 32]);
        let shown = format!("{id:?}");
        assert!(shown.starts_with("Identity(did:key:z6Mk"));
        assert!(!shown.contains("4141"));
    }
}
