//! Writes the seed corpora, `corpus/<target>/seed-*`, from the real code with the fixtures'
//! fixed keys and randomness, so the seeds are reproducible and never a blob nobody can
//! regenerate. Run from anywhere:
//!
//!     cargo run --manifest-path crates/l2-core/fuzz/Cargo.toml --example gen_corpus
//!
//! Existing `seed-*` files are replaced; anything else in the corpus directories (what
//! libFuzzer adds while running) is left alone.

use l2_core::frame::{FrameCipher, FrameLimits, FrameType, Header};
use l2_core::primitives::mlkem;
use l2_core_fuzz::{
    discovery_keys, genuine, join, messages, resumptions, sealed_tickets, traffic_keys, OTHER_TICKET_KEY, INITIATOR, RESPONDER,
    RESUME_NONCE_I, RESUME_NONCE_R, TICKET_KEY,
};
use l2_transport::discovery::wire::{Answer, Probe, MAX_DATAGRAM, PROBE_LEN};
use l2_transport::frame::PREAMBLE;
use std::fs;
use std::path::{Path, PathBuf};

struct Out {
    dir: PathBuf,
    count: usize,
}

impl Out {
    fn new(target: &str) -> Self {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
        fs::create_dir_all(&dir).unwrap();
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with("seed-") {
                fs::remove_file(path).unwrap();
            }
        }
        Self { dir, count: 0 }
    }

    fn put(&mut self, name: &str, bytes: &[u8]) {
        fs::write(self.dir.join(format!("seed-{name}")), bytes).unwrap();
        self.count += 1;
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        println!("{:>3} seeds in {}", self.count, self.dir.display());
    }
}

fn with(bytes: &[u8], f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut v = bytes.to_vec();
    f(&mut v);
    v
}

fn handshake_responder() {
    let mut out = Out::new("handshake_responder");
    let m = messages();
    for (k, g) in genuine().iter().enumerate().filter(|(_, g)| g.responder == RESPONDER) {
        out.put(&format!("honest-{k}"), &join(&g.m1, &g.m3));
    }
    out.put("m1-only", &join(&m.m1, &[]));
    out.put("m3-tag-flipped", &join(&m.m1, &with(&m.m3, |v| *v.last_mut().unwrap() ^= 1)));
    out.put("m3-identity-flipped", &join(&m.m1, &with(&m.m3, |v| v[4] ^= 0x80)));
    out.put("m3-of-other-m1", &join(&genuine()[1].m1, &m.m3));
    out.put("m1-version-2", &join(&with(&m.m1, |v| v[1] = 2), &m.m3));
    out.put("m1-reserved", &join(&with(&m.m1, |v| v[3] = 1), &[]));
    out.put("m1-truncated", &join(&m.m1[..m.m1.len() - 1], &[]));
    // First ML-KEM coefficient 4095 >= q: the modulus check must reject the key.
    out.put("m1-ek-not-reduced", &join(&with(&m.m1, |v| { v[36] = 0xff; v[37] |= 0x0f; }), &[]));
}

fn handshake_initiator() {
    let mut out = Out::new("handshake_initiator");
    let m = messages();
    for (k, g) in genuine().iter().enumerate().filter(|(_, g)| g.initiator == INITIATOR) {
        out.put(&format!("honest-{k}-pinned"), &[&[0][..], &g.m2].concat());
        out.put(&format!("honest-{k}-unpinned"), &[&[1][..], &g.m2].concat());
    }
    let m2 = |f: &dyn Fn(&mut Vec<u8>)| [&[0][..], &with(&m.m2, |v| f(v))].concat();
    out.put("m2-tag-flipped", &m2(&|v| *v.last_mut().unwrap() ^= 1));
    out.put("m2-mlkem-ct-flipped", &m2(&|v| v[36 + 10] ^= 1));
    out.put("m2-x25519-zero", &m2(&|v| v[36 + 1088..36 + 1120].fill(0)));
    out.put("m2-suite-2", &m2(&|v| v[2] = 2));
    out.put("m2-truncated", &m2(&|v| v.truncate(200)));
}

/// Builds `frame_open` structure-aware programs (see the target for the op codes).
#[derive(Default)]
struct Program(Vec<u8>);

