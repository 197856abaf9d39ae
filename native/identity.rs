//! Long-term Ed25519 identities named by `did:key`; the seed stays in Rust memory.

use crate::crypto::fixed;
use crate::{to_js, Code};
use napi::Result;
use l2_core::{did, primitives::ed25519};
use napi::bindgen_prelude::Buffer;
use napi_derive::napi;

/// An Ed25519 identity. Its seed never leaves Rust unless `exportSeed()` is called. It signs only
/// handshake transcripts and discovery answers: no API signs caller bytes with it, so its
/// signatures cannot be borrowed for the protocol's.
#[napi]
pub struct Identity {
    pub(crate) inner: ed25519::Identity,
}

#[napi]
impl Identity {
    /// A fresh identity from the OS random source.
    #[napi(factory, catch_unwind)]
    pub fn generate() -> Result<Self, Code> {
        Ok(Self { inner: ed25519::Identity::generate().map_err(to_js)? })
    }

    /// The identity of a 32-byte seed.
    #[napi(factory, catch_unwind)]
    pub fn from_seed(seed: &[u8]) -> Result<Self, Code> {
        let seed = zeroize::Zeroizing::new(fixed::<32>("identity seed", &seed)?);
        Ok(Self { inner: ed25519::Identity::from_seed(&seed) })
    }

    /// The 32-byte Ed25519 public key.
    #[napi(getter)]
    pub fn public_key(&self) -> Buffer {
        self.inner.public_key().to_vec().into()
    }

    /// The `did:key` naming this identity.
    #[napi(getter)]
    pub fn did(&self) -> String {
        did::encode(&self.inner.public_key())
    }

    /// The 32-byte secret seed (explicit export: the caller now holds a secret).
    #[napi]
    pub fn export_seed(&self) -> Buffer {
        self.inner.seed().to_vec().into()
    }
}

/// The `did:key` of a 32-byte Ed25519 public key.
#[napi(catch_unwind)]
pub fn did_from_public_key(public_key: &[u8]) -> Result<String, Code> {
    Ok(did::encode(&fixed::<32>("Ed25519 public key", &public_key)?))
}

/// The Ed25519 public key named by a `did:key`.
#[napi(catch_unwind)]
pub fn did_to_public_key(did: String) -> Result<Buffer, Code> {
    Ok(did::decode(&did).map_err(to_js)?.to_vec().into())
}
