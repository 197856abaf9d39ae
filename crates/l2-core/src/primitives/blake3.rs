//! BLAKE3 in its three modes (hash, keyed hash, derive key) with extendable output.

use crate::{Error, Result};

/// Longest output we hand out in one call (a guard against a hostile `length`).
pub const MAX_OUTPUT: usize = 1 << 20;

/// BLAKE3 of `data`: keyed when `key` is given, derive-key when `context` is given (not both),
/// `length` bytes of output (default 32).
pub fn hash(data: &[u8], length: Option<usize>, key: Option<&[u8]>, context: Option<&str>) -> Result<Vec<u8>> {
    let length = length.unwrap_or(32);
    if length == 0 || length > MAX_OUTPUT {
        return Err(Error::BadInput(format!("blake3 length must be 1..={MAX_OUTPUT}, got {length}")));
    }
    let mut hasher = match (key, context) {
        (Some(_), Some(_)) => return Err(Error::BadInput("blake3 takes a key or a context, not both".into())),
        (Some(k), None) => ::blake3::Hasher::new_keyed(&crate::error::fixed("blake3 key", k)?),
        (None, Some(c)) => ::blake3::Hasher::new_derive_key(c),
        (None, None) => ::blake3::Hasher::new(),
    };
    hasher.update(data);
    let mut out = vec![0u8; length];
    hasher.finalize_xof().fill(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_empty_input_vector() {
        let out = hash(b"", None, None, None).unwrap();
        assert_eq!(out[..4], [0xaf, 0x13, 0x49, 0xb9]);
    }

    #[test]
    fn modes_differ_and_bad_args_fail() {
        let plain = hash(b"x", Some(64), None, None).unwrap();
        assert_eq!(plain.len(), 64);
        assert_ne!(hash(b"x", None, Some(&[0; 32]), None).unwrap(), plain[..32]);
        assert_ne!(hash(b"x", None, None, Some("ctx")).unwrap(), plain[..32]);
        assert!(hash(b"x", Some(0), None, None).is_err());
        assert!(hash(b"x", None, Some(&[0; 31]), None).is_err());
        assert!(hash(b"x", None, Some(&[0; 32]), Some("c")).is_err());
    }
}
