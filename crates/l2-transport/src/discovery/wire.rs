//! Discovery wire format, version 1. All integers big-endian.
//!
//! ```text
//! probe  = "L2D" ver=1 kind=1 nonce[16] padding            (PROBE_LEN..=MAX_DATAGRAM bytes)
//! answer = "L2D" ver=1 kind=2 nonce[16]
//!          quic_port u16  utcp_port u16                    (0 = transport not offered)
//!          family u8 (4|6)  ip[4|16]  port u16             (where the probe came from)
//!          public_key[32]  did_len u8  did[did_len]
//!          signature[64]                                   (Ed25519 over SIG_CONTEXT ‖ all above)
//! ```
//! The largest answer (a 255-byte DID over IPv6) is 408 bytes, below [`PROBE_LEN`]: a probe
//! is padded so the answer is never larger than the probe, so a spoofed source cannot use a
//! node as an amplifier. The nonce ties an answer to its probe and is signed, so an old answer
//! cannot be replayed to a new probe.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ed25519_dalek::{Signer, SigningKey};

/// Protocol magic.
pub const MAGIC: [u8; 3] = *b"L2D";
/// Format version carried in every datagram.
pub const VERSION: u8 = 1;
/// Minimum (and the sent) probe length.
pub const PROBE_LEN: usize = 512;
/// Largest datagram a discovery socket reads; longer ones are malformed.
pub const MAX_DATAGRAM: usize = 1200;
/// Length of the probe nonce.
pub const NONCE_LEN: usize = 16;
/// Domain separation for answer signatures.
const SIG_CONTEXT: &[u8] = b"l2s/1 discovery answer\0";
const KIND_PROBE: u8 = 1;
const KIND_ANSWER: u8 = 2;
const HEADER_LEN: usize = MAGIC.len() + 2;
const SIG_LEN: usize = 64;

/// A request for answers from whoever listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Random per probe; echoed in the signed answer.
    pub nonce: [u8; NONCE_LEN],
}

impl Probe {
    /// The padded datagram.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = header(KIND_PROBE);
        out.extend_from_slice(&self.nonce);
        out.resize(PROBE_LEN, 0);
        out
    }

    /// Parses a probe; `None` for anything else, including short (unpadded) probes.
    pub fn decode(bytes: &[u8]) -> Option<Probe> {
        if bytes.len() < PROBE_LEN || bytes.len() > MAX_DATAGRAM || !has_header(bytes, KIND_PROBE) {
            return None;
        }
        let nonce = bytes[HEADER_LEN..HEADER_LEN + NONCE_LEN].try_into().ok()?;
        Some(Probe { nonce })
    }
}

/// What a node says about itself in answer to a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Nonce of the probe answered.
    pub nonce: [u8; NONCE_LEN],
    /// QUIC UDP port, if offered.
    pub quic_port: Option<u16>,
    /// μTCP port, if offered.
    pub utcp_port: Option<u16>,
    /// Source address of the probe as the answering node saw it (STUN-like).
    pub observed: SocketAddr,
    /// Ed25519 key that signed this answer.
    pub public_key: [u8; 32],
    /// The node's DID, opaque here; the L2 layer checks that it names `public_key`.
    pub did: String,
}

/// Why an answer was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AnswerError {
    /// Not a well-formed version-1 answer.
    Malformed,
    /// Well-formed, but the signature does not verify under the enclosed key.
    BadSignature,
}

