//! ML-KEM-768 (FIPS 203) behind one small trait, implemented twice: by libcrux (formally
//! verified; the byte-level API and its key checks) and by AWS-LC (mlkem-native with assembly
//! chosen at run time: about twice as fast as libcrux in a portable build, so the handshake's
//! X-Wing uses it). Tests cross-check both against each other and RustCrypto's `ml-kem`.

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

/// The implementation on the handshake's hot path (see the module note).
pub struct AwsLc;

mod ffi {
    use aws_lc_sys as sys;
    use core::ptr::null_mut;

    /// Owned `EVP_PKEY` (freed, and its key material cleansed, by AWS-LC on drop).
    pub struct Pkey(pub *mut sys::EVP_PKEY);
    impl Drop for Pkey {
        fn drop(&mut self) {
            // SAFETY: the pointer came from AWS-LC and is freed once.
            unsafe { sys::EVP_PKEY_free(self.0) }
        }
    }

    /// Owned `EVP_PKEY_CTX`.
    pub struct Ctx(pub *mut sys::EVP_PKEY_CTX);
    impl Drop for Ctx {
        fn drop(&mut self) {
            // SAFETY: the pointer came from AWS-LC and is freed once.
            unsafe { sys::EVP_PKEY_CTX_free(self.0) }
        }
    }

    fn non_null<T>(p: *mut T) -> Option<*mut T> {
        (!p.is_null()).then_some(p)
    }

    /// `ML-KEM.KeyGen_internal(d, z)`: the key pair as raw (ek, expanded dk) bytes.
    pub fn keygen(seed: &[u8; super::SEED_LEN], ek: &mut [u8; super::EK_LEN], dk: &mut [u8; super::DK_LEN]) -> Option<()> {
        // SAFETY: every pointer is checked non-null before use and owned by a guard that frees it;
        // buffers are passed with their exact lengths, and AWS-LC writes at most that much.
        unsafe {
            let ctx = Ctx(non_null(sys::EVP_PKEY_CTX_new_id(sys::EVP_PKEY_KEM, null_mut()))?);
            (sys::EVP_PKEY_keygen_init(ctx.0) == 1).then_some(())?;
            (sys::EVP_PKEY_CTX_kem_set_params(ctx.0, sys::NID_MLKEM768) == 1).then_some(())?;
            let mut pkey = null_mut();
            let mut seed_len = seed.len();
            (sys::EVP_PKEY_keygen_deterministic(ctx.0, &mut pkey, seed.as_ptr(), &mut seed_len) == 1).then_some(())?;
            let pkey = Pkey(non_null(pkey)?);
            let mut len = ek.len();
            (sys::EVP_PKEY_get_raw_public_key(pkey.0, ek.as_mut_ptr(), &mut len) == 1 && len == ek.len()).then_some(())?;
            let mut len = dk.len();
            (sys::EVP_PKEY_get_raw_private_key(pkey.0, dk.as_mut_ptr(), &mut len) == 1 && len == dk.len()).then_some(())
        }
    }

    /// `ML-KEM.Encaps_internal(ek, m)`; `None` when AWS-LC refuses the key.
    pub fn encapsulate(ek: &[u8; super::EK_LEN], m: &[u8; 32], ct: &mut [u8; super::CT_LEN], ss: &mut [u8; 32]) -> Option<()> {
        // SAFETY: as in `keygen`.
        unsafe {
            let pkey = Pkey(non_null(sys::EVP_PKEY_kem_new_raw_public_key(sys::NID_MLKEM768, ek.as_ptr(), ek.len()))?);
            let ctx = Ctx(non_null(sys::EVP_PKEY_CTX_new(pkey.0, null_mut()))?);
            let (mut ct_len, mut ss_len, mut m_len) = (ct.len(), ss.len(), m.len());
            let ok = sys::EVP_PKEY_encapsulate_deterministic(ctx.0, ct.as_mut_ptr(), &mut ct_len, ss.as_mut_ptr(), &mut ss_len, m.as_ptr(), &mut m_len);
            (ok == 1 && ct_len == ct.len() && ss_len == ss.len()).then_some(())
        }
    }

    /// `ML-KEM.Decaps` with an expanded key; AWS-LC (mlkem-native) runs the FIPS 203 hash check
    /// on it first and refuses a key that fails.
    pub fn decapsulate(ct: &[u8; super::CT_LEN], dk: &[u8; super::DK_LEN], ss: &mut [u8; 32]) -> Option<()> {
        // SAFETY: as in `keygen`.
        unsafe {
            let pkey = Pkey(non_null(sys::EVP_PKEY_kem_new_raw_secret_key(sys::NID_MLKEM768, dk.as_ptr(), dk.len()))?);
            let ctx = Ctx(non_null(sys::EVP_PKEY_CTX_new(pkey.0, null_mut()))?);
            let mut ss_len = ss.len();
            let ok = sys::EVP_PKEY_decapsulate(ctx.0, ss.as_mut_ptr(), &mut ss_len, ct.as_ptr().cast_mut(), ct.len());
            (ok == 1 && ss_len == ss.len()).then_some(())
        }
    }
}

