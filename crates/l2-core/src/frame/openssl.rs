//! Large frames through the host's OpenSSL 3, found at run time.
//!
//! AWS-LC's ChaCha20-Poly1305 stops at AVX2; OpenSSL 3 has AVX-512 code for both ChaCha20 and
//! Poly1305 and, on CPUs that have it, seals and opens a 16 KiB frame about 1.6× faster (seal+open
//! per frame, CPU time, on a Xeon: 1212 MB/s for AWS-LC, 1951 MB/s for OpenSSL 3.0). Below a few
//! KiB OpenSSL's per-call cost (its provider dispatch) loses that again, so frames from
//! `OPENSSL_FROM` bytes up go through OpenSSL on AVX-512 CPUs when the process has it; smaller
//! frames, and every frame elsewhere, through AWS-LC. Both compute the RFC 8439 AEAD: the wire is
//! the same.
//!
//! Node exports OpenSSL's symbols to addons (its documented addon ABI); distro builds of Node
//! link `libcrypto.so.3` into the global scope. Either way `dlsym(RTLD_DEFAULT, …)` finds them,
//! and nothing is linked at build time, so a host without OpenSSL 3 (Electron's BoringSSL,
//! a plain Rust program) simply keeps AWS-LC.

use crate::primitives::aead::{AeadKey, KEY_LEN, NONCE_LEN, TAG_LEN};
use crate::{Error, Result};
use core::ffi::{c_int, c_uchar, c_ulong, c_void, CStr};
use std::sync::OnceLock;

/// Plaintext length from which frames are sealed and opened by OpenSSL when the process has it.
/// Seal+open per frame, CPU time, OpenSSL 3.0 against AWS-LC on an AVX-512 Xeon: 1.34× AWS-LC's
/// time at 1 KiB, 1.03× at 2.25 KiB, 1.00× at 2.5 KiB, 0.91× at 2.75 KiB, 0.62× at 16 KiB.
pub const OPENSSL_FROM: usize = 2560;

/// Which implementation seals and opens a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AeadProvider {
    /// aws-lc-rs, linked into the crate (always present).
    AwsLc,
    /// The process's OpenSSL 3 (`libcrypto`), found at run time.
    OpenSsl,
}

/// The provider frames with `plaintext_len` bytes go through in this process: OpenSSL from
/// `OPENSSL_FROM` bytes when the CPU has AVX-512 and the process has an OpenSSL 3 that passed
/// its self-test. OpenSSL is looked for once, on the first call (or the first frame cipher); a
/// library loaded later is not seen.
pub fn provider_for(plaintext_len: usize) -> AeadProvider {
    if plaintext_len >= OPENSSL_FROM && wide_vectors() && evp().is_some() {
        AeadProvider::OpenSsl
    } else {
        AeadProvider::AwsLc
    }
}

/// OpenSSL is faster only through its AVX-512 code (ChaCha20_16x needs AVX512F, Poly1305's
/// vpmadd52 code AVX512IFMA and VL); without it both libraries run AVX2 (or NEON) code and
/// AWS-LC, the one always present, keeps every frame.
fn wide_vectors() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512vl") && std::is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

const EVP_CTRL_AEAD_GET_TAG: c_int = 0x10;
const EVP_CTRL_AEAD_SET_TAG: c_int = 0x11;

type CtxNew = unsafe extern "C" fn() -> *mut c_void;
type CtxFree = unsafe extern "C" fn(*mut c_void);
type CipherFn = unsafe extern "C" fn() -> *const c_void;
type CipherInit = unsafe extern "C" fn(*mut c_void, *const c_void, *mut c_void, *const c_uchar, *const c_uchar, c_int) -> c_int;
type CtxCtrl = unsafe extern "C" fn(*mut c_void, c_int, c_int, *mut c_void) -> c_int;
type CipherUpdate = unsafe extern "C" fn(*mut c_void, *mut c_uchar, *mut c_int, *const c_uchar, c_int) -> c_int;
type CipherFinal = unsafe extern "C" fn(*mut c_void, *mut c_uchar, *mut c_int) -> c_int;
type VersionNum = unsafe extern "C" fn() -> c_ulong;

