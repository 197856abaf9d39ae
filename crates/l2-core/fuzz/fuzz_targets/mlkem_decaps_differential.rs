//! Differential fuzzing of ML-KEM-768 (FIPS 203): the library's two implementations, libcrux
//! (`l2_core::primitives::mlkem`'s byte-level API and key checks) and AWS-LC (`AwsLc`, what the
//! handshake's X-Wing runs), against each other and RustCrypto `ml-kem` 0.3.
//!
//! Input (zero-padded; the optional parts run only when the input reaches them):
//!   seed d‖z (64) ‖ ciphertext (1088) ‖ m (32)
//!   ‖ ciphertext delta (1088, XORed into a valid ciphertext: near-valid ciphertexts)
//!   ‖ encapsulation key delta (1184, XORed into the real key: modulus check)
//!   ‖ decapsulation key delta (2400, XORed into the real expanded key: hash check, and
//!     non-canonical secret coefficients)
//! Properties: same encapsulation key (and, libcrux and AWS-LC, the same expanded key) from the
//! seed; same decapsulation result for the fuzzed and the near-valid ciphertext (implicit
//! rejection included); same ciphertext and secret from encapsulation with m; same acceptance
//! of fuzzed keys and the same results when both accept.
#![no_main]

use l2_core::primitives::mlkem::{self, AwsLc, DecapsulationKey, MlKem768, CT_LEN, DK_LEN, EK_LEN, SEED_LEN};
use l2_core_fuzz::trace;
use libfuzzer_sys::fuzz_target;

mod rustcrypto {
    use ml_kem::{kem::Decapsulate, DecapsulationKey, EncapsulationKey, ExpandedDecapsulationKey, KeyExport, MlKem768};

    pub fn keygen(seed: &[u8; 64]) -> (Vec<u8>, DecapsulationKey<MlKem768>) {
        let dk = DecapsulationKey::<MlKem768>::from_seed((*seed).into());
        (dk.encapsulation_key().to_bytes().to_vec(), dk)
    }

    pub fn decapsulate(dk: &DecapsulationKey<MlKem768>, ct: &[u8]) -> Vec<u8> {
        dk.decapsulate_slice(ct).expect("ciphertext of the right length").to_vec()
    }

    pub fn encapsulate(ek: &[u8], m: &[u8; 32]) -> Option<(Vec<u8>, Vec<u8>)> {
        let ek = EncapsulationKey::<MlKem768>::new(ek.try_into().ok()?).ok()?;
        let (ct, ss) = ek.encapsulate_deterministic(&(*m).into());
        Some((ct.to_vec(), ss.to_vec()))
    }

    #[allow(deprecated)]
    pub fn from_expanded(dk: &[u8]) -> Option<DecapsulationKey<MlKem768>> {
        let expanded: &ExpandedDecapsulationKey<MlKem768> = dk.try_into().ok()?;
        DecapsulationKey::<MlKem768>::from_expanded(expanded).ok()
    }
}

const M_LEN: usize = 32;
/// Expanded key layout: dk_pke (1152) ‖ ek (1184) ‖ H(ek) (32) ‖ z (32).
const DK_PKE_LEN: usize = DK_LEN - EK_LEN - 64;
const BASE: usize = SEED_LEN + CT_LEN + M_LEN;

fn xor(a: &[u8], delta: &[u8]) -> Vec<u8> {
    a.iter().zip(delta.iter().chain(std::iter::repeat(&0))).map(|(x, d)| x ^ d).collect()
}