impl MlKem768 for AwsLc {
    fn keygen(seed: &[u8; SEED_LEN]) -> ([u8; EK_LEN], DecapsulationKey) {
        let mut ek = [0u8; EK_LEN];
        let mut dk = DecapsulationKey(Box::new([0u8; DK_LEN]));
        // Only an allocation failure inside AWS-LC can stop a key generation from a seed.
        ffi::keygen(seed, &mut ek, &mut dk.0).expect("AWS-LC ML-KEM-768 key generation");
        (ek, dk)
    }

    fn encapsulate(ek: &[u8; EK_LEN], m: &[u8; 32]) -> Result<([u8; CT_LEN], Zeroizing<[u8; 32]>)> {
        let mut ct = [0u8; CT_LEN];
        let mut ss = Zeroizing::new([0u8; 32]);
        // AWS-LC runs the FIPS 203 modulus check itself (mlkem-native's check_pk, before
        // encrypting), so a second one here would only cost time; the test below holds it to that.
        ffi::encapsulate(ek, m, &mut ct, &mut ss)
            .ok_or_else(|| Error::BadInput("ML-KEM-768 encapsulation key fails the modulus check".into()))?;
        Ok((ct, ss))
    }

    fn decapsulate(ct: &[u8; CT_LEN], dk: &DecapsulationKey) -> Result<Zeroizing<[u8; 32]>> {
        let mut ss = Zeroizing::new([0u8; 32]);
        ffi::decapsulate(ct, dk.as_bytes(), &mut ss)
            .ok_or_else(|| Error::BadInput("ML-KEM-768 decapsulation key refused".into()))?;
        Ok(ss)
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
    fn aws_lc_matches_libcrux() {
        for i in 0..16u8 {
            let seed = [i.wrapping_mul(37); 64];
            let (ek, dk) = AwsLc::keygen(&seed);
            let (ek_l, dk_l) = Libcrux::keygen(&seed);
            assert_eq!(ek, ek_l);
            assert_eq!(dk.as_bytes(), dk_l.as_bytes());
            let m = [i ^ 0x5a; 32];
            let (ct, ss) = AwsLc::encapsulate(&ek, &m).unwrap();
            let (ct_l, ss_l) = Libcrux::encapsulate(&ek, &m).unwrap();
            assert_eq!((ct, *ss), (ct_l, *ss_l));
            assert_eq!(*AwsLc::decapsulate(&ct, &dk).unwrap(), *ss);
            // Implicit rejection agrees too.
            let mut forged = ct;
            forged[i as usize] ^= 1;
            assert_eq!(*AwsLc::decapsulate(&forged, &dk).unwrap(), *Libcrux::decapsulate(&forged, &dk).unwrap());
        }
    }

    #[test]
    fn aws_lc_refuses_a_key_failing_the_modulus_check() {
        let (good, _) = AwsLc::keygen(&[3; 64]);
        // Coefficients are packed 12 bits each, two per 3 bytes: set one to 0xfff ≥ q, first
        // (low bits of bytes 0–1), in the middle, and last (high bits of bytes 1150–1151).
        for (byte, mask) in [(0, 0x0fff), (577, 0xfff0), (1150, 0xfff0)] {
            let mut ek = good;
            let pair = u16::from_le_bytes([ek[byte], ek[byte + 1]]) | mask;
            ek[byte..byte + 2].copy_from_slice(&pair.to_le_bytes());
            assert_eq!(AwsLc::encapsulate(&ek, &[1; 32]).unwrap_err().code(), "ERR_L2_BAD_INPUT", "byte {byte}");
            assert!(Libcrux::encapsulate(&ek, &[1; 32]).is_err(), "byte {byte}");
        }
    }

    #[test]
    fn corrupted_decapsulation_key_is_rejected() {
        let (_, dk) = Libcrux::keygen(&[5; 64]);
        let mut bytes = *dk.as_bytes();
        bytes[DK_LEN - 40] ^= 1; // inside H(ek)
        let corrupted = DecapsulationKey::from_bytes(&bytes);
        assert_eq!(Libcrux::decapsulate(&[0; CT_LEN], &corrupted).unwrap_err().code(), "ERR_L2_BAD_INPUT");
        assert_eq!(AwsLc::decapsulate(&[0; CT_LEN], &corrupted).unwrap_err().code(), "ERR_L2_BAD_INPUT");
    }
}