/// The handful of libcrypto functions a frame needs, resolved together or not at all.
struct Evp {
    ctx_new: CtxNew,
    ctx_free: CtxFree,
    /// `EVP_chacha20_poly1305()`: a static object inside libcrypto, valid for the process.
    cipher: usize,
    init: CipherInit,
    ctrl: CtxCtrl,
    update: CipherUpdate,
    finish: CipherFinal,
}

/// OpenSSL 3.0.0 as `OpenSSL_version_num` encodes it (0xMNN00PP0L). BoringSSL reports 1.1.1.
const OPENSSL_3: c_ulong = 0x3000_0000;

fn sym(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the loaded objects' tables.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

fn evp() -> Option<&'static Evp> {
    static EVP: OnceLock<Option<Evp>> = OnceLock::new();
    EVP.get_or_init(|| resolve().filter(self_test)).as_ref()
}

fn resolve() -> Option<Evp> {
    // SAFETY (all transmutes): each symbol is the OpenSSL 3 function of that name, whose C
    // signature the matching type spells out; a host exporting the names with other meanings
    // would fail the version check or the known-answer test before any frame uses them.
    unsafe {
        let version: VersionNum = core::mem::transmute(sym(c"OpenSSL_version_num")?);
        if version() < OPENSSL_3 {
            return None;
        }
        let cipher: CipherFn = core::mem::transmute(sym(c"EVP_chacha20_poly1305")?);
        let cipher = cipher();
        if cipher.is_null() {
            return None;
        }
        Some(Evp {
            ctx_new: core::mem::transmute::<*mut c_void, CtxNew>(sym(c"EVP_CIPHER_CTX_new")?),
            ctx_free: core::mem::transmute::<*mut c_void, CtxFree>(sym(c"EVP_CIPHER_CTX_free")?),
            cipher: cipher as usize,
            init: core::mem::transmute::<*mut c_void, CipherInit>(sym(c"EVP_CipherInit_ex")?),
            ctrl: core::mem::transmute::<*mut c_void, CtxCtrl>(sym(c"EVP_CIPHER_CTX_ctrl")?),
            update: core::mem::transmute::<*mut c_void, CipherUpdate>(sym(c"EVP_CipherUpdate")?),
            finish: core::mem::transmute::<*mut c_void, CipherFinal>(sym(c"EVP_CipherFinal_ex")?),
        })
    }
}

/// OpenSSL is trusted with frames only once it reproduces RFC 8439 §2.8.2, refuses that vector
/// with a flipped tag, and agrees with AWS-LC on a message long enough for its widest code path.
fn self_test(evp: &Evp) -> bool {
    const KEY: [u8; 32] = {
        let mut k = [0u8; 32];
        let mut i = 0;
        while i < 32 {
            k[i] = 0x80 + i as u8;
            i += 1;
        }
        k
    };
    const NONCE: [u8; 12] = [7, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47];
    const AAD: [u8; 12] = [0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7];
    const PLAIN: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
    const SEALED: [u8; 130] = [
        0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb, 0x7b, 0x86, 0xaf, 0xbc, 0x53, 0xef, 0x7e, 0xc2, //
        0xa4, 0xad, 0xed, 0x51, 0x29, 0x6e, 0x08, 0xfe, 0xa9, 0xe2, 0xb5, 0xa7, 0x36, 0xee, 0x62, 0xd6, //
        0x3d, 0xbe, 0xa4, 0x5e, 0x8c, 0xa9, 0x67, 0x12, 0x82, 0xfa, 0xfb, 0x69, 0xda, 0x92, 0x72, 0x8b, //
        0x1a, 0x71, 0xde, 0x0a, 0x9e, 0x06, 0x0b, 0x29, 0x05, 0xd6, 0xa5, 0xb6, 0x7e, 0xcd, 0x3b, 0x36, //
        0x92, 0xdd, 0xbd, 0x7f, 0x2d, 0x77, 0x8b, 0x8c, 0x98, 0x03, 0xae, 0xe3, 0x28, 0x09, 0x1b, 0x58, //
        0xfa, 0xb3, 0x24, 0xe4, 0xfa, 0xd6, 0x75, 0x94, 0x55, 0x85, 0x80, 0x8b, 0x48, 0x31, 0xd7, 0xbc, //
        0x3f, 0xf4, 0xde, 0xf0, 0x8e, 0x4b, 0x7a, 0x9d, 0xe5, 0x76, 0xd2, 0x65, 0x86, 0xce, 0xc6, 0x4b, //
        0x61, 0x16, // tag:
        0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a, 0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60, 0x06, 0x91,
    ];
    let (Some(mut sealer), Some(mut opener)) = (Ctx::new(evp, &KEY, true), Ctx::new(evp, &KEY, false)) else {
        return false;
    };
    let n = PLAIN.len();
    let (mut body, mut tag) = ([0u8; 114], [0u8; TAG_LEN]);
    if !sealer.seal(NONCE, &AAD, PLAIN, &mut body, &mut tag) || body[..] != SEALED[..n] || tag[..] != SEALED[n..] {
        return false;
    }
    let mut plain = [0u8; 114];
    if opener.open(NONCE, &AAD, &SEALED[..n], &SEALED[n..], &mut plain).is_err() || plain[..] != *PLAIN {
        return false;
    }
    let mut forged = SEALED;
    forged[n] ^= 1;
    if opener.open(NONCE, &AAD, &forged[..n], &forged[n..], &mut plain).is_ok() {
        return false;
    }
    // 16 KiB + 5: every vector width OpenSSL has, and a tail, checked against AWS-LC.
    let long: Vec<u8> = (0..(16 << 10) + 5).map(|i| (i * 7) as u8).collect();
    let (mut ours, mut theirs) = (vec![0u8; long.len()], vec![0u8; long.len()]);
    let (mut our_tag, mut their_tag) = ([0u8; TAG_LEN], [0u8; TAG_LEN]);
    AeadKey::new(&KEY).seal_out_of_place(NONCE, &AAD, &long, &mut ours, &mut our_tag);
    sealer.seal(NONCE, &AAD, &long, &mut theirs, &mut their_tag) && ours == theirs && our_tag == their_tag
}