fn field<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = data.get(at..) {
        let n = src.len().min(N);
        out[..n].copy_from_slice(&src[..n]);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let seed: [u8; SEED_LEN] = field(data, 0);
    let ct: [u8; CT_LEN] = field(data, SEED_LEN);
    let m: [u8; M_LEN] = field(data, SEED_LEN + CT_LEN);

    // Key generation from d‖z.
    let (ek, dk) = mlkem::keygen(Some(&seed)).expect("64-byte seed");
    let (rc_ek, rc_dk) = rustcrypto::keygen(&seed);
    assert_eq!(ek.to_vec(), rc_ek, "keygen: encapsulation keys differ");
    let (aws_ek, aws_dk) = AwsLc::keygen(&seed);
    assert_eq!(aws_ek, ek, "keygen: AWS-LC encapsulation key differs");
    assert_eq!(aws_dk.as_bytes(), dk.as_bytes(), "keygen: AWS-LC expanded key differs");

    // Decapsulation of an arbitrary ciphertext (almost always implicit rejection).
    let ss = mlkem::decapsulate(&ct, dk.as_bytes()).expect("a generated key passes the hash check");
    assert_eq!(ss.to_vec(), rustcrypto::decapsulate(&rc_dk, &ct), "decapsulation differs");
    assert_eq!(*AwsLc::decapsulate(&ct, &dk).expect("AWS-LC takes a generated key"), *ss, "AWS-LC decapsulation differs");

    // Encapsulation with m, and decapsulation of that valid ciphertext.
    let (valid_ct, valid_ss) = mlkem::encapsulate(&ek, Some(&m)).expect("a generated key passes the modulus check");
    let (rc_ct, rc_ss) = rustcrypto::encapsulate(&ek, &m).expect("RustCrypto accepts a generated key");
    assert_eq!(valid_ct.to_vec(), rc_ct, "encapsulation: ciphertexts differ");
    assert_eq!(valid_ss.to_vec(), rc_ss, "encapsulation: secrets differ");
    assert_eq!(*mlkem::decapsulate(&valid_ct, dk.as_bytes()).unwrap(), *valid_ss, "libcrux round trip");
    let (aws_ct, aws_ss) = AwsLc::encapsulate(&ek, &m).expect("AWS-LC takes a generated key");
    assert_eq!((aws_ct, *aws_ss), (valid_ct, *valid_ss), "AWS-LC encapsulation differs");

    // A near-valid ciphertext: the valid one XOR a fuzzed delta (all zero: the valid one).
    if data.len() > BASE {
        let near = xor(&valid_ct, &data[BASE..]);
        let ss = mlkem::decapsulate(&near, dk.as_bytes()).unwrap();
        assert_eq!(ss.to_vec(), rustcrypto::decapsulate(&rc_dk, &near), "decapsulation of a near-valid ciphertext differs");
        let aws = AwsLc::decapsulate(&near.clone().try_into().unwrap(), &dk).unwrap();
        assert_eq!(*aws, *ss, "AWS-LC decapsulation of a near-valid ciphertext differs");
        if near[..] == valid_ct[..] {
            assert_eq!(*ss, *valid_ss);
        }
    }

    // A fuzzed encapsulation key: same modulus-check verdict, same encapsulation.
    let ek_at = BASE + CT_LEN;
    if data.len() > ek_at {
        let fuzzed_ek = xor(&ek, &data[ek_at..]);
        let lc = mlkem::encapsulate(&fuzzed_ek, Some(&m)).ok().map(|(c, s)| (c.to_vec(), s.to_vec()));
        let rc = rustcrypto::encapsulate(&fuzzed_ek, &m);
        trace!("fuzzed ek: libcrux accepts {}, RustCrypto accepts {}", lc.is_some(), rc.is_some());
        assert_eq!(lc, rc, "encapsulation to a fuzzed key differs (acceptance or result)");
        let aws = AwsLc::encapsulate(&fuzzed_ek.clone().try_into().unwrap(), &m).ok().map(|(c, s)| (c.to_vec(), s.to_vec()));
        assert_eq!(aws, lc, "AWS-LC encapsulation to a fuzzed key differs (acceptance or result)");
    }

    // A fuzzed expanded decapsulation key: libcrux checks H(ek) (FIPS 203 §7.3); RustCrypto
    // checks H(ek) and also the modulus of the embedded ek, so only that may differ.
    let dk_at = ek_at + EK_LEN;
    if data.len() > dk_at {
        let fuzzed_dk = xor(dk.as_bytes(), &data[dk_at..]);
        let lc = mlkem::decapsulate(&ct, &fuzzed_dk);
        let rc = rustcrypto::from_expanded(&fuzzed_dk);
        let aws_dk = DecapsulationKey::from_bytes(&fuzzed_dk.clone().try_into().unwrap());
        let aws = AwsLc::decapsulate(&ct, &aws_dk);
        trace!("fuzzed dk: libcrux {:?}, RustCrypto accepts: {}, AWS-LC {:?}", lc.as_ref().map(|_| ()), rc.is_some(), aws.as_ref().map(|_| ()));
        match (&lc, &aws) {
            (Ok(ss), Ok(aws_ss)) => {
                assert_eq!(**aws_ss, **ss, "AWS-LC decapsulation with a fuzzed key differs");
                let near = AwsLc::decapsulate(&valid_ct, &aws_dk).unwrap();
                assert_eq!(*near, *mlkem::decapsulate(&valid_ct, &fuzzed_dk).unwrap(), "AWS-LC: fuzzed key, valid ciphertext");
            }
            (Err(_), Err(e)) => assert_eq!(e.code(), "ERR_L2_BAD_INPUT"),
            (Ok(_), Err(e)) => panic!("AWS-LC rejects a key libcrux accepts: {e:?}"),
            (Err(e), Ok(_)) => panic!("AWS-LC accepts a key libcrux rejects: {e:?}"),
        }
        match (lc, rc) {
            (Ok(ss), Some(rc_dk)) => {
                assert_eq!(ss.to_vec(), rustcrypto::decapsulate(&rc_dk, &ct), "decapsulation with a fuzzed key differs");
                let near_ss = mlkem::decapsulate(&valid_ct, &fuzzed_dk).unwrap();
                assert_eq!(near_ss.to_vec(), rustcrypto::decapsulate(&rc_dk, &valid_ct), "fuzzed key, valid ciphertext");
            }
            (Err(e), None) => assert_eq!(e.code(), "ERR_L2_BAD_INPUT"),
            (Ok(_), None) => {
                // Explained only by an embedded ek failing the modulus check.
                let embedded_ek = &fuzzed_dk[DK_PKE_LEN..DK_PKE_LEN + EK_LEN];
                assert!(mlkem::encapsulate(embedded_ek, Some(&[0; 32])).is_err(), "RustCrypto rejects a key libcrux accepts");
            }
            (Err(e), Some(_)) => panic!("libcrux rejects a key RustCrypto accepts: {e:?}"),
        }
    }
});
