//! Loopback figures for one link per transport: one-way throughput and 64-byte round trips.
//!
//! `cargo run --release -p l2-transport --example loopback_bench [MiB] [round_trips]`
//! Frames are opaque here (no L2 sealing), so this measures the transport alone.

use std::time::{Duration, Instant};

use bytes::Bytes;
use l2_transport::{DialOptions, Link, Node, NodeConfig, TransportChoice};

const FRAME: usize = 16 * 1024;
const BATCH: usize = 64;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), l2_transport::Error> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let mib = args.next().and_then(Result::ok).unwrap_or(256);
    let round_trips = args.next().and_then(Result::ok).unwrap_or(10_000);
    let a = Node::bind(NodeConfig::loopback("did:bench:a", [1; 32])).await?;
    let b = Node::bind(NodeConfig::loopback("did:bench:b", [2; 32])).await?;
    for transport in [TransportChoice::Quic, TransportChoice::Utcp] {
        let opts = DialOptions {
            transport,
            ..DialOptions::default()
        };
        let (la, lb) = tokio::join!(a.dial(b.dial_target(), opts), b.accept());
        let (la, lb) = (la?, lb?);
        let mbps = throughput(&la, &lb, mib << 20).await?;
        let (p50, p99) = round_trip(&la, &lb, round_trips).await?;
        println!(
            "{:<5} one-way {mbps:>7.0} MB/s ({mib} MiB, {FRAME}-byte frames)   64-byte RTT p50 {:>4} µs  p99 {:>4} µs",
            la.transport().as_str(),
            p50.as_micros(),
            p99.as_micros()
        );
        la.abort();
        lb.abort();
    }
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}

async fn throughput(tx: &Link, rx: &Link, total: usize) -> Result<f64, l2_transport::Error> {
    let frame = Bytes::from(vec![0x5A; FRAME]);
    let start = Instant::now();
    let sender = {
        let tx = tx.clone();
        tokio::spawn(async move {
            for _ in 0..total / (FRAME * BATCH) {
                tx.send_batch(vec![frame.clone(); BATCH]).await?;
            }
            Ok::<_, l2_transport::Error>(())
        })
    };
    let mut got = 0;
    let want = total / (FRAME * BATCH) * FRAME * BATCH;
    while got < want {
        got += rx
            .recv_batch(256)
            .await?
            .iter()
            .map(Bytes::len)
            .sum::<usize>();
    }
    sender
        .await
        .map_err(|e| l2_transport::Error::Transport(e.to_string()))??;
    Ok(got as f64 / start.elapsed().as_secs_f64() / 1e6)
}

async fn round_trip(
    a: &Link,
    b: &Link,
    n: usize,
) -> Result<(Duration, Duration), l2_transport::Error> {
    let echo = {
        let b = b.clone();
        tokio::spawn(async move {
            for _ in 0..n {
                let frames = b.recv_batch(1).await?;
                b.send_batch(frames).await?;
            }
            Ok::<_, l2_transport::Error>(())
        })
    };
    let ping = Bytes::from(vec![7u8; 64]);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        a.send(ping.clone()).await?;
        a.recv_batch(1).await?;
        samples.push(start.elapsed());
    }
    echo.await
        .map_err(|e| l2_transport::Error::Transport(e.to_string()))??;
    samples.sort();
    Ok((samples[n / 2], samples[n * 99 / 100]))
}
