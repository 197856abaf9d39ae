//! Ed25519 (RFC 8032) signatures through ed25519-dalek.

use crate::{Error, Result};
use aws_lc_rs::signature::Ed25519KeyPair;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use std::sync::Arc;

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
/// printed. Signing goes through AWS-LC's key (half the time of ed25519-dalek's here, 7.5 vs
/// 14 us, and the same bytes: RFC 8032 signatures are deterministic); dalek's key gives the
/// public key and the seed export.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
    /// Shared by clones (one per handshake); AWS-LC cleanses the key when the last one drops.
    signer: Arc<Ed25519KeyPair>,
}

impl Identity {
    /// Identity from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        // Any 32 bytes are a valid Ed25519 seed; only an allocation failure inside AWS-LC stops this.
        let signer = Ed25519KeyPair::from_seed_unchecked(seed).expect("AWS-LC Ed25519 key from a 32-byte seed");
        Self { key: SigningKey::from_bytes(seed), signer: Arc::new(signer) }
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
        self.signer.sign(message).as_ref().try_into().expect("64-byte Ed25519 signature")
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
    fn signatures_are_the_rfc8032_bytes_of_ed25519_dalek() {
        for i in 0..8u8 {
            let seed = [i.wrapping_mul(29).wrapping_add(1); 32];
            let id = Identity::from_seed(&seed);
            let message = vec![i; 17 * i as usize];
            assert_eq!(id.sign(&message), sign(&seed, &message));
            assert_eq!(id.clone().sign(&message), id.sign(&message));
        }
    }

    #[test]
    fn debug_shows_no_seed() {
        let id = Identity::from_seed(&[0x41u8; 32]);
        let shown = format!("{id:?}");
        assert!(shown.starts_with("Identity(did:key:z6Mk"));
        assert!(!shown.contains("4141"));
    }
}
