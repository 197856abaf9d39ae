//! The primitives the protocol is built from, each behind a small, byte-oriented API with
//! deterministic entry points for known-answer tests.

pub mod aead;
pub mod blake3;
pub mod ed25519;
pub mod mlkem;
pub mod x25519;
pub mod xwing;

use crate::{Error, Result};

/// Fills `N` bytes from the operating system's CSPRNG.
pub fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| Error::Random)?;
    Ok(out)
}
