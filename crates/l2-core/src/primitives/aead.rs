//! ChaCha20-Poly1305 (RFC 8439) through aws-lc-rs, whose assembly runs at line rate.

use crate::{Error, Result};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};

/// Key length in bytes.
pub const KEY_LEN: usize = 32;
/// Nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// Tag length in bytes.
pub const TAG_LEN: usize = 16;

/// A ChaCha20-Poly1305 key. Nonce uniqueness is the caller's duty (the frame layer derives
/// nonces from a never-wrapping counter). aws-lc-rs zeroises the key schedule on drop.
pub struct AeadKey(LessSafeKey);

impl AeadKey {
    /// Key from 32 bytes.
    pub fn new(key: &[u8; KEY_LEN]) -> Self {
        // A 32-byte key is always accepted by ChaCha20-Poly1305.
        Self(LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, key).expect("32-byte key")))
    }

    /// Encrypts `buf` in place and returns the tag.
    pub fn seal_in_place(&self, nonce: [u8; NONCE_LEN], aad: &[u8], buf: &mut [u8]) -> [u8; TAG_LEN] {
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), buf)
            // Only fails for inputs longer than ChaCha20's 256 GiB block counter allows.
            .expect("ChaCha20-Poly1305 input within limits");
        tag.as_ref().try_into().expect("16-byte tag")
    }

    /// Encrypts `plaintext` into `out` (same length) and writes the tag: reading the plaintext
    /// where it is saves copying it into the output first (a memcpy per frame in a profile).
    pub fn seal_out_of_place(&self, nonce: [u8; NONCE_LEN], aad: &[u8], plaintext: &[u8], out: &mut [u8], tag: &mut [u8; TAG_LEN]) {
        self.0
            .seal_out_of_place_scatter(Nonce::assume_unique_for_key(nonce), Aad::from(aad), plaintext, out, &[], tag)
            // Callers pass `out` as long as `plaintext`; inputs are far below ChaCha20's 256 GiB limit.
            .expect("ChaCha20-Poly1305 output as long as the input");
    }

    /// Decrypts `buf` (ciphertext‖tag) in place; returns the plaintext prefix on success.
    pub fn open_in_place<'a>(&self, nonce: [u8; NONCE_LEN], aad: &[u8], buf: &'a mut [u8]) -> Result<&'a mut [u8]> {
        if buf.len() < TAG_LEN {
            return Err(Error::AuthFailed("sealed data shorter than the tag"));
        }
        self.0
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), buf)
            .map_err(|_| Error::AuthFailed("AEAD tag mismatch"))
    }
}

impl AeadKey {
    /// Decrypts `ciphertext` with its `tag` into `out` (same length) without an intermediate copy.
    /// On failure `out` is zeroed, so no unauthenticated plaintext is left behind.
    pub fn open_to(&self, nonce: [u8; NONCE_LEN], aad: &[u8], ciphertext: &[u8], tag: &[u8], out: &mut [u8]) -> Result<()> {
        self.0
            .open_separate_gather(Nonce::assume_unique_for_key(nonce), Aad::from(aad), ciphertext, tag, out)
            .map_err(|_| {
                out.fill(0);
                Error::AuthFailed("AEAD tag mismatch")
            })
    }
}

/// One-shot seal into `out` (exactly `plaintext.len() + TAG_LEN` bytes): ciphertext‖tag.
pub fn seal_to(key: &[u8], nonce: &[u8], plaintext: &[u8], aad: &[u8], out: &mut [u8]) -> Result<()> {
    let key = AeadKey::new(&crate::error::fixed("key", key)?);
    let nonce = crate::error::fixed("nonce", nonce)?;
    if out.len() != plaintext.len() + TAG_LEN {
        return Err(Error::length("output", plaintext.len() + TAG_LEN, out.len()));
    }
    let (body, tag) = out.split_at_mut(plaintext.len());
    key.seal_out_of_place(nonce, aad, plaintext, body, tag.try_into().expect("16-byte tag"));
    Ok(())
}

/// One-shot open of ciphertext‖tag into `out` (exactly `sealed.len() - TAG_LEN` bytes).
pub fn open_to(key: &[u8], nonce: &[u8], sealed: &[u8], aad: &[u8], out: &mut [u8]) -> Result<()> {
    let key = AeadKey::new(&crate::error::fixed("key", key)?);
    let nonce = crate::error::fixed("nonce", nonce)?;
    let Some(ct_len) = sealed.len().checked_sub(TAG_LEN) else {
        return Err(Error::AuthFailed("sealed data shorter than the tag"));
    };
    if out.len() != ct_len {
        return Err(Error::length("output", ct_len, out.len()));
    }
    key.open_to(nonce, aad, &sealed[..ct_len], &sealed[ct_len..], out)
}

/// One-shot seal: returns ciphertext‖tag.
pub fn seal(key: &[u8], nonce: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let mut out = vec![0u8; plaintext.len() + TAG_LEN];
    seal_to(key, nonce, plaintext, aad, &mut out)?;
    Ok(out)
}

/// One-shot open of ciphertext‖tag: the plaintext, or `AuthFailed`.
pub fn open(key: &[u8], nonce: &[u8], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let mut out = vec![0u8; sealed.len().saturating_sub(TAG_LEN)];
    open_to(key, nonce, sealed, aad, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forgery() {
        let sealed = seal(&[1; 32], &[2; 12], b"frame", b"hdr").unwrap();
        assert_eq!(open(&[1; 32], &[2; 12], &sealed, b"hdr").unwrap(), b"frame");
        assert!(open(&[1; 32], &[2; 12], &sealed, b"hdx").is_err());
        let mut bad = sealed.clone();
        bad[0] ^= 1;
        assert_eq!(open(&[1; 32], &[2; 12], &bad, b"hdr").unwrap_err().code(), "ERR_L2_AUTH_FAILED");
    }

    #[test]
    fn out_of_place_seal_matches_in_place() {
        let key = AeadKey::new(&[7; 32]);
        let plain = [0x42u8; 1000];
        let mut in_place = plain;
        let tag_a = key.seal_in_place([1; 12], b"aad", &mut in_place);
        let (mut out, mut tag_b) = ([0u8; 1000], [0u8; TAG_LEN]);
        key.seal_out_of_place([1; 12], b"aad", &plain, &mut out, &mut tag_b);
        assert_eq!((out, tag_b), (in_place, tag_a));
    }

    #[test]
    fn wrong_sizes_are_bad_input() {
        assert_eq!(seal(&[1; 31], &[2; 12], b"", b"").unwrap_err().code(), "ERR_L2_BAD_INPUT");
        assert_eq!(open(&[1; 32], &[2; 8], &[0; 16], b"").unwrap_err().code(), "ERR_L2_BAD_INPUT");
        assert_eq!(open(&[1; 32], &[2; 12], &[0; 15], b"").unwrap_err().code(), "ERR_L2_AUTH_FAILED");
    }
}
