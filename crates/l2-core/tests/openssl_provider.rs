//! Large frames through the host's OpenSSL 3 (frame/openssl.rs). A Node process has OpenSSL's
//! symbols already; this test binary loads libcrypto.so.3 into the global scope first, the way a
//! distro Node has it, so the OpenSSL provider is really selected and exercised here. A host
//! without libcrypto.so.3 fails these tests (.ci/run installs libssl3).

use l2_core::frame::openssl::{OpenSslAead, OPENSSL_FROM};
use l2_core::frame::{provider_for, AeadProvider, FrameCipher, FrameLimits, FrameType, Header, TrafficKeys, HEADER_LEN};
use l2_core::primitives::aead::{self, TAG_LEN};
use l2_core::Error;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Once;
use zeroize::Zeroizing;

/// Loads libcrypto before anything asks for OpenSSL (the provider is looked for once).
fn with_openssl() {
    static LOAD: Once = Once::new();
    LOAD.call_once(|| {
        // SAFETY: dlopen of a system library by name; the handle is kept for the process.
        let handle = unsafe { libc::dlopen(c"libcrypto.so.3".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        assert!(!handle.is_null(), "libcrypto.so.3 not found (install libssl3)");
    });
}

const SEND: [u8; 32] = [0x11; 32];
const RECV: [u8; 32] = [0x22; 32];

fn cipher(send: [u8; 32], recv: [u8; 32]) -> FrameCipher {
    FrameCipher::new(&TrafficKeys { send: Zeroizing::new(send), recv: Zeroizing::new(recv) }, FrameLimits::default())
}

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

/// Frame sizes on both sides of the crossover, and the sizes the session layer sends.
fn sizes() -> [usize; 7] {
    [OPENSSL_FROM - 1, OPENSSL_FROM, OPENSSL_FROM + 1, OPENSSL_FROM + 63, 16 << 10, (64 << 10) + 3, 1 << 20]
}

/// OpenSSL is picked only for its AVX-512 code (frame/openssl.rs); on other CPUs the frame
/// tests below run AWS-LC on both sides, and the Wycheproof test still runs OpenSSL.
fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl") && std::is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[test]
fn openssl_seals_and_opens_large_frames_only() {
    with_openssl();
    let large = if avx512() { AeadProvider::OpenSsl } else { AeadProvider::AwsLc };
    assert_eq!(provider_for(OPENSSL_FROM), large);
    assert_eq!(provider_for(64 << 10), large);
    assert_eq!(provider_for(OPENSSL_FROM - 1), AeadProvider::AwsLc);
    assert!(OpenSslAead::new(&SEND, true).is_some(), "libcrypto.so.3 passed the self-test");
}

#[test]
fn frames_sealed_by_openssl_open_with_aws_lc() {
    with_openssl();
    let mut sender = cipher(SEND, RECV);
    for len in sizes() {
        let msg = message(len);
        let frame = sender.seal(FrameType::Data, &msg).unwrap();
        let header = Header::decode(&frame).unwrap();
        let (aad, sealed) = frame.split_at(HEADER_LEN);
        assert_eq!(aead::open(&SEND, &header.nonce(), sealed, aad).unwrap(), msg, "{len} bytes");
        let mut forged = frame.clone();
        *forged.last_mut().unwrap() ^= 0x80;
        let code = aead::open(&SEND, &header.nonce(), &forged[HEADER_LEN..], aad).unwrap_err().code();
        assert_eq!(code, "ERR_L2_AUTH_FAILED", "{len} bytes: AWS-LC refuses a flipped tag");
    }
}

#[test]
fn frames_sealed_by_aws_lc_open_with_openssl() {
    with_openssl();
    let mut receiver = cipher(SEND, RECV);
    for (counter, len) in sizes().into_iter().enumerate() {
        let msg = message(len);
        let header = Header { frame_type: FrameType::Data, epoch: 0, len: len as u32, counter: counter as u64 };
        let mut frame = header.encode().to_vec();
        frame.extend_from_slice(&aead::seal(&RECV, &header.nonce(), &msg, &header.encode()).unwrap());
        let mut forged = frame.clone();
        forged[HEADER_LEN + len] ^= 1; // first tag byte
        assert!(matches!(receiver.open(&forged), Err(Error::AuthFailed(_))), "{len} bytes: forged tag refused");
        forged = frame.clone();
        forged[HEADER_LEN] ^= 1; // first ciphertext byte
        assert!(matches!(receiver.open(&forged), Err(Error::AuthFailed(_))), "{len} bytes: forged ciphertext refused");
        let opened = receiver.open(&frame).unwrap();
        assert_eq!(opened.payload, msg, "{len} bytes: opens after the refusals, on the same context");
    }
}

#[test]
fn openssl_frames_round_trip_through_batches_and_epochs() {
    with_openssl();
    let (mut a, mut b) = (cipher(SEND, RECV), cipher(RECV, SEND));
    let mut wire = Vec::new();
    for len in sizes() {
        a.seal_into(FrameType::Data, &message(len), &mut wire).unwrap();
    }
    let (data, batch) = b.open_batch(&wire);
    assert!(batch.status.iter().all(|&s| s == 0));
    assert_eq!(data, sizes().map(message).concat());
    let old = a.seal(FrameType::Data, &message(OPENSSL_FROM)).unwrap();
    a.install(&TrafficKeys { send: Zeroizing::new([3; 32]), recv: Zeroizing::new([4; 32]) }).unwrap();
    b.install(&TrafficKeys { send: Zeroizing::new([4; 32]), recv: Zeroizing::new([3; 32]) }).unwrap();
    let new = a.seal(FrameType::Data, &message(OPENSSL_FROM + 1)).unwrap();
    assert_eq!(b.open(&new).unwrap().payload, message(OPENSSL_FROM + 1));
    assert_eq!(b.open(&old).unwrap().payload, message(OPENSSL_FROM), "previous epoch's OpenSSL key still opens");
}

fn vectors_dir() -> PathBuf {
    std::env::var_os("L2_VECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors"))
}

fn hex(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap_or_else(|| panic!("field {field}"))).expect("hex")
}