impl Answer {
    /// Encodes and signs. `did` must be at most 255 bytes (checked by `NodeConfig`).
    pub fn encode_signed(&self, key: &SigningKey) -> Vec<u8> {
        let mut out = header(KIND_ANSWER);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.quic_port.unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&self.utcp_port.unwrap_or(0).to_be_bytes());
        match self.observed.ip() {
            IpAddr::V4(ip) => {
                out.push(4);
                out.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.push(6);
                out.extend_from_slice(&ip.octets());
            }
        }
        out.extend_from_slice(&self.observed.port().to_be_bytes());
        out.extend_from_slice(&self.public_key);
        let did = &self.did.as_bytes()[..self.did.len().min(255)];
        out.push(did.len() as u8);
        out.extend_from_slice(did);
        let sig = key.sign(&signed_message(&out));
        out.extend_from_slice(&sig.to_bytes());
        out
    }

    /// Parses and verifies the signature under the enclosed public key.
    pub fn decode_verified(bytes: &[u8]) -> Result<Answer, AnswerError> {
        if bytes.len() > MAX_DATAGRAM
            || bytes.len() < HEADER_LEN + SIG_LEN
            || !has_header(bytes, KIND_ANSWER)
        {
            return Err(AnswerError::Malformed);
        }
        let (body, sig) = bytes.split_at(bytes.len() - SIG_LEN);
        let mut r = Reader(&body[HEADER_LEN..]);
        let nonce = r.array::<NONCE_LEN>()?;
        let quic_port = non_zero(r.u16()?);
        let utcp_port = non_zero(r.u16()?);
        let ip = match r.u8()? {
            4 => IpAddr::V4(Ipv4Addr::from(r.array::<4>()?)),
            6 => IpAddr::V6(Ipv6Addr::from(r.array::<16>()?)),
            _ => return Err(AnswerError::Malformed),
        };
        let observed = SocketAddr::new(ip, r.u16()?);
        let public_key = r.array::<32>()?;
        let did_len = usize::from(r.u8()?);
        let did = std::str::from_utf8(r.take(did_len)?)
            .map_err(|_| AnswerError::Malformed)?
            .to_string();
        if !r.0.is_empty() {
            return Err(AnswerError::Malformed);
        }
        let sig: &[u8; SIG_LEN] = sig.try_into().map_err(|_| AnswerError::Malformed)?;
        l2_core::primitives::ed25519::verify(&public_key, &signed_message(body), sig)
            .map_err(|_| AnswerError::BadSignature)?;
        Ok(Answer {
            nonce,
            quic_port,
            utcp_port,
            observed,
            public_key,
            did,
        })
    }
}

fn header(kind: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROBE_LEN);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(kind);
    out
}

fn has_header(bytes: &[u8], kind: u8) -> bool {
    bytes.len() >= HEADER_LEN && bytes[..3] == MAGIC && bytes[3] == VERSION && bytes[4] == kind
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    [SIG_CONTEXT, body].concat()
}

fn non_zero(port: u16) -> Option<u16> {
    (port != 0).then_some(port)
}

/// Bounds-checked cursor: every read of wire input goes through it.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], AnswerError> {
        if self.0.len() < n {
            return Err(AnswerError::Malformed);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], AnswerError> {
        self.take(N)?.try_into().map_err(|_| AnswerError::Malformed)
    }
    fn u8(&mut self) -> Result<u8, AnswerError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, AnswerError> {
        Ok(u16::from_be_bytes(self.array::<2>()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(did: &str, observed: SocketAddr) -> (SigningKey, Answer) {
        let key = SigningKey::from_bytes(&[9; 32]);
        let a = Answer {
            nonce: [3; NONCE_LEN],
            quic_port: Some(4433),
            utcp_port: None,
            observed,
            public_key: key.verifying_key().to_bytes(),
            did: did.into(),
        };
        (key, a)
    }

    #[test]
    fn answer_round_trips_and_fits_in_a_probe() {
        let v6: SocketAddr = "[2001:db8::1]:9".parse().expect("literal");
        let (key, a) = answer(&"d".repeat(255), v6);
        let bytes = a.encode_signed(&key);
        assert!(
            bytes.len() <= PROBE_LEN,
            "largest answer is {} bytes",
            bytes.len()
        );
        assert_eq!(Answer::decode_verified(&bytes), Ok(a));
    }

    #[test]
    fn tampered_answer_fails_signature() {
        let (key, a) = answer("did:key:z6Mk", "127.0.0.1:5".parse().expect("literal"));
        let mut bytes = a.encode_signed(&key);
        bytes[HEADER_LEN + NONCE_LEN] ^= 1; // claim another QUIC port
        assert_eq!(
            Answer::decode_verified(&bytes),
            Err(AnswerError::BadSignature)
        );
    }

    #[test]
    fn probe_must_be_padded_and_well_formed() {
        let p = Probe {
            nonce: [1; NONCE_LEN],
        };
        let bytes = p.encode();
        assert_eq!(bytes.len(), PROBE_LEN);
        assert_eq!(Probe::decode(&bytes), Some(p));
        assert_eq!(Probe::decode(&bytes[..PROBE_LEN - 1]), None);
        let mut wrong_version = bytes.clone();
        wrong_version[3] = 2;
        assert_eq!(Probe::decode(&wrong_version), None);
    }

    #[test]
    fn every_truncation_is_malformed_never_a_panic() {
        let (key, a) = answer("did:key:z6Mk", "127.0.0.1:5".parse().expect("literal"));
        let bytes = a.encode_signed(&key);
        for n in 0..bytes.len() {
            assert!(Answer::decode_verified(&bytes[..n]).is_err());
        }
    }
}