impl Program {
    fn new(tiny_limits: bool) -> Self {
        Self(vec![1, tiny_limits as u8])
    }
    fn seal(mut self, type_index: u8, payload: &[u8]) -> Self {
        assert!(payload.len() < 80);
        self.0.extend_from_slice(&[0, type_index, payload.len() as u8]);
        self.0.extend_from_slice(payload);
        self
    }
    /// Delivers sealed frame `idx` with mutations given as raw (pos u16, kind, args) bytes.
    fn deliver(mut self, idx: u8, mutations: &[&[u8]]) -> Self {
        self.0.extend_from_slice(&[2, idx, mutations.len() as u8]);
        for m in mutations {
            self.0.extend_from_slice(m);
        }
        self
    }
    fn batch(mut self, idxs: &[u8], trailing: &[u8]) -> Self {
        self.0.extend_from_slice(&[3, idxs.len() as u8 - 1]);
        for &i in idxs {
            self.0.extend_from_slice(&[i, 0]);
        }
        self.0.push(trailing.len() as u8);
        self.0.extend_from_slice(trailing);
        self
    }
    fn rotate(mut self) -> Self {
        self.0.push(4);
        self
    }
    fn retire(mut self) -> Self {
        self.0.push(5);
        self
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.0.push(6);
        self.0.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }
    fn seal_to(mut self, len: u8, out_len: u8) -> Self {
        self.0.extend_from_slice(&[7, len, out_len]);
        self
    }
}

fn frame_open() {
    let mut out = Out::new("frame_open");
    let mut peer = FrameCipher::new(&traffic_keys(0, false), FrameLimits::default());
    let f0 = peer.seal(FrameType::Data, b"hello").unwrap();
    let f1 = peer.seal(FrameType::Heartbeat, b"").unwrap();
    let f2 = peer.seal(FrameType::Close, &[0xab; 40]).unwrap();
    let f3 = peer.seal(FrameType::Data, b"partial").unwrap();
    out.put("raw-one", &[&[0][..], &f0].concat());
    out.put("raw-batch", &[&[0][..], &f0, &f1, &f2, &f3[..10]].concat());
    out.put("raw-batch-replayed", &[&[0][..], &f0, &f0].concat());
    out.put("raw-tag-flipped", &[&[0][..], &with(&f2, |v| *v.last_mut().unwrap() ^= 1)].concat());
    out.put("raw-bad-version", &[&[0][..], &f0, &with(&f1, |v| v[0] = 2)].concat());

    let flip_bit = [0u8, 20, 0, 3].as_slice(); // pos 20, kind 0 (bit flip), bit 3
    let counter_7 = [0u8, 0, 5, 7].as_slice(); // kind 5: counter := 7
    let epoch_1 = [0u8, 0, 6, 1].as_slice(); // kind 6: epoch := 1
    let truncate = [0u8, 30, 2].as_slice(); // kind 2: truncate at 30
    out.put(
        "prog-deliver-replay-mutate",
        &Program::new(false)
            .seal(0, b"hello")
            .seal(1, b"")
            .seal(4, b"bye")
            .deliver(0, &[])
            .deliver(0, &[])
            .deliver(2, &[flip_bit])
            .deliver(2, &[counter_7])
            .deliver(1, &[truncate])
            .deliver(2, &[])
            .raw(&f1)
            .0,
    );
    out.put(
        "prog-batches",
        &Program::new(false)
            .seal(0, b"one")
            .seal(0, b"two")
            .seal(2, b"three")
            .batch(&[2, 0, 1, 0], b"\x01\x01\x00\x00\x00\x00")
            .seal(3, &[9; 70])
            .batch(&[3], &[])
            .0,
    );
    out.put(
        "prog-epochs",
        &Program::new(false)
            .seal(0, b"epoch 0")
            .seal(0, b"epoch 0 late")
            .rotate()
            .seal(0, b"epoch 1")
            .deliver(2, &[])
            .deliver(0, &[])
            .deliver(0, &[epoch_1])
            .retire()
            .deliver(1, &[])
            .rotate()
            .rotate()
            .seal(1, b"epoch 3")
            .batch(&[3, 2], &[])
            .0,
    );
    let mut tiny = Program::new(true);
    for i in 0..14 {
        tiny = tiny.seal(0, &[i; 3]);
    }
    for i in 0..8 {
        tiny = tiny.deliver(i, &[flip_bit]);
    }
    out.put("prog-tiny-limits", &tiny.batch(&[0, 1, 2, 12, 13], &[]).seal_to(10, 0).seal_to(10, 42).0);
}

