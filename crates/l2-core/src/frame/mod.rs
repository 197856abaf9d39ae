//! Encrypted frames (SPEC.md §4): a 16-byte header authenticated as associated data, then the
//! ChaCha20-Poly1305 ciphertext and tag.
//!
//! ```text
//! 0       1       2               4                               8
//! +-------+-------+---------------+-------------------------------+
//! |version| type  |  key epoch    |     plaintext length (u32)    |
//! +-------+-------+---------------+-------------------------------+
//! |                    counter (u64, big-endian)                  |
//! +---------------------------------------------------------------+
//! |       ciphertext (length bytes) ‖ Poly1305 tag (16 bytes)      |
//! ```

mod cipher;
pub mod openssl;
pub mod replay;

pub use cipher::{sealed_len, BatchOpened, FrameCipher, FrameLimits, FrameStatus, Opened, TrafficKeys};
pub use openssl::{provider_for, AeadProvider};

use crate::{Error, Result};

/// Frame format version.
pub const FRAME_VERSION: u8 = 1;
/// Header length in bytes.
pub const HEADER_LEN: usize = 16;
/// Largest plaintext a frame may carry. Bigger messages are split by the session layer; a peer
/// announcing more is malformed, so no buffer is ever sized by a hostile length.
pub const MAX_PAYLOAD: usize = 1 << 24;
/// Bytes a frame adds to its plaintext.
pub const OVERHEAD: usize = HEADER_LEN + crate::primitives::aead::TAG_LEN;

/// What a frame carries; authenticated, so a peer cannot turn data into a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameType {
    /// Application data.
    Data = 1,
    /// Liveness probe.
    Heartbeat = 2,
    /// Answer to a heartbeat.
    HeartbeatAck = 3,
    /// In-session re-handshake message (key rotation).
    Rotate = 4,
    /// Orderly close.
    Close = 5,
    /// Cumulative acknowledgement of data frames (session layer).
    Ack = 6,
    /// First frame on a new link: names the session the link carries (session layer).
    Bind = 7,
}

impl TryFrom<u8> for FrameType {
    type Error = Error;

    fn try_from(v: u8) -> Result<Self> {
        Ok(match v {
            1 => FrameType::Data,
            2 => FrameType::Heartbeat,
            3 => FrameType::HeartbeatAck,
            4 => FrameType::Rotate,
            5 => FrameType::Close,
            6 => FrameType::Ack,
            7 => FrameType::Bind,
            _ => return Err(Error::Malformed { what: "frame header", reason: "unknown frame type" }),
        })
    }
}

/// A parsed frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the frame carries.
    pub frame_type: FrameType,
    /// Key epoch the frame was sealed under.
    pub epoch: u16,
    /// Plaintext length.
    pub len: u32,
    /// Per-direction, per-epoch counter; also the nonce.
    pub counter: u64,
}

impl Header {
    /// Serialises the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[0] = FRAME_VERSION;
        h[1] = self.frame_type as u8;
        h[2..4].copy_from_slice(&self.epoch.to_be_bytes());
        h[4..8].copy_from_slice(&self.len.to_be_bytes());
        h[8..16].copy_from_slice(&self.counter.to_be_bytes());
        h
    }

    /// Parses and validates a header from the start of `bytes`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let malformed = |reason| Error::Malformed { what: "frame header", reason };
        let h: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN).and_then(|b| b.try_into().ok()).ok_or(malformed("truncated"))?;
        if h[0] != FRAME_VERSION {
            return Err(Error::Unsupported { what: "frame version", value: h[0] });
        }
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        if len as usize > MAX_PAYLOAD {
            return Err(malformed("length above the maximum"));
        }
        Ok(Header {
            frame_type: FrameType::try_from(h[1])?,
            epoch: u16::from_be_bytes([h[2], h[3]]),
            len,
            counter: u64::from_be_bytes(h[8..16].try_into().expect("8 bytes")),
        })
    }

    /// Length of the whole frame on the wire.
    pub fn wire_len(&self) -> usize {
        OVERHEAD + self.len as usize
    }

    /// The AEAD nonce: four zero bytes ‖ counter. Keys are per direction and per epoch, so the
    /// counter alone makes it unique.
    pub fn nonce(&self) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[4..].copy_from_slice(&self.counter.to_be_bytes());
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip() {
        let h = Header { frame_type: FrameType::Rotate, epoch: 7, len: 1234, counter: u64::MAX - 1 };
        assert_eq!(Header::decode(&h.encode()).unwrap(), h);
    }

    #[test]
    fn hostile_headers_are_rejected() {
        let mut h = Header { frame_type: FrameType::Data, epoch: 0, len: 0, counter: 0 }.encode();
        assert!(Header::decode(&h[..15]).is_err());
        h[4] = 0xff;
        assert!(matches!(Header::decode(&h), Err(Error::Malformed { .. })));
        h[4] = 0;
        h[1] = 9;
        assert!(matches!(Header::decode(&h), Err(Error::Malformed { .. })));
        h[1] = 1;
        h[0] = 2;
        assert_eq!(Header::decode(&h).unwrap_err().code(), "ERR_L2_UNSUPPORTED");
    }
}
