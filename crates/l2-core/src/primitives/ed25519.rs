//! Ed25519 (RFC 8032) signatures: keys and reference signing through ed25519-dalek, the
//! handshake's signing and all verification through AWS-LC.

use crate::{Error, Result};
use aws_lc_rs::signature::Ed25519KeyPair;
use ed25519_dalek::{Signer, SigningKey};
use std::sync::Arc;

/// Public key of the 32-byte secret seed.
pub fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    SigningKey::from_bytes(seed).verifying_key().to_bytes()
}

/// Signs `message` with the key derived from `seed`.
pub fn sign(seed: &[u8; 32], message: &[u8]) -> [u8; 64] {
    SigningKey::from_bytes(seed).sign(message).to_bytes()
}

/// Every y (little-endian, without the sign bit) that encodes a point of order dividing 8:
/// 0 (order 4), 1 (the identity), p − 1 (order 2), the y of the order-8 points, and the
/// unreduced p and p + 1 (0 and 1 again: AWS-LC's assembly decoder refuses those, its portable
/// one on other targets may not). Comparing against these finds small-order A and R without
/// decompressing them.
const SMALL_ORDER_Y: [[u8; 32]; 7] = {
    /// 2^255 − 256 + `low`: p − 1, p and p + 1 differ from it only in the low byte.
    const fn near_p(low: u8) -> [u8; 32] {
        let mut y = [0xff; 32];
        y[0] = low;
        y[31] = 0x7f;
        y
    }
    const fn small(v: u8) -> [u8; 32] {
        let mut y = [0; 32];
        y[0] = v;
        y
    }
    [
        small(0),
        small(1),
        near_p(0xec), // p − 1
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, //
            0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
        ],
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, //
            0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
        ],
        near_p(0xed), // p
        near_p(0xee), // p + 1
    ]
};

/// True when `encoding` (either sign) is one of a point of order 1, 2, 4 or 8.
fn has_small_order(encoding: &[u8; 32]) -> bool {
    let mut y = *encoding;
    y[31] &= 0x7f;
    SMALL_ORDER_Y.contains(&y)
}