fn frame_header() {
    let mut out = Out::new("frame_header");
    for (t, name) in [(FrameType::Data, "data"), (FrameType::Rotate, "rotate"), (FrameType::Close, "close")] {
        let h = Header { frame_type: t, epoch: 3, len: 1500, counter: 42 };
        out.put(&format!("valid-{name}"), &h.encode());
    }
    let max = Header { frame_type: FrameType::Heartbeat, epoch: u16::MAX, len: 1 << 24, counter: u64::MAX }.encode();
    out.put("valid-max", &max);
    out.put("len-over-max", &with(&max, |v| v[7] = 1));
    out.put("bad-version", &with(&max, |v| v[0] = 2));
    out.put("bad-type", &with(&max, |v| v[1] = 6));
    out.put("truncated", &max[..15]);
}

fn did_decode() {
    let mut out = Out::new("did_decode");
    out.put("w3c-example", b"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp");
    out.put("fixture-initiator", l2_core::did::encode(&INITIATOR.public_key()).as_bytes());
    out.put("other-method", b"did:web:example.com");
    out.put("prefix-only", b"did:key:z6Mk");
    out.put("not-base58", b"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDoo0l");
    out.put("leading-ones", b"did:key:z1116MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp");
    out.put("too-long", format!("did:key:z{}", "6Mk".repeat(40)).as_bytes());
}

fn mlkem_decaps_differential() {
    let mut out = Out::new("mlkem_decaps_differential");
    const EK: usize = mlkem::EK_LEN;
    const CT: usize = mlkem::CT_LEN;
    const DK_PKE: usize = mlkem::DK_LEN - EK - 64;
    let seed: Vec<u8> = (0..64u8).collect();
    let (ek, dk) = mlkem::keygen(Some(&seed)).unwrap();
    let base = [&seed[..], &[0x5c; CT], &[0x3a; 32]].concat();
    let zero_ct = vec![0u8; CT];
    out.put("base", &base);
    out.put("near-valid-ct", &[&base[..], &zero_ct].concat());
    out.put("near-valid-ct-bitflip", &[&base[..], &with(&zero_ct, |v| v[500] = 0x10)].concat());

    // Encapsulation key with first coefficient 4095 (>= q): both must refuse it.
    let mut ek_delta = vec![0u8; EK];
    ek_delta[0] = ek[0] ^ 0xff;
    ek_delta[1] = ek[1] ^ (ek[1] | 0x0f);
    out.put("ek-not-reduced", &[&base[..], &zero_ct, &ek_delta].concat());
    out.put("ek-rho-changed", &[&base[..], &zero_ct, &with(&vec![0u8; EK], |v| v[EK - 1] = 1)].concat());

    let zero_ek = vec![0u8; EK];
    let dk_seed = |name: &str, delta: Vec<u8>, out: &mut Out| out.put(name, &[&base[..], &zero_ct, &zero_ek, &delta].concat());
    let dk = dk.as_bytes();
    // Secret coefficient 4095 (not reduced mod q): accepted by both (no check covers s).
    let mut d = vec![0u8; mlkem::DK_LEN];
    d[0] = dk[0] ^ 0xff;
    d[1] = dk[1] ^ (dk[1] | 0x0f);
    dk_seed("dk-s-not-reduced", d, &mut out);
    dk_seed("dk-hash-flipped", with(&vec![0u8; mlkem::DK_LEN], |v| v[DK_PKE + EK] = 1), &mut out);
    dk_seed("dk-z-flipped", with(&vec![0u8; mlkem::DK_LEN], |v| v[mlkem::DK_LEN - 1] = 1), &mut out);
    // Embedded ek with coefficient 4095 and H(ek) recomputed: libcrux's FIPS 203 hash check
    // passes, RustCrypto also checks the modulus and refuses.
    let mut bad = dk.to_vec();
    bad[DK_PKE] = 0xff;
    bad[DK_PKE + 1] |= 0x0f;
    let h = libcrux_sha3::sha256(&bad[DK_PKE..DK_PKE + EK]);
    bad[DK_PKE + EK..DK_PKE + EK + 32].copy_from_slice(&h);
    dk_seed("dk-ek-not-reduced-rehashed", bad.iter().zip(dk.iter()).map(|(a, b)| a ^ b).collect(), &mut out);
}

