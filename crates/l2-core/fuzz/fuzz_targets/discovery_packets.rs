//! Discovery datagrams (`l2_transport::discovery::wire`): `Probe::decode`, which the
//! answering side runs on every datagram, and `Answer::decode_verified`, which the probing
//! side runs on every reply, against a parse written out from SPEC.md.
//!
//! Input: a mode byte, then a datagram. Even mode: the datagram as received. Odd mode: the
//! bytes before the signature; the target signs them with a fixture key (the fuzzer cannot
//! sign), so the parser past the signature check is reached.
//! Properties: no panic; a probe decodes exactly when it is a padded version-1 probe and
//! gives its nonce; an answer is `Malformed` exactly when the reference parse refuses it,
//! otherwise it verifies exactly when a fixture key signed it and the key it carries is that
//! key (else `BadSignature`); a verified answer carries the reference fields and re-encodes to
//! the same bytes.
#![no_main]

use ed25519_dalek::Signer;
use l2_core_fuzz::{discovery_keys as keys, trace};
use l2_transport::discovery::wire::{Answer, AnswerError, Probe, MAX_DATAGRAM, PROBE_LEN};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, SocketAddr};

/// Signing context from SPEC.md ("Discovery").
const SIG_CONTEXT: &[u8] = b"l2s/1 discovery answer\0";

/// The fields of a well-formed answer (reference parse; the signature is not checked).
#[derive(Debug, PartialEq)]
struct Fields<'a> {
    nonce: &'a [u8],
    quic_port: Option<u16>,
    utcp_port: Option<u16>,
    observed: SocketAddr,
    public_key: &'a [u8],
    did: &'a str,
}

fn reference(d: &[u8]) -> Option<Fields<'_>> {
    if d.len() > MAX_DATAGRAM || d.len() < 5 + 64 || d[..5] != *b"L2D\x01\x02" {
        return None;
    }
    let body = &d[5..d.len() - 64];
    let port = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    let offered = |p: u16| (p != 0).then_some(p);
    if body.len() < 21 {
        return None;
    }
    let (ip, rest): (IpAddr, &[u8]) = match body[20] {
        4 if body.len() >= 25 => (<[u8; 4]>::try_from(&body[21..25]).unwrap().into(), &body[25..]),
        6 if body.len() >= 37 => (<[u8; 16]>::try_from(&body[21..37]).unwrap().into(), &body[37..]),
        _ => return None,
    };
    if rest.len() < 2 + 32 + 1 || rest.len() != 2 + 32 + 1 + rest[34] as usize {
        return None;
    }
    Some(Fields {
        nonce: &body[..16],
        quic_port: offered(port(&body[16..18])),
        utcp_port: offered(port(&body[18..20])),
        observed: SocketAddr::new(ip, port(&rest[..2])),
        public_key: &rest[2..34],
        did: std::str::from_utf8(&rest[35..]).ok()?,
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let signer = &keys()[(mode >> 1) as usize % keys().len()];
    let signed;
    let d = if mode & 1 == 1 {
        let sig = signer.sign(&[SIG_CONTEXT, rest].concat());
        signed = [rest, &sig.to_bytes()[..]].concat();
        &signed[..]
    } else {
        rest
    };

    let probe = Probe::decode(d);
    let is_probe = (PROBE_LEN..=MAX_DATAGRAM).contains(&d.len()) && d[..5] == *b"L2D\x01\x01";
    assert_eq!(probe.is_some(), is_probe, "probe acceptance");
    if let Some(p) = probe {
        trace!("probe");
        assert_eq!(p.nonce[..], d[5..21]);
        let e = p.encode();
        assert_eq!((e.len(), &e[..21]), (PROBE_LEN, &d[..21]));
    }

    let fields = reference(d);
    match Answer::decode_verified(d) {
        Ok(a) => {
            let f = fields.expect("verified an answer the reference refuses");
            let got = Fields {
                nonce: &a.nonce,
                quic_port: a.quic_port,
                utcp_port: a.utcp_port,
                observed: a.observed,
                public_key: &a.public_key,
                did: &a.did,
            };
            assert_eq!(got, f);
            let key = keys()
                .iter()
                .find(|k| k.verifying_key().to_bytes() == a.public_key)
                .expect("verified an answer no fixture key signed");
            trace!("verified answer from {}", a.did);
            assert_eq!(a.encode_signed(key), d, "re-encoding gives other bytes");
        }
        Err(AnswerError::Malformed) => {
            trace!("malformed answer");
            assert!(fields.is_none(), "refused a well-formed answer as malformed");
        }
        Err(AnswerError::BadSignature) => {
            trace!("answer with a bad signature");
            let f = fields.expect("BadSignature for an answer the reference refuses");
            // The fuzzer cannot sign: only the target's own signature over an answer that
            // carries the signer's key may verify.
            assert!(mode & 1 == 0 || f.public_key != signer.verifying_key().to_bytes(), "refused an answer signed by its own key");
        }
    }
});
