//! Low-level primitives for benchmark suites and relays (`require('l2-session').crypto`).

use crate::{js_buffer, to_js, Code};
use napi::Result;
use l2_core::primitives::{aead, blake3, ed25519, mlkem, x25519, xwing};
use napi::bindgen_prelude::{Buffer, BufferSlice, Uint8Array};
use napi::Env;
use napi_derive::napi;

/// An ML-KEM-768 key pair.
#[napi(object)]
pub struct MlKemKeyPair {
    /// 1184-byte encapsulation key.
    pub encapsulation_key: Buffer,
    /// 2400-byte decapsulation key (FIPS 203 expanded form).
    pub decapsulation_key: Buffer,
}

/// A public/secret key pair.
#[napi(object)]
pub struct KeyPair {
    pub public_key: Buffer,
    pub secret_key: Buffer,
}

/// A KEM ciphertext and the shared secret it carries.
#[napi(object)]
pub struct Encapsulation {
    pub ciphertext: Buffer,
    pub shared_secret: Buffer,
}

/// Options of `blake3`.
#[napi(object)]
pub struct Blake3Options {
    /// Output length in bytes (default 32).
    pub length: Option<u32>,
    /// 32-byte key: keyed-hash mode.
    pub key: Option<Uint8Array>,
    /// Context string: derive-key mode.
    pub context: Option<String>,
}

fn seed32(seed: Option<&[u8]>, what: &str) -> Result<zeroize::Zeroizing<[u8; 32]>, Code> {
    match seed {
        Some(s) => fixed::<32>(what, &s).map(zeroize::Zeroizing::new),
        None => l2_core::primitives::random::<32>().map(zeroize::Zeroizing::new).map_err(to_js),
    }
}

#[napi(catch_unwind)]
pub fn mlkem768_keygen(seed: Option<&[u8]>) -> Result<MlKemKeyPair, Code> {
    let (ek, dk) = mlkem::keygen(seed).map_err(to_js)?;
    Ok(MlKemKeyPair { encapsulation_key: ek.to_vec().into(), decapsulation_key: dk.as_bytes().to_vec().into() })
}

#[napi(catch_unwind)]
pub fn mlkem768_encapsulate(encapsulation_key: &[u8], m: Option<&[u8]>) -> Result<Encapsulation, Code> {
    let (ct, ss) = mlkem::encapsulate(&encapsulation_key, m).map_err(to_js)?;
    Ok(Encapsulation { ciphertext: ct.to_vec().into(), shared_secret: ss.to_vec().into() })
}

#[napi(catch_unwind)]
pub fn mlkem768_decapsulate(ciphertext: &[u8], decapsulation_key: &[u8]) -> Result<Buffer, Code> {
    Ok(mlkem::decapsulate(&ciphertext, &decapsulation_key).map_err(to_js)?.to_vec().into())
}

#[napi(catch_unwind)]
pub fn x25519_keygen(seed: Option<&[u8]>) -> Result<KeyPair, Code> {
    let secret = seed32(seed, "X25519 seed")?;
    Ok(KeyPair { public_key: x25519::public_key(&secret).to_vec().into(), secret_key: secret.to_vec().into() })
}

#[napi(catch_unwind)]
pub fn x25519_shared_secret(secret_key: &[u8], public_key: &[u8]) -> Result<Buffer, Code> {
    let sk = fixed::<32>("X25519 secret key", &secret_key)?;
    let pk = fixed::<32>("X25519 public key", &public_key)?;
    Ok(x25519::shared_secret(&sk, &pk).map_err(to_js)?.to_vec().into())
}

#[napi(catch_unwind)]
pub fn ed25519_keygen(seed: Option<&[u8]>) -> Result<KeyPair, Code> {
    let secret = seed32(seed, "Ed25519 seed")?;
    Ok(KeyPair { public_key: ed25519::public_key(&secret).to_vec().into(), secret_key: secret.to_vec().into() })
}

#[napi(catch_unwind)]
pub fn ed25519_sign(secret_key: &[u8], message: &[u8]) -> Result<Buffer, Code> {
    let sk = zeroize::Zeroizing::new(fixed::<32>("Ed25519 secret key", &secret_key)?);
    Ok(ed25519::sign(&sk, &message).to_vec().into())
}

/// False for any invalid signature; throws only for a public key or signature of the wrong size.
#[napi(catch_unwind)]
pub fn ed25519_verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<bool, Code> {
    let pk = fixed::<32>("Ed25519 public key", &public_key)?;
    let sig = fixed::<64>("Ed25519 signature", &signature)?;
    Ok(ed25519::verify(&pk, &message, &sig).is_ok())
}

#[napi(catch_unwind)]
pub fn aead_seal<'env>(env: &'env Env, key: &[u8], nonce: &[u8], plaintext: &[u8], aad: Option<&[u8]>) -> Result<BufferSlice<'env>, Code> {
    let mut out = js_buffer(env, plaintext.len() + aead::TAG_LEN)?;
    aead::seal_to(key, nonce, plaintext, aad.unwrap_or_default(), &mut out).map_err(to_js)?;
    Ok(out)
}

#[napi(catch_unwind)]
pub fn aead_open<'env>(env: &'env Env, key: &[u8], nonce: &[u8], sealed: &[u8], aad: Option<&[u8]>) -> Result<BufferSlice<'env>, Code> {
    let mut out = js_buffer(env, sealed.len().saturating_sub(aead::TAG_LEN))?;
    aead::open_to(key, nonce, sealed, aad.unwrap_or_default(), &mut out).map_err(to_js)?;
    Ok(out)
}

#[napi(catch_unwind)]
pub fn xwing_keygen(seed: Option<&[u8]>) -> Result<KeyPair, Code> {
    let (pk, sk) = xwing::keygen(seed).map_err(to_js)?;
    Ok(KeyPair { public_key: pk.to_vec().into(), secret_key: sk.to_vec().into() })
}

#[napi(catch_unwind)]
pub fn xwing_encapsulate(public_key: &[u8], eseed: Option<&[u8]>) -> Result<Encapsulation, Code> {
    let (ct, ss) = xwing::encapsulate(&public_key, eseed).map_err(to_js)?;
    Ok(Encapsulation { ciphertext: ct.to_vec().into(), shared_secret: ss.to_vec().into() })
}

#[napi(catch_unwind)]
pub fn xwing_decapsulate(ciphertext: &[u8], secret_key: &[u8]) -> Result<Buffer, Code> {
    Ok(xwing::decapsulate(&ciphertext, &secret_key).map_err(to_js)?.to_vec().into())
}

#[napi(catch_unwind)]
pub fn blake3_hash(data: &[u8], options: Option<Blake3Options>) -> Result<Buffer, Code> {
    let (length, key, context) = match &options {
        Some(o) => (o.length.map(|l| l as usize), o.key.as_deref(), o.context.as_deref()),
        None => (None, None, None),
    };
    Ok(blake3::hash(&data, length, key, context).map_err(to_js)?.into())
}

/// Copies a borrowed slice into a fixed array, naming the argument on a size mismatch.
pub fn fixed<const N: usize>(what: &str, bytes: &[u8]) -> Result<[u8; N], Code> {
    bytes.try_into().map_err(|_| crate::bad_input(format!("{what} must be {N} bytes, got {}", bytes.len())))
}