fn resume_responder() {
    let mut out = Out::new("resume_responder");
    let base = &resumptions()[0];
    for x in resumptions().iter().filter(|x| x.nonce_r == RESUME_NONCE_R) {
        let nonce = if x.nonce_i == RESUME_NONCE_I { "" } else { "-other-nonce" };
        // The last session's ticket expired in the store: its honest hello must be refused.
        out.put(&format!("honest-{}{nonce}", x.session), &join(&x.r1, &x.r3));
    }
    out.put("r1-only", &join(&base.r1, &[]));
    out.put("r1-binder-flipped", &join(&with(&base.r1, |v| *v.last_mut().unwrap() ^= 1), &base.r3));
    out.put("r1-unknown-ticket", &join(&with(&base.r1, |v| v[4] ^= 1), &base.r3));
    out.put("r1-version-2", &join(&with(&base.r1, |v| v[1] = 2), &base.r3));
    out.put("r1-truncated", &join(&base.r1[..base.r1.len() - 1], &[]));
    out.put("r3-mac-flipped", &join(&base.r1, &with(&base.r3, |v| *v.last_mut().unwrap() ^= 1)));
    let other = resumptions().iter().find(|x| x.session == 0 && x.nonce_i != RESUME_NONCE_I).unwrap();
    out.put("r3-of-other-resumption", &join(&base.r1, &other.r3));
}

fn resume_initiator() {
    let mut out = Out::new("resume_initiator");
    for x in resumptions().iter().filter(|x| x.nonce_i == RESUME_NONCE_I) {
        let nonce = if x.nonce_r == RESUME_NONCE_R { "" } else { "-other-nonce" };
        out.put(&format!("honest-{}{nonce}", x.session), &[&[x.session as u8][..], &x.r2].concat());
    }
    let base = &resumptions()[0];
    let r2 = |f: &dyn Fn(&mut Vec<u8>)| [&[0][..], &with(&base.r2, |v| f(v))].concat();
    out.put("r2-mac-flipped", &r2(&|v| *v.last_mut().unwrap() ^= 1));
    out.put("r2-nonce-flipped", &r2(&|v| v[4] ^= 1));
    out.put("r2-type-6", &r2(&|v| v[0] = 6));
    out.put("r2-suite-2", &r2(&|v| v[2] = 2));
    out.put("r2-truncated", &r2(&|v| v.truncate(40)));
    out.put("r2-of-other-session", &[&[0][..], &resumptions()[1].r2].concat());
}

fn ticket_open() {
    let mut out = Out::new("ticket_open");
    for (k, t) in sealed_tickets().iter().enumerate() {
        let choice = if t.key == TICKET_KEY { 0 } else { assert_eq!(t.key, OTHER_TICKET_KEY); 1 };
        out.put(&format!("genuine-{k}"), &[&[choice][..], &t.bytes].concat());
    }
    let t = &genuine()[0].initiator_ticket;
    out.put("wrong-key", &[&[1][..], t].concat());
    // Choice 95: a 31-byte key (95 % 3 == 2, 95 / 3 == 31).
    out.put("short-key", &[&[95][..], t].concat());
    out.put("version-2", &[&[0][..], &with(t, |v| v[0] = 2)].concat());
    out.put("truncated", &[&[0][..], &t[..t.len() - 1]].concat());
    out.put("tag-flipped", &[&[0][..], &with(t, |v| *v.last_mut().unwrap() ^= 1)].concat());
    out.put("peer-flipped", &[&[0][..], &with(t, |v| v[13 + 40] ^= 1)].concat());
}

/// Builds `utcp_framing` inputs (see the target for the layout).
struct Framing {
    flags: u8,
    max_frame: u16,
    batch: u8,
    read_sizes: Vec<u8>,
}

impl Framing {
    fn raw(&self, stream: &[u8]) -> Vec<u8> {
        assert_eq!(self.flags & 1, 0);
        [&self.head()[..], stream].concat()
    }
    fn frames(&self, write_sizes: &[u8], frames: &[&[u8]]) -> Vec<u8> {
        assert_eq!(self.flags & 1, 1);
        let mut v = self.head();
        v.push(write_sizes.len() as u8);
        v.extend_from_slice(write_sizes);
        for f in frames {
            if f.len() < 255 {
                v.push(f.len() as u8);
            } else {
                v.push(255);
                v.extend_from_slice(&(f.len() as u16).to_be_bytes());
            }
            v.extend_from_slice(f);
        }
        v
    }
    fn head(&self) -> Vec<u8> {
        let mut v = vec![self.flags];
        v.extend_from_slice(&(self.max_frame - 1).to_be_bytes());
        v.push(self.batch - 1);
        v.push(self.read_sizes.len() as u8);
        v.extend_from_slice(&self.read_sizes);
        v
    }
}

fn prefixed(frames: &[&[u8]]) -> Vec<u8> {
    frames.iter().flat_map(|f| [&(f.len() as u32).to_be_bytes()[..], f].concat()).collect()
}

