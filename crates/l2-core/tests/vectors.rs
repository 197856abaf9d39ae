//! Known-answer tests: every Wycheproof case for our primitives and every X-Wing vector, with
//! ML-KEM-768 cross-checked against an independent implementation (RustCrypto `ml-kem`).
//! Vectors live in `shared/vectors` beside the repository (override with `L2_VECTORS_DIR`);
//! a missing file fails the test rather than skipping it.

use l2_core::primitives::{aead, ed25519, mlkem, x25519, xwing};
use serde_json::Value;
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    std::env::var_os("L2_VECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"))
}

fn load(rel: &str) -> Value {
    let path = vectors_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("vector file {} missing: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

fn hex(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap_or_else(|| panic!("field {field}"))).expect("hex")
}

/// Iterates the tests of a Wycheproof file with their group.
fn cases(file: &Value) -> impl Iterator<Item = (&Value, &Value)> {
    file["testGroups"].as_array().unwrap().iter().flat_map(|g| g["tests"].as_array().unwrap().iter().map(move |t| (g, t)))
}

#[derive(Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    acceptable: usize,
}

impl Tally {
    fn count(&mut self, result: &str) {
        match result {
            "valid" => self.valid += 1,
            "invalid" => self.invalid += 1,
            "acceptable" => self.acceptable += 1,
            other => panic!("unknown result {other}"),
        }
    }

    fn report(&self, name: &str, expected_total: u64) {
        let total = self.valid + self.invalid + self.acceptable;
        println!("{name}: {total} cases passed ({} valid, {} invalid, {} acceptable)", self.valid, self.invalid, self.acceptable);
        assert_eq!(total as u64, expected_total, "{name}: every case ran");
    }
}

fn tc(t: &Value) -> String {
    t["tcId"].to_string()
}

#[test]
fn wycheproof_x25519() {
    let file = load("wycheproof/x25519_test.json");
    let mut tally = Tally::default();
    for (_, t) in cases(&file) {
        let result = t["result"].as_str().unwrap();
        let (sk, pk, shared) = (hex(t, "private"), hex(t, "public"), hex(t, "shared"));
        let ours = x25519::shared_secret(&sk.try_into().unwrap(), &pk.try_into().unwrap());
        match ours {
            Ok(s) => {
                assert_ne!(result, "invalid", "tc {}", tc(t));
                assert_eq!(s.to_vec(), shared, "tc {}", tc(t));
            }
            // We refuse all-zero outputs (low-order points), which Wycheproof marks acceptable.
            Err(_) => assert!(result == "acceptable" && shared.iter().all(|&b| b == 0), "tc {}", tc(t)),
        }
        tally.count(result);
    }
    tally.report("wycheproof x25519", file["numberOfTests"].as_u64().unwrap());
}

#[test]
fn wycheproof_ed25519() {
    let file = load("wycheproof/ed25519_test.json");
    let mut tally = Tally::default();
    for (g, t) in cases(&file) {
        let result = t["result"].as_str().unwrap();
        let pk: [u8; 32] = hex(&g["publicKey"], "pk").try_into().unwrap();
        let (msg, sig) = (hex(t, "msg"), hex(t, "sig"));
        let ok = <[u8; 64]>::try_from(sig.as_slice()).is_ok_and(|sig| ed25519::verify(&pk, &msg, &sig).is_ok());
        assert_eq!(ok, result == "valid", "tc {} ({})", tc(t), t["comment"]);
        // Our verification (AWS-LC plus the strict checks) accepts exactly what dalek's does.
        let dalek = <[u8; 64]>::try_from(sig.as_slice()).is_ok_and(|sig| {
            ed25519_dalek::VerifyingKey::from_bytes(&pk)
                .and_then(|k| k.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig)))
                .is_ok()
        });
        assert_eq!(ok, dalek, "tc {} agrees with ed25519-dalek verify_strict", tc(t));
        tally.count(result);
    }
    tally.report("wycheproof ed25519", file["numberOfTests"].as_u64().unwrap());
}

