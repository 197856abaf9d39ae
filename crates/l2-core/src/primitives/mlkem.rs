//! ML-KEM-768 (FIPS 203) behind one small trait, implemented by libcrux (formally verified,
//! AVX2 when the CPU has it). Tests cross-check it against RustCrypto's `ml-kem`.

use crate::{Error, Result};
use libcrux_ml_kem::mlkem768 as lc;
use zeroize::{Zeroize, Zeroizing};

/// Encapsulation key length.
pub const EK_LEN: usize = 1184;
/// Decapsulation key length (FIPS 203 expanded form).
pub const DK_LEN: usize = 2400;
/// Ciphertext length.
pub const CT_LEN: usize = 1088;
/// Key-generation seed length (d‖z).
pub const SEED_LEN: usize = 64;

/// A decapsulation key, zeroised on drop.
pub struct DecapsulationKey(Box<[u8; DK_LEN]>);

impl DecapsulationKey {
    /// Wraps expanded key bytes (validity is checked when used).
    pub fn from_bytes(bytes: &[u8; DK_LEN]) -> Self {
        Self(Box::new(*bytes))
    }

    /// The expanded key bytes.
    pub fn as_bytes(&self) -> &[u8; DK_LEN] {
        &self.0
    }
}

impl Drop for DecapsulationKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The operations the protocol needs from an ML-KEM-768 implementation, with the deterministic
/// entry points of FIPS 203 (`ML-KEM.KeyGen_internal`, `ML-KEM.Encaps_internal`).
pub trait MlKem768 {
    /// Key pair from the 64-byte seed d‖z.
    fn keygen(seed: &[u8; SEED_LEN]) -> ([u8; EK_LEN], DecapsulationKey);
    /// Encapsulation with explicit randomness `m`; rejects keys failing the modulus check.
    fn encapsulate(ek: &[u8; EK_LEN], m: &[u8; 32]) -> Result<([u8; CT_LEN], Zeroizing<[u8; 32]>)>;
    /// Decapsulation with implicit rejection; rejects keys failing the hash check.
    fn decapsulate(ct: &[u8; CT_LEN], dk: &DecapsulationKey) -> Result<Zeroizing<[u8; 32]>>;
}

/// The implementation the library uses.
pub struct Libcrux;

impl MlKem768 for Libcrux {
    fn keygen(seed: &[u8; SEED_LEN]) -> ([u8; EK_LEN], DecapsulationKey) {
        let pair = lc::generate_key_pair(*seed);
        let (mut sk, pk) = pair.into_parts();
        let dk = DecapsulationKey::from_bytes(sk.as_slice());
        sk[0..].zeroize();
        (*pk.as_slice(), dk)
    }

    fn encapsulate(ek: &[u8; EK_LEN], m: &[u8; 32]) -> Result<([u8; CT_LEN], Zeroizing<[u8; 32]>)> {
        let ek = lc::MlKem768PublicKey::from(ek);
        if !lc::validate_public_key(&ek) {
            return Err(Error::BadInput("ML-KEM-768 encapsulation key fails the modulus check".into()));
        }
        let (ct, ss) = lc::encapsulate(&ek, *m);
        Ok((*ct.as_slice(), Zeroizing::new(ss)))
    }

    fn decapsulate(ct: &[u8; CT_LEN], dk: &DecapsulationKey) -> Result<Zeroizing<[u8; 32]>> {
        let mut sk = lc::MlKem768PrivateKey::from(dk.as_bytes());
        let ct = lc::MlKem768Ciphertext::from(ct);
        let valid = lc::validate_private_key(&sk, &ct);
        let ss = valid.then(|| Zeroizing::new(lc::decapsulate(&sk, &ct)));
        sk[0..].zeroize();
        ss.ok_or_else(|| Error::BadInput("ML-KEM-768 decapsulation key fails the hash check".into()))
    }
}

/// Key pair from `seed`, or from fresh randomness.
pub fn keygen(seed: Option<&[u8]>) -> Result<([u8; EK_LEN], DecapsulationKey)> {
    let seed = Zeroizing::new(match seed {
        Some(s) => crate::error::fixed::<SEED_LEN>("ML-KEM-768 seed", s)?,
        None => super::random()?,
    });
    Ok(Libcrux::keygen(&seed))
}

/// Encapsulates to `ek` with `m`, or with fresh randomness.
pub fn encapsulate(ek: &[u8], m: Option<&[u8]>) -> Result<([u8; CT_LEN], Zeroizing<[u8; 32]>)> {
    let ek = crate::error::fixed::<EK_LEN>("ML-KEM-768 encapsulation key", ek)?;
    let m = Zeroizing::new(match m {
        Some(m) => crate::error::fixed::<32>("ML-KEM-768 encapsulation randomness", m)?,
        None => super::random()?,
    });
    Libcrux::encapsulate(&ek, &m)
}

/// Decapsulates `ct` with the expanded key `dk`.
pub fn decapsulate(ct: &[u8], dk: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let ct = crate::error::fixed::<CT_LEN>("ML-KEM-768 ciphertext", ct)?;
    let dk = DecapsulationKey::from_bytes(&crate::error::fixed::<DK_LEN>("ML-KEM-768 decapsulation key", dk)?);
    Libcrux::decapsulate(&ct, &dk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (ek, dk) = Libcrux::keygen(&[5; 64]);
        let (ct, ss) = Libcrux::encapsulate(&ek, &[6; 32]).unwrap();
        assert_eq!(*Libcrux::decapsulate(&ct, &dk).unwrap(), *ss);
    }

    #[test]
    fn corrupted_decapsulation_key_is_rejected() {
        let (_, dk) = Libcrux::keygen(&[5; 64]);
        let mut bytes = *dk.as_bytes();
        bytes[DK_LEN - 40] ^= 1; // inside H(ek)
        let err = Libcrux::decapsulate(&[0; CT_LEN], &DecapsulationKey::from_bytes(&bytes)).unwrap_err();
        assert_eq!(err.code(), "ERR_L2_BAD_INPUT");
    }
}