/// One `EVP_CIPHER_CTX` holding a key for one direction.
struct Ctx<'a> {
    evp: &'a Evp,
    ctx: *mut c_void,
}

impl<'a> Ctx<'a> {
    fn new(evp: &'a Evp, key: &[u8; KEY_LEN], seal: bool) -> Option<Self> {
        // SAFETY: EVP_CIPHER_CTX_new has no preconditions; a null result is handled.
        let ctx = unsafe { (evp.ctx_new)() };
        if ctx.is_null() {
            return None;
        }
        let this = Self { evp, ctx };
        // SAFETY: a fresh context, OpenSSL's static cipher, and a 32-byte key (ChaCha20's length;
        // OpenSSL copies it into the context, which EVP_CIPHER_CTX_free cleanses).
        let ok = unsafe { (evp.init)(ctx, evp.cipher as *const c_void, core::ptr::null_mut(), key.as_ptr(), core::ptr::null(), c_int::from(seal)) };
        (ok == 1).then_some(this)
    }

    /// Starts a message: the key stays, the nonce (12 bytes, the cipher's default IV length) changes.
    fn start(&mut self, nonce: &[u8; NONCE_LEN], aad: &[u8]) -> bool {
        let Ok(aad_len) = c_int::try_from(aad.len()) else { return false };
        let mut n = 0;
        // SAFETY: `ctx` holds the cipher and key; a null cipher and key keep them (-1 keeps the
        // direction); the nonce is 12 bytes; AAD goes in as an update with a null output.
        unsafe {
            (self.evp.init)(self.ctx, core::ptr::null(), core::ptr::null_mut(), core::ptr::null(), nonce.as_ptr(), -1) == 1
                && (self.evp.update)(self.ctx, core::ptr::null_mut(), &mut n, aad.as_ptr(), aad_len) == 1
        }
    }

    /// Encrypts `plaintext` into `out` (as long) and writes the tag; false if OpenSSL failed.
    fn seal(&mut self, nonce: [u8; NONCE_LEN], aad: &[u8], plaintext: &[u8], out: &mut [u8], tag: &mut [u8; TAG_LEN]) -> bool {
        let Ok(len) = c_int::try_from(plaintext.len()) else { return false };
        if out.len() != plaintext.len() || !self.start(&nonce, aad) {
            return false;
        }
        let (mut n, mut fin) = (0, 0);
        // SAFETY: `out` has room for `len` bytes, which a stream cipher writes exactly (n == len),
        // so the final call, which writes nothing for ChaCha20-Poly1305, gets a valid pointer
        // at the end of `out`; the tag buffer is 16 bytes.
        unsafe {
            (self.evp.update)(self.ctx, out.as_mut_ptr(), &mut n, plaintext.as_ptr(), len) == 1
                && n == len
                && (self.evp.finish)(self.ctx, out.as_mut_ptr().add(out.len()), &mut fin) == 1
                && fin == 0
                && (self.evp.ctrl)(self.ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN as c_int, tag.as_mut_ptr().cast()) == 1
        }
    }

