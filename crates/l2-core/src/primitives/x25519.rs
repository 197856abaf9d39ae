//! X25519 (RFC 7748) through x25519-dalek.

use crate::{Error, Result};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// Public key of the 32-byte secret `secret` (clamped as RFC 7748 says).
pub fn public_key(secret: &[u8; 32]) -> [u8; 32] {
    PublicKey::from(&StaticSecret::from(*secret)).to_bytes()
}

/// X25519(secret, public). An all-zero result (low-order public key) is rejected: it would let a
/// peer force a known shared secret.
pub fn shared_secret(secret: &[u8; 32], public: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>> {
    let shared = StaticSecret::from(*secret).diffie_hellman(&PublicKey::from(*public));
    if !shared.was_contributory() {
        return Err(Error::BadInput("X25519 public key has low order (all-zero shared secret)".into()));
    }
    Ok(Zeroizing::new(shared.to_bytes()))
}

/// X25519 without the low-order check, as X-Wing specifies (its combiner hashes the public
/// values, so a low-order share cannot force the final secret).
pub(crate) fn raw(secret: &[u8; 32], public: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(StaticSecret::from(*secret).diffie_hellman(&PublicKey::from(*public)).to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree() {
        let (a, b) = ([7u8; 32], [9u8; 32]);
        let ab = shared_secret(&a, &public_key(&b)).unwrap();
        let ba = shared_secret(&b, &public_key(&a)).unwrap();
        assert_eq!(*ab, *ba);
    }

    #[test]
    fn low_order_point_is_rejected() {
        let err = shared_secret(&[7u8; 32], &[0u8; 32]).unwrap_err();
        assert_eq!(err.code(), "ERR_L2_BAD_INPUT");
    }
}
