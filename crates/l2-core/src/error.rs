//! One error type for the core, grouped by who is at fault, each variant with a stable code.

/// Errors of the protocol core. `code()` is the stable string surfaced to JavaScript as
/// `L2Error.code`; messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller passed a wrong size or value (API misuse).
    #[error("bad input: {0}")]
    BadInput(String),
    /// Bytes from the peer do not parse (wrong length, reserved bits set, unknown type).
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: &'static str },
    /// A signature, MAC or AEAD tag did not verify, or the peer is not who we expected.
    #[error("authentication failed: {0}")]
    AuthFailed(&'static str),
    /// A frame counter was already seen or fell behind the replay window.
    #[error("replayed or stale frame (counter {0})")]
    Replay(u64),
    /// A usage limit was reached (frame counter, key epoch); new keys are required.
    #[error("limit reached: {0}")]
    Limit(&'static str),
    /// The peer speaks a protocol version or suite we do not offer.
    #[error("unsupported {what} {value}")]
    Unsupported { what: &'static str, value: u8 },
    /// An operation was called out of order (e.g. a handshake message after completion).
    #[error("invalid state: expected {expected}, got {got}")]
    InvalidState { expected: &'static str, got: &'static str },
    /// A frame names a key epoch we hold no key for (retired, or not yet installed).
    #[error("no key for epoch {0}")]
    UnknownEpoch(u16),
    /// The operating system's random source failed.
    #[error("random source failed")]
    Random,
}

impl Error {
    /// The stable error code, shared with the TypeScript `L2ErrorCode` union.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadInput(_) | Error::Malformed { .. } | Error::UnknownEpoch(_) => "ERR_L2_BAD_INPUT",
            Error::AuthFailed(_) => "ERR_L2_AUTH_FAILED",
            Error::Replay(_) => "ERR_L2_REPLAY",
            Error::Limit(_) => "ERR_L2_LIMIT",
            Error::Unsupported { .. } => "ERR_L2_UNSUPPORTED",
            Error::InvalidState { .. } => "ERR_L2_INVALID_STATE",
            Error::Random => "ERR_L2_INTERNAL",
        }
    }

    /// Shorthand for a wrong-length argument.
    pub(crate) fn length(what: &str, expected: usize, got: usize) -> Self {
        Error::BadInput(format!("{what} must be {expected} bytes, got {got}"))
    }
}

/// Result alias of the core.
pub type Result<T> = core::result::Result<T, Error>;

/// Copies a slice into a fixed array, or says which argument had the wrong length.
pub(crate) fn fixed<const N: usize>(what: &str, bytes: &[u8]) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| Error::length(what, N, bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::AuthFailed("x").code(), "ERR_L2_AUTH_FAILED");
        assert_eq!(Error::Replay(3).code(), "ERR_L2_REPLAY");
        assert_eq!(Error::Malformed { what: "frame", reason: "short" }.code(), "ERR_L2_BAD_INPUT");
    }

    #[test]
    fn fixed_names_the_argument() {
        let err = fixed::<4>("nonce", &[1, 2, 3]).unwrap_err();
        assert_eq!(err.to_string(), "bad input: nonce must be 4 bytes, got 3");
        assert_eq!(fixed::<3>("nonce", &[1, 2, 3]).unwrap(), [1, 2, 3]);
    }
}