    /// Decrypts `ciphertext` into `out` (as long) if `tag` verifies. Any failure inside OpenSSL is
    /// an authentication failure, and `out` is zeroed so no unauthenticated plaintext remains.
    fn open(&mut self, nonce: [u8; NONCE_LEN], aad: &[u8], ciphertext: &[u8], tag: &[u8], out: &mut [u8]) -> Result<()> {
        let ok = match c_int::try_from(ciphertext.len()) {
            Ok(len) if tag.len() == TAG_LEN && out.len() == ciphertext.len() => {
                let mut tag_copy = [0u8; TAG_LEN];
                tag_copy.copy_from_slice(tag);
                let (mut n, mut fin) = (0, 0);
                // SAFETY: as in `seal`; SET_TAG reads 16 bytes from a local copy (the argument is
                // not const in OpenSSL's prototype).
                self.start(&nonce, aad)
                    && unsafe {
                        (self.evp.ctrl)(self.ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN as c_int, tag_copy.as_mut_ptr().cast()) == 1
                            && (self.evp.update)(self.ctx, out.as_mut_ptr(), &mut n, ciphertext.as_ptr(), len) == 1
                            && n == len
                            && (self.evp.finish)(self.ctx, out.as_mut_ptr().add(out.len()), &mut fin) == 1
                            && fin == 0
                    }
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            out.fill(0);
            Err(Error::AuthFailed("AEAD tag mismatch"))
        }
    }
}

impl Drop for Ctx<'_> {
    fn drop(&mut self) {
        // SAFETY: `ctx` came from EVP_CIPHER_CTX_new and is freed once; freeing cleanses the key.
        unsafe { (self.evp.ctx_free)(self.ctx) }
    }
}

// SAFETY: a context is only touched through `&mut self` (one thread at a time); OpenSSL allows
// using a context from any thread as long as calls on it do not overlap. `&Ctx` gives no access.
unsafe impl Send for Ctx<'_> {}
unsafe impl Sync for Ctx<'_> {}

/// A ChaCha20-Poly1305 key for one direction in the process's OpenSSL 3 (whatever the CPU; the
/// frame cipher makes one only when `provider_for` picks OpenSSL).
pub struct OpenSslAead(Ctx<'static>);

impl OpenSslAead {
    /// A key for sealing (`seal` true) or opening; `None` when the process has no OpenSSL 3 that
    /// passed the self-test, or OpenSSL could not make a context.
    pub fn new(key: &[u8; KEY_LEN], seal: bool) -> Option<Self> {
        Ctx::new(evp()?, key, seal).map(Self)
    }

    /// Encrypts `plaintext` into `out` (as long) and writes the tag. False if OpenSSL failed (a
    /// sealing key only): the caller seals with AWS-LC instead, which gives the same bytes.
    pub fn seal_to(&mut self, nonce: [u8; NONCE_LEN], aad: &[u8], plaintext: &[u8], out: &mut [u8], tag: &mut [u8; TAG_LEN]) -> bool {
        self.0.seal(nonce, aad, plaintext, out, tag)
    }

    /// Verifies and decrypts (an opening key only); `AuthFailed`, with `out` zeroed, otherwise.
    pub fn open_to(&mut self, nonce: [u8; NONCE_LEN], aad: &[u8], ciphertext: &[u8], tag: &[u8], out: &mut [u8]) -> Result<()> {
        self.0.open(nonce, aad, ciphertext, tag, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This test binary links no libcrypto (AWS-LC's symbols are prefixed), like a host without
    /// OpenSSL 3: every frame stays with AWS-LC. tests/openssl_provider.rs loads it.
    #[test]
    fn without_openssl_every_frame_goes_through_aws_lc() {
        assert_eq!(provider_for(1 << 20), AeadProvider::AwsLc);
        assert!(OpenSslAead::new(&[1; 32], true).is_none());
    }
}