/// Verifies `signature` on `message`; `Ok(())` only for a valid signature. Strict, with the
/// rules of ed25519-dalek's `verify_strict` (tests hold the two to the same answers): S below the
/// group order, neither A nor R of small order, and the cofactorless equation [S]B = R + [k]A
/// with R byte-exact (so R is canonical). The small-order checks run here on the encodings;
/// AWS-LC checks S and the equation (31 µs against dalek's 36 here: no decompression of R,
/// assembly field arithmetic). Its assembly decoder also refuses an unreduced A (y ≥ p), which
/// dalek would decode; no one can sign for such a key without its discrete logarithm, so no
/// signature tells the two apart.
pub fn verify(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> Result<()> {
    if has_small_order(public) {
        return Err(Error::AuthFailed("invalid Ed25519 public key"));
    }
    if has_small_order(signature[..32].try_into().expect("64 = 32 + 32")) {
        return Err(Error::AuthFailed("invalid Ed25519 signature"));
    }
    // SAFETY: AWS-LC reads `message_len` bytes of `message`, 64 of `signature` and 32 of
    // `public_key`, all borrowed for the call; it keeps no pointer.
    let ok = unsafe { aws_lc_sys::ED25519_verify(message.as_ptr(), message.len(), signature.as_ptr(), public.as_ptr()) };
    if ok == 1 {
        Ok(())
    } else {
        Err(Error::AuthFailed("invalid Ed25519 signature"))
    }
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

    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT as B, EIGHT_TORSION};
    use curve25519_dalek::Scalar;

    /// ed25519-dalek's strict verification, the reference `verify` must agree with.
    fn dalek_strict(public: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        ed25519_dalek::VerifyingKey::from_bytes(public)
            .and_then(|k| k.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature)))
            .is_ok()
    }

    fn with_sign(y: [u8; 32], negative: bool) -> [u8; 32] {
        let mut e = y;
        e[31] = (e[31] & 0x7f) | (u8::from(negative) << 7);
        e
    }

    /// The 255-bit little-endian value `base + add` (no carry out of the low byte is needed here).
    fn plus(base: [u8; 32], add: u8) -> [u8; 32] {
        let mut y = base;
        y[0] += add;
        y
    }

    #[test]
    fn small_order_table_is_every_encoding_of_a_small_order_point() {
        for t in EIGHT_TORSION {
            assert!(has_small_order(&t.compress().to_bytes()));
        }
        // Candidates: the table's own entries, every y below 19 and every unreduced y (p + 0..18,
        // all below 2^255), each with both signs; dalek decompresses them and tests the order.
        let p = SMALL_ORDER_Y[5];
        let mut candidates = SMALL_ORDER_Y.to_vec();
        candidates.extend((0..19).map(|k| plus([0; 32], k)));
        candidates.extend((0..19).map(|k| plus(p, k)));
        for y in candidates {
            for negative in [false, true] {
                let e = with_sign(y, negative);
                let small = ed25519_dalek::VerifyingKey::from_bytes(&e).is_ok_and(|k| k.is_weak());
                assert_eq!(has_small_order(&e), small, "{e:02x?}");
            }
        }
    }

    /// Deterministic pseudo-random bytes for case `i`.
    fn bytes<const N: usize>(i: u64, label: &str) -> [u8; N] {
        let mut out = [0u8; N];
        blake3::Hasher::new_derive_key(label).update(&i.to_le_bytes()).finalize_xof().fill(&mut out);
        out
    }

    fn scalar(i: u64, label: &str) -> Scalar {
        Scalar::from_bytes_mod_order_wide(&bytes::<64>(i, label))
    }

    /// A signature by the holder of `a` under the public key bytes `public`, which need not
    /// encode [a]B: R = [r]B, S = r + SHA-512(R ‖ public ‖ message)·a.
    fn sign_for(public: &[u8; 32], a: &Scalar, r: &Scalar, message: &[u8]) -> [u8; 64] {
        let big_r = (B * r).compress().to_bytes();
        let h = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, &[&big_r[..], public, message].concat());
        let k = Scalar::from_bytes_mod_order_wide(h.as_ref().try_into().expect("64-byte SHA-512"));
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice((r + k * a).as_bytes());
        sig
    }

    /// S + ℓ: the same scalar, not reduced (S < ℓ < 2^253, so the sum fits in 32 bytes).
    fn unreduced(s: &[u8]) -> [u8; 32] {
        let ell = (Scalar::ZERO - Scalar::ONE).to_bytes(); // ℓ − 1
        let mut out = [0u8; 32];
        let mut carry = 1u16; // + 1 makes it ℓ
        for i in 0..32 {
            let sum = u16::from(s[i]) + u16::from(ell[i]) + carry;
            out[i] = sum as u8;
            carry = sum >> 8;
        }
        out
    }

    #[test]
    fn agrees_with_dalek_verify_strict_on_valid_mutated_and_malformed_signatures() {
        let (mut accepted, mut rejected) = (0, 0);
        let mut check = |public: &[u8; 32], message: &[u8], sig: &[u8; 64]| {
            let ours = verify(public, message, sig).is_ok();
            assert_eq!(ours, dalek_strict(public, message, sig), "pk {public:02x?} sig {sig:02x?} msg {message:02x?}");
            if ours { accepted += 1 } else { rejected += 1 }
            ours
        };
        for i in 0..128u64 {
            let seed = bytes::<32>(i, "seed");
            let message = bytes::<48>(i, "message")[..(i % 48) as usize].to_vec();
            let public = public_key(&seed);
            let sig = sign(&seed, &message);
            assert!(check(&public, &message, &sig));

            // One flipped bit anywhere in the key, the signature or the message.
            let bit = bytes::<2>(i, "bit");
            let mut bad = sig;
            bad[bit[0] as usize % 64] ^= 1 << (bit[1] % 8);
            check(&public, &message, &bad);
            let mut bad_key = public;
            bad_key[bit[0] as usize % 32] ^= 1 << (bit[1] % 8);
            check(&bad_key, &message, &sig);
            if !message.is_empty() {
                let mut bad_message = message.clone();
                bad_message[bit[0] as usize % message.len()] ^= 1 << (bit[1] % 8);
                assert!(!check(&public, &bad_message, &sig));
            }

            // The same S plus the group order: the malleated twin of a valid signature.
            let mut twin = sig;
            twin[32..].copy_from_slice(&unreduced(&sig[32..]));
            assert!(!check(&public, &message, &twin));

            // Small-order R and keys (every encoding, both signs); with A of small order,
            // R = [S]B satisfies the cofactorless equation for any message.
            let y = SMALL_ORDER_Y[i as usize % SMALL_ORDER_Y.len()];
            let small = with_sign(y, i % 2 == 1);
            let mut small_r = sig;
            small_r[..32].copy_from_slice(&small);
            assert!(!check(&public, &message, &small_r));
            // R the identity with S = k·a: [S]B − [k]A is the identity, so only the small-order
            // rule on R refuses it.
            let a = SigningKey::from_bytes(&seed).to_scalar();
            assert!(!check(&public, &message, &sign_for(&public, &a, &Scalar::ZERO, &message)));
            let s = scalar(i, "s");
            let mut forged = [0u8; 64];
            forged[..32].copy_from_slice((B * s).compress().as_bytes());
            forged[32..].copy_from_slice(s.as_bytes());
            assert!(!check(&small, &message, &forged));

            // A key with a torsion component: A' = [a]B + T. Its holder's signature passes the
            // cofactorless equation only when [k]T is the identity, and both must agree which.
            let mixed = (B * a + EIGHT_TORSION[1 + i as usize % 7]).compress().to_bytes();
            check(&mixed, &message, &sign_for(&mixed, &a, &scalar(i, "r"), &message));

            // Random bytes as key and signature, and unreduced keys p + 2..18 (no honest
            // encoder makes them; dalek decodes those on the curve).
            check(&bytes(i, "random key"), &message, &bytes(i, "random signature"));
            let unreduced_key = with_sign(plus(SMALL_ORDER_Y[5], 2 + (i % 17) as u8), i % 3 == 0);
            check(&unreduced_key, &message, &bytes(i, "random signature"));
        }
        // Both outcomes occurred beyond the honest signatures (the torsion keys give both).
        assert!(accepted > 128 && rejected > 1000, "accepted {accepted}, rejected {rejected}");
    }

    #[test]
    fn debug_shows_no_seed() {
        let id = Identity::from_seed(&[0x41u8; 32]);
        let shown = format!("{id:?}");
        assert!(shown.starts_with("Identity(did:key:z6Mk"));
        assert!(!shown.contains("4141"));
    }
}
