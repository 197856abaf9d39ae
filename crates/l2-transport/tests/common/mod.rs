//! Helpers shared by the integration tests: loopback nodes, link pairs and hashed transfers.
#![allow(dead_code)] // each test binary uses a different subset

use std::time::{Duration, Instant};

use bytes::Bytes;
use l2_transport::{DialOptions, DialTarget, Link, Node, NodeConfig, TransportChoice};

/// A loopback node with a long close linger, so a side that finishes sending first keeps its
/// link open while the other side is still transferring.
pub async fn node(name: &str) -> Node {
    Node::bind(config(name)).await.expect("bind node")
}

pub fn config(name: &str) -> NodeConfig {
    let mut seed = [0u8; 32];
    seed[..name.len().min(32)].copy_from_slice(&name.as_bytes()[..name.len().min(32)]);
    let mut c = NodeConfig::loopback(format!("did:test:{name}"), seed);
    c.close_linger = Duration::from_secs(60);
    c
}

pub fn opts(transport: TransportChoice) -> DialOptions {
    DialOptions {
        transport,
        ..DialOptions::default()
    }
}

/// Dials `b` from `a` on one transport and returns (dialled, accepted).
pub async fn pair(a: &Node, b: &Node, transport: TransportChoice) -> (Link, Link) {
    let target: DialTarget = b.dial_target();
    let (d, acc) = tokio::join!(a.dial(target, opts(transport)), b.accept());
    (d.expect("dial"), acc.expect("accept"))
}

/// Big-transfer size: `L2_BIG_TRANSFER_MIB` (default 64) MiB each way.
pub fn big_transfer_bytes() -> usize {
    let mib = std::env::var("L2_BIG_TRANSFER_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64usize);
    mib << 20
}

/// Sends `total` bytes of deterministic data in `frame`-byte frames, batches of `batch`,
/// then closes; returns the BLAKE3 hash of what was sent.
pub async fn send_all(
    link: Link,
    total: usize,
    frame: usize,
    batch: usize,
    seed: u8,
) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    let mut sent = 0usize;
    let mut counter = 0u64;
    while sent < total {
        let mut frames = Vec::with_capacity(batch);
        while frames.len() < batch && sent < total {
            let len = frame.min(total - sent);
            let mut f = vec![seed; len];
            // A counter at the front of every frame makes loss or reordering change the hash.
            let c = counter.to_be_bytes();
            let n = c.len().min(len);
            f[..n].copy_from_slice(&c[..n]);
            counter += 1;
            hasher.update(&f);
            sent += len;
            frames.push(Bytes::from(f));
        }
        link.send_batch(frames).await.expect("send_batch");
    }
    hasher.finalize()
}

/// Receives until the peer finishes (empty batch); returns (hash, bytes).
pub async fn recv_all(link: Link) -> (blake3::Hash, usize) {
    let mut hasher = blake3::Hasher::new();
    let mut total = 0;
    loop {
        let frames = link.recv_batch(256).await.expect("recv_batch");
        if frames.is_empty() {
            return (hasher.finalize(), total);
        }
        for f in frames {
            total += f.len();
            hasher.update(&f);
        }
    }
}

/// Moves `total` bytes each way at once over a fresh link pair, checks both hashes, closes
/// both ends; returns the combined MB/s (both directions, 10^6 bytes).
pub async fn transfer_both_ways(transport: TransportChoice, total: usize) -> f64 {
    let (a, b) = (node("xfer-a").await, node("xfer-b").await);
    let (la, lb) = pair(&a, &b, transport).await;
    let frame = 16 * 1024;
    let start = Instant::now();
    let (sa, sb) = (
        tokio::spawn(send_all(la.clone(), total, frame, 64, 0xA5)),
        tokio::spawn(send_all(lb.clone(), total, frame, 64, 0x5A)),
    );
    let (ra, rb) = (
        tokio::spawn(recv_all(la.clone())),
        tokio::spawn(recv_all(lb.clone())),
    );
    let sent_a = sa.await.expect("sender a");
    let sent_b = sb.await.expect("sender b");
    // Half-close both; each close returns once the other side has finished too.
    let (ca, cb) = (
        tokio::spawn(async move { la.close().await }),
        tokio::spawn(async move { lb.close().await }),
    );
    let (got_a, n_a) = ra.await.expect("receiver a");
    let (got_b, n_b) = rb.await.expect("receiver b");
    let secs = start.elapsed().as_secs_f64();
    ca.await.expect("close a");
    cb.await.expect("close b");
    assert_eq!((n_a, n_b), (total, total));
    assert_eq!(got_b, sent_a, "a -> b hash mismatch");
    assert_eq!(got_a, sent_b, "b -> a hash mismatch");
    a.shutdown().await;
    b.shutdown().await;
    let mbps = (2 * total) as f64 / secs / 1e6;
    eprintln!(
        "{transport:?}: {} MiB each way in {secs:.2} s = {mbps:.0} MB/s (both directions)",
        total >> 20
    );
    mbps
}