#[test]
fn wycheproof_chacha20_poly1305() {
    let file = load("wycheproof/chacha20_poly1305_test.json");
    let mut tally = Tally::default();
    for (_, t) in cases(&file) {
        let result = t["result"].as_str().unwrap();
        let (key, iv, aad, msg) = (hex(t, "key"), hex(t, "iv"), hex(t, "aad"), hex(t, "msg"));
        let sealed = [hex(t, "ct"), hex(t, "tag")].concat();
        let opened = aead::open(&key, &iv, &sealed, &aad);
        if result == "valid" {
            assert_eq!(aead::seal(&key, &iv, &msg, &aad).unwrap(), sealed, "tc {}", tc(t));
            assert_eq!(opened.unwrap(), msg, "tc {}", tc(t));
        } else {
            assert!(opened.is_err(), "tc {} must be rejected", tc(t));
        }
        tally.count(result);
    }
    tally.report("wycheproof chacha20-poly1305", file["numberOfTests"].as_u64().unwrap());
}

/// RustCrypto's ML-KEM-768, the independent implementation ours is checked against.
mod rustcrypto {
    use ml_kem::{kem::Decapsulate, DecapsulationKey, EncapsulationKey, ExpandedDecapsulationKey, KeyExport, MlKem768};

    pub fn keygen(seed: &[u8; 64]) -> Vec<u8> {
        let dk = DecapsulationKey::<MlKem768>::from_seed((*seed).into());
        dk.encapsulation_key().to_bytes().to_vec()
    }

    pub fn encapsulate(ek: &[u8], m: &[u8; 32]) -> Option<(Vec<u8>, Vec<u8>)> {
        let ek = EncapsulationKey::<MlKem768>::new(ek.try_into().ok()?).ok()?;
        let (ct, ss) = ek.encapsulate_deterministic(&(*m).into());
        Some((ct.to_vec(), ss.to_vec()))
    }

    pub fn decapsulate(dk: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
        let expanded: &ExpandedDecapsulationKey<MlKem768> = dk.try_into().ok()?;
        #[allow(deprecated)]
        let dk = DecapsulationKey::<MlKem768>::from_expanded(expanded).ok()?;
        Some(dk.decapsulate_slice(ct).ok()?.to_vec())
    }
}

#[test]
fn wycheproof_mlkem768_keygen_from_seed() {
    let file = load("wycheproof/mlkem_768_keygen_seed_test.json");
    let mut tally = Tally::default();
    for (_, t) in cases(&file) {
        let seed: [u8; 64] = hex(t, "seed").try_into().unwrap();
        let (ek, dk) = mlkem::keygen(Some(&seed)).unwrap();
        assert_eq!(ek.to_vec(), hex(t, "ek"), "tc {}", tc(t));
        assert_eq!(dk.as_bytes().to_vec(), hex(t, "dk"), "tc {}", tc(t));
        assert_eq!(rustcrypto::keygen(&seed), hex(t, "ek"), "cross-check tc {}", tc(t));
        tally.count(t["result"].as_str().unwrap());
    }
    tally.report("wycheproof ml-kem-768 keygen", file["numberOfTests"].as_u64().unwrap());
}

#[test]
fn wycheproof_mlkem768_decapsulate_after_keygen() {
    let file = load("wycheproof/mlkem_768_test.json");
    let mut tally = Tally::default();
    for (_, t) in cases(&file) {
        let result = t["result"].as_str().unwrap();
        let got = mlkem::keygen(Some(&hex(t, "seed"))).and_then(|(ek, dk)| {
            assert_eq!(ek.to_vec(), hex(t, "ek"), "tc {}", tc(t));
            mlkem::decapsulate(&hex(t, "c"), dk.as_bytes()).map(|k| (k, dk))
        });
        match result {
            "valid" => {
                let (k, dk) = got.unwrap_or_else(|e| panic!("tc {}: {e}", tc(t)));
                assert_eq!(k.to_vec(), hex(t, "K"), "tc {}", tc(t));
                assert_eq!(rustcrypto::decapsulate(dk.as_bytes(), &hex(t, "c")).unwrap(), hex(t, "K"), "cross tc {}", tc(t));
            }
            _ => assert!(got.is_err(), "tc {} must be rejected", tc(t)),
        }
        tally.count(result);
    }
    tally.report("wycheproof ml-kem-768 decaps", file["numberOfTests"].as_u64().unwrap());
}

