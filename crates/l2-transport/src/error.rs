//! One error type for the transport layer, each variant with a stable code string that the
//! napi binding forwards unchanged as `L2Error.code` (see REQUIREMENTS.md, "API").

use std::io;

/// Everything the transport layer can fail with.
///
/// Variants are grouped by who is at fault: the network or peer (`Transport`), the caller or
/// the wire (`BadInput`), time (`Timeout`), lifecycle (`Closed`) and configured bounds (`Limit`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A socket, QUIC or TLS operation failed; the link or node may be unusable.
    #[error("transport failure: {0}")]
    Transport(String),
    /// Malformed input: an API argument, a configuration value or bytes from the wire.
    #[error("bad input: {0}")]
    BadInput(String),
    /// An operation did not finish within its configured time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The link or node was closed (locally, by the peer, or by node shutdown).
    #[error("closed: {0}")]
    Closed(String),
    /// A configured bound was exceeded (frame length, batch size, backlog).
    #[error("limit exceeded: {0}")]
    Limit(String),
}

impl Error {
    /// Stable machine-readable code, identical to the TypeScript `L2Error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Transport(_) => "ERR_L2_TRANSPORT",
            Error::BadInput(_) => "ERR_L2_BAD_INPUT",
            Error::Timeout(_) => "ERR_L2_TIMEOUT",
            Error::Closed(_) => "ERR_L2_CLOSED",
            Error::Limit(_) => "ERR_L2_LIMIT",
        }
    }

    pub(crate) fn transport(context: &str, err: impl std::fmt::Display) -> Self {
        Error::Transport(format!("{context}: {err}"))
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        // A reset or broken pipe means the peer went away: callers treat that as a closed link.
        match err.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::NotConnected
            | io::ErrorKind::UnexpectedEof => Error::Closed(err.to_string()),
            io::ErrorKind::TimedOut => Error::Timeout(err.to_string()),
            _ => Error::Transport(err.to_string()),
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::Transport(String::new()).code(), "ERR_L2_TRANSPORT");
        assert_eq!(Error::BadInput(String::new()).code(), "ERR_L2_BAD_INPUT");
        assert_eq!(Error::Timeout(String::new()).code(), "ERR_L2_TIMEOUT");
        assert_eq!(Error::Closed(String::new()).code(), "ERR_L2_CLOSED");
        assert_eq!(Error::Limit(String::new()).code(), "ERR_L2_LIMIT");
    }

    #[test]
    fn io_errors_map_by_kind() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert_eq!(Error::from(reset).code(), "ERR_L2_CLOSED");
        let other = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(Error::from(other).code(), "ERR_L2_TRANSPORT");
    }
}
