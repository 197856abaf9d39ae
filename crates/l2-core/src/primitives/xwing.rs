//! X-Wing (draft-connolly-cfrg-xwing-kem): X25519 + ML-KEM-768 with a SHA3-256 combiner.
//! The handshake's hybrid KEM; its secret is safe while either X25519 or ML-KEM-768 holds.

use super::mlkem::{self, AwsLc, MlKem768};
use super::x25519;
use crate::error::fixed;
use crate::Result;
use zeroize::Zeroizing;

/// Public key length: ML-KEM-768 encapsulation key ‖ X25519 public key.
pub const PUBLIC_KEY_LEN: usize = mlkem::EK_LEN + 32;
/// Secret key length: the 32-byte seed everything is expanded from.
pub const SECRET_KEY_LEN: usize = 32;
/// Ciphertext length: ML-KEM-768 ciphertext ‖ X25519 ephemeral public key.
pub const CIPHERTEXT_LEN: usize = mlkem::CT_LEN + 32;
/// Encapsulation randomness length: m ‖ X25519 ephemeral secret.
pub const ESEED_LEN: usize = 64;

/// `XWingLabel` of the draft, the ASCII art `\.//^\`.
const LABEL: &[u8; 6] = b"\\.//^\\";

/// The expanded secret key: ML-KEM key pair and X25519 secret derived from the seed. Kept by a
/// holder that decapsulates later, so the seed is expanded once per key pair.
pub struct Expanded {
    ek_m: [u8; mlkem::EK_LEN],
    dk_m: mlkem::DecapsulationKey,
    sk_x: Zeroizing<[u8; 32]>,
    pk_x: [u8; 32],
}

fn expand(seed: &[u8; SECRET_KEY_LEN]) -> Expanded {
    let wide = Zeroizing::new(libcrux_sha3::shake256::<96>(seed));
    let mlkem_seed = Zeroizing::new(fixed::<64>("seed", &wide[..64]).expect("64 bytes"));
    let (ek_m, dk_m) = AwsLc::keygen(&mlkem_seed);
    let sk_x = Zeroizing::new(fixed::<32>("seed", &wide[64..]).expect("32 bytes"));
    let pk_x = x25519::public_key(&sk_x);
    Expanded { ek_m, dk_m, sk_x, pk_x }
}

fn combine(ss_m: &[u8; 32], ss_x: &[u8; 32], ct_x: &[u8; 32], pk_x: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut input = Zeroizing::new([0u8; 32 * 4 + LABEL.len()]);
    for (i, part) in [ss_m, ss_x, ct_x, pk_x].into_iter().enumerate() {
        input[32 * i..32 * (i + 1)].copy_from_slice(part);
    }
    input[128..].copy_from_slice(LABEL);
    Zeroizing::new(libcrux_sha3::sha256(&input[..]))
}

impl Expanded {
    /// Expands a secret seed.
    pub fn from_seed(seed: &[u8; SECRET_KEY_LEN]) -> Self {
        expand(seed)
    }

    /// The public key.
    pub fn public_key(&self) -> [u8; PUBLIC_KEY_LEN] {
        let mut pk = [0u8; PUBLIC_KEY_LEN];
        pk[..mlkem::EK_LEN].copy_from_slice(&self.ek_m);
        pk[mlkem::EK_LEN..].copy_from_slice(&self.pk_x);
        pk
    }

    /// Decapsulates `ct`.
    pub fn decapsulate(&self, ct: &[u8; CIPHERTEXT_LEN]) -> Result<Zeroizing<[u8; 32]>> {
        let ct_m = fixed::<{ mlkem::CT_LEN }>("ct", &ct[..mlkem::CT_LEN])?;
        let ct_x = fixed::<32>("ct", &ct[mlkem::CT_LEN..])?;
        // `dk_m` was expanded from the seed by `expand`, never taken from outside.
        let ss_m = AwsLc::decapsulate(&ct_m, &self.dk_m)?;
        let ss_x = x25519::raw(&self.sk_x, &ct_x);
        Ok(combine(&ss_m, &ss_x, &ct_x, &self.pk_x))
    }
}