/// Every Wycheproof ChaCha20-Poly1305 case through OpenSSL (tests/vectors.rs runs them through
/// AWS-LC). Nonces other than 96 bits cannot reach a frame (its nonce is a `[u8; 12]`); the
/// vectors mark all of them invalid.
#[test]
fn wycheproof_chacha20_poly1305_through_openssl() {
    with_openssl();
    let path = vectors_dir().join("wycheproof/chacha20_poly1305_test.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("vector file {} missing: {e}", path.display()));
    let file: Value = serde_json::from_str(&text).expect("valid JSON");
    let (mut ran, mut valid) = (0u64, 0u64);
    for t in file["testGroups"].as_array().unwrap().iter().flat_map(|g| g["tests"].as_array().unwrap()) {
        let id = &t["tcId"];
        let result = t["result"].as_str().unwrap();
        ran += 1;
        let (key, iv, aad, msg, ct, tag) = (hex(t, "key"), hex(t, "iv"), hex(t, "aad"), hex(t, "msg"), hex(t, "ct"), hex(t, "tag"));
        let Ok(nonce) = <[u8; 12]>::try_from(iv.as_slice()) else {
            assert_eq!(result, "invalid", "tc {id}: a non-96-bit nonce");
            continue;
        };
        let key: [u8; 32] = key.as_slice().try_into().expect("32-byte keys");
        let mut opener = OpenSslAead::new(&key, false).unwrap();
        let mut plain = vec![0xaa; ct.len()];
        let opened = opener.open_to(nonce, &aad, &ct, &tag, &mut plain);
        if result == "valid" {
            valid += 1;
            opened.unwrap_or_else(|e| panic!("tc {id}: {e}"));
            assert_eq!(plain, msg, "tc {id}");
            let mut sealer = OpenSslAead::new(&key, true).unwrap();
            let (mut out, mut got) = (vec![0u8; msg.len()], [0u8; TAG_LEN]);
            assert!(sealer.seal_to(nonce, &aad, &msg, &mut out, &mut got), "tc {id}");
            assert_eq!((out, got.to_vec()), (ct, tag), "tc {id}");
        } else {
            assert!(opened.is_err(), "tc {id} must be rejected");
            assert!(plain.iter().all(|&b| b == 0), "tc {id}: no unauthenticated plaintext left");
        }
    }
    println!("wycheproof chacha20-poly1305 through OpenSSL: {ran} cases passed ({valid} valid)");
    assert_eq!(ran, file["numberOfTests"].as_u64().unwrap(), "every case ran");
}
