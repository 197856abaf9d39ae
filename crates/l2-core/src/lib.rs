//! Sans-I/O protocol core of l2-session.
//!
//! Everything here takes bytes (and, where time matters, a caller-supplied `now`) and returns
//! bytes and outcomes: no sockets, no clock reads, no threads. That keeps the handshake and the
//! frame layer deterministic, fuzzable and testable without a network. See `SPEC.md` at the
//! repository root for the wire formats and the key schedule.

pub mod did;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod primitives;

pub use error::{Error, Result};