/// Public key of the secret seed.
pub fn public_key(seed: &[u8; SECRET_KEY_LEN]) -> [u8; PUBLIC_KEY_LEN] {
    expand(seed).public_key()
}

/// Encapsulates to `pk` with the explicit 64-byte `eseed` (m ‖ X25519 ephemeral secret).
pub fn encapsulate_with(
    pk: &[u8; PUBLIC_KEY_LEN],
    eseed: &[u8; ESEED_LEN],
) -> Result<([u8; CIPHERTEXT_LEN], Zeroizing<[u8; 32]>)> {
    let ek_m = fixed::<{ mlkem::EK_LEN }>("ek", &pk[..mlkem::EK_LEN])?;
    let pk_x = fixed::<32>("pk", &pk[mlkem::EK_LEN..])?;
    let m = Zeroizing::new(fixed::<32>("m", &eseed[..32])?);
    let ek_x = Zeroizing::new(fixed::<32>("ek", &eseed[32..])?);
    let (ct_m, ss_m) = AwsLc::encapsulate(&ek_m, &m)?;
    let ct_x = x25519::public_key(&ek_x);
    let ss_x = x25519::raw(&ek_x, &pk_x);
    let mut ct = [0u8; CIPHERTEXT_LEN];
    ct[..mlkem::CT_LEN].copy_from_slice(&ct_m);
    ct[mlkem::CT_LEN..].copy_from_slice(&ct_x);
    Ok((ct, combine(&ss_m, &ss_x, &ct_x, &pk_x)))
}

/// Decapsulates `ct` with the secret seed.
pub fn decapsulate_with(ct: &[u8; CIPHERTEXT_LEN], seed: &[u8; SECRET_KEY_LEN]) -> Result<Zeroizing<[u8; 32]>> {
    expand(seed).decapsulate(ct)
}

/// Key pair (public key, seed) from `seed`, or fresh.
pub fn keygen(seed: Option<&[u8]>) -> Result<([u8; PUBLIC_KEY_LEN], Zeroizing<[u8; SECRET_KEY_LEN]>)> {
    let seed = Zeroizing::new(match seed {
        Some(s) => fixed::<SECRET_KEY_LEN>("X-Wing seed", s)?,
        None => super::random()?,
    });
    Ok((public_key(&seed), seed))
}

/// Encapsulates to a public key given as bytes, with `eseed` or fresh randomness.
pub fn encapsulate(pk: &[u8], eseed: Option<&[u8]>) -> Result<([u8; CIPHERTEXT_LEN], Zeroizing<[u8; 32]>)> {
    let pk = fixed::<PUBLIC_KEY_LEN>("X-Wing public key", pk)?;
    let eseed = Zeroizing::new(match eseed {
        Some(e) => fixed::<ESEED_LEN>("X-Wing eseed", e)?,
        None => super::random()?,
    });
    encapsulate_with(&pk, &eseed)
}

/// Decapsulates a ciphertext given as bytes with a secret key given as bytes.
pub fn decapsulate(ct: &[u8], sk: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let ct = fixed::<CIPHERTEXT_LEN>("X-Wing ciphertext", ct)?;
    let sk = Zeroizing::new(fixed::<SECRET_KEY_LEN>("X-Wing secret key", sk)?);
    decapsulate_with(&ct, &sk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_wrong_key() {
        let (pk, sk) = keygen(Some(&[1; 32])).unwrap();
        let (ct, ss) = encapsulate(&pk, Some(&[2; 64])).unwrap();
        assert_eq!(*decapsulate(&ct, &*sk).unwrap(), *ss);
        // ML-KEM's implicit rejection: another key yields an unrelated secret, not an error.
        assert_ne!(*decapsulate(&ct, &[9; 32]).unwrap(), *ss);
    }
}