fn utcp_framing() {
    let mut out = Out::new("utcp_framing");
    let plain = |flags| Framing { flags, max_frame: 1500, batch: 4, read_sizes: vec![] };
    let frames: [&[u8]; 5] = [b"hello", b"", &[0xab; 300], b"world", &[7; 1500]];
    let stream = prefixed(&frames);
    out.put("raw-frames", &plain(0).raw(&stream));
    out.put("raw-byte-by-byte", &Framing { read_sizes: vec![1; 255], ..plain(0) }.raw(&stream));
    out.put("raw-not-ready", &Framing { read_sizes: vec![0, 3, 0, 0, 7, 1, 0, 200], batch: 1, ..plain(0) }.raw(&stream));
    out.put("raw-preamble", &plain(2).raw(&[&PREAMBLE[..], &stream].concat()));
    out.put("raw-preamble-split", &Framing { read_sizes: vec![2, 1, 5], ..plain(2) }.raw(&[&PREAMBLE[..], &stream].concat()));
    out.put("raw-bad-preamble", &plain(2).raw(&[&b"L2S\x02"[..], &stream].concat()));
    out.put("raw-truncated", &plain(0).raw(&stream[..stream.len() - 1]));
    out.put("raw-io-error", &plain(4).raw(&stream));
    out.put("raw-oversized", &plain(0).raw(&[&stream[..], &prefixed(&[&[1; 1501]])].concat()));
    out.put("raw-huge-prefix", &Framing { flags: 8, ..plain(0) }.raw(&[&prefixed(&[b"ok"])[..], &[0xff; 8]].concat()));
    // Announces a whole default-size frame (1 MiB) and sends a few bytes of it.
    out.put("raw-full-size-prefix", &Framing { flags: 8, ..plain(0) }.raw(&[&(1u32 << 20).to_be_bytes()[..], b"partial"].concat()));
    out.put("encode-frames", &plain(1).frames(&[3, 0, 1, 40, 2], &frames));
    // More zero-length frames than one writev takes (1024 slices).
    out.put("encode-many-empty", &Framing { batch: 255, ..plain(1) }.frames(&[], &[&[][..]; 1100]));
}

fn discovery_packets() {
    let mut out = Out::new("discovery_packets");
    let probe = Probe { nonce: [0x42; 16] }.encode();
    out.put("probe", &[&[0][..], &probe].concat());
    out.put("probe-short", &[&[0][..], &probe[..PROBE_LEN - 1]].concat());
    out.put("probe-longest", &[&[0][..], &with(&probe, |v| v.resize(MAX_DATAGRAM, 0))].concat());
    out.put("probe-too-long", &[&[0][..], &with(&probe, |v| v.resize(MAX_DATAGRAM + 1, 0))].concat());
    let keys = discovery_keys();
    let answer = |k: usize, observed: &str, did: String| {
        Answer {
            nonce: [0x42; 16],
            quic_port: Some(4433),
            utcp_port: (k == 0).then_some(4434),
            observed: observed.parse().unwrap(),
            public_key: keys[k].verifying_key().to_bytes(),
            did,
        }
        .encode_signed(&keys[k])
    };
    let v4 = answer(0, "127.0.0.1:50000", l2_core::did::encode(&keys[0].verifying_key().to_bytes()));
    let v6 = answer(1, "[::1]:9", "d".repeat(255));
    out.put("answer-v4", &[&[0][..], &v4].concat());
    out.put("answer-v6-longest-did", &[&[0][..], &v6].concat());
    out.put("answer-tampered", &[&[0][..], &with(&v4, |v| v[21] ^= 1)].concat());
    out.put("answer-wrong-kind", &[&[0][..], &with(&v4, |v| v[4] = 1)].concat());
    // Mode 1 signs with key 0, mode 3 with key 1: the rest is the answer without its signature.
    let body = |a: &[u8]| a[..a.len() - 64].to_vec();
    out.put("body-v4", &[&[1][..], &body(&v4)].concat());
    out.put("body-v6", &[&[3][..], &body(&v6)].concat());
    out.put("body-family-5", &[&[1][..], &with(&body(&v4), |v| v[25] = 5)].concat());
    out.put("body-did-not-utf8", &[&[1][..], &with(&body(&v4), |v| *v.last_mut().unwrap() = 0xff)].concat());
    out.put("body-trailing-byte", &[&[1][..], &with(&body(&v4), |v| v.push(0))].concat());
    out.put("body-other-key", &[&[3][..], &body(&v4)].concat());
}

fn main() {
    resume_responder();
    resume_initiator();
    ticket_open();
    utcp_framing();
    discovery_packets();
    handshake_responder();
    handshake_initiator();
    frame_open();
    frame_header();
    did_decode();
    mlkem_decaps_differential();
}