#[test]
fn wycheproof_mlkem768_encapsulate() {
    let file = load("wycheproof/mlkem_768_encaps_test.json");
    let mut tally = Tally::default();
    for (_, t) in cases(&file) {
        let result = t["result"].as_str().unwrap();
        let (ek, m) = (hex(t, "ek"), hex(t, "m"));
        let ours = mlkem::encapsulate(&ek, Some(&m));
        let theirs = rustcrypto::encapsulate(&ek, &m.clone().try_into().unwrap());
        if result == "valid" {
            let (c, k) = ours.unwrap_or_else(|e| panic!("tc {}: {e}", tc(t)));
            assert_eq!((c.to_vec(), k.to_vec()), (hex(t, "c"), hex(t, "K")), "tc {}", tc(t));
            assert_eq!(theirs.unwrap(), (hex(t, "c"), hex(t, "K")), "cross tc {}", tc(t));
        } else {
            assert!(ours.is_err(), "tc {} must be rejected", tc(t));
            assert!(theirs.is_none(), "cross tc {} rejected too", tc(t));
        }
        tally.count(result);
    }
    tally.report("wycheproof ml-kem-768 encaps", file["numberOfTests"].as_u64().unwrap());
}

#[test]
fn wycheproof_mlkem768_semi_expanded_decapsulate() {
    let file = load("wycheproof/mlkem_768_semi_expanded_decaps_test.json");
    let mut tally = Tally::default();
    for (_, t) in cases(&file) {
        let result = t["result"].as_str().unwrap();
        let (dk, c) = (hex(t, "dk"), hex(t, "c"));
        let ours = mlkem::decapsulate(&c, &dk);
        if result == "valid" {
            assert_eq!(ours.unwrap().to_vec(), hex(t, "K"), "tc {}", tc(t));
            assert_eq!(rustcrypto::decapsulate(&dk, &c).unwrap(), hex(t, "K"), "cross tc {}", tc(t));
        } else {
            assert!(ours.is_err(), "tc {} must be rejected ({})", tc(t), t["comment"]);
        }
        tally.count(result);
    }
    tally.report("wycheproof ml-kem-768 semi-expanded decaps", file["numberOfTests"].as_u64().unwrap());
}

#[test]
fn mlkem768_differential_against_rustcrypto() {
    // Seeds from a simple deterministic stream so the run is reproducible.
    let mut state = blake3::Hasher::new().update(b"l2 differential").finalize_xof();
    for _ in 0..200 {
        let (mut seed, mut m) = ([0u8; 64], [0u8; 32]);
        state.fill(&mut seed);
        state.fill(&mut m);
        let (ek, dk) = mlkem::keygen(Some(&seed)).unwrap();
        assert_eq!(rustcrypto::keygen(&seed), ek.to_vec());
        let (ct, ss) = mlkem::encapsulate(&ek, Some(&m)).unwrap();
        assert_eq!(rustcrypto::encapsulate(&ek, &m).unwrap(), (ct.to_vec(), ss.to_vec()));
        let mut bad = ct;
        bad[(m[0] as usize) * 4] ^= 1 << (m[1] % 8);
        // Implicit rejection must agree too.
        assert_eq!(rustcrypto::decapsulate(dk.as_bytes(), &bad).unwrap(), mlkem::decapsulate(&bad, dk.as_bytes()).unwrap().to_vec());
    }
    println!("ml-kem-768 differential: 200 key pairs, encapsulations and rejections agree");
}

#[test]
fn xwing_vectors() {
    let file = load("xwing/test-vectors.json");
    let list = file.as_array().unwrap();
    for (n, v) in list.iter().enumerate() {
        let (pk, sk) = xwing::keygen(Some(&hex(v, "seed"))).unwrap();
        assert_eq!(pk.to_vec(), hex(v, "pk"), "vector {n} pk");
        assert_eq!(sk.to_vec(), hex(v, "sk"), "vector {n} sk");
        let (ct, ss) = xwing::encapsulate(&pk, Some(&hex(v, "eseed"))).unwrap();
        assert_eq!(ct.to_vec(), hex(v, "ct"), "vector {n} ct");
        assert_eq!(ss.to_vec(), hex(v, "ss"), "vector {n} ss");
        assert_eq!(xwing::decapsulate(&ct, &*sk).unwrap().to_vec(), hex(v, "ss"), "vector {n} decaps");
    }
    assert!(!list.is_empty());
    println!("x-wing: {} vectors passed (keygen, encaps, decaps)", list.len());
}
