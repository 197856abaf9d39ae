//! 200 concurrent links on one node pair, all exchanging messages at once; every message
//! names its link, so a frame delivered on the wrong link fails the test.

mod common;

use bytes::Bytes;
use std::time::{Duration, Instant};

use l2_transport::{DialOptions, Link, Node, TransportChoice};

const LINKS: usize = 200;
const ROUNDS: usize = 20;

/// Echoes every batch back on the link it came from, checking all frames name one link.
async fn echo(link: Link) {
    let mut owner: Option<Bytes> = None;
    loop {
        let frames = link.recv_batch(64).await.expect("server recv");
        if frames.is_empty() {
            break;
        }
        for f in &frames {
            let id = f.slice(..f.iter().position(|&b| b == b'/').expect("id/seq"));
            assert_eq!(
                owner.get_or_insert_with(|| id.clone()),
                &id,
                "frames of two links mixed"
            );
        }
        link.send_batch(frames).await.expect("server send");
    }
    link.close().await;
}

async fn client(link: Link, id: usize) {
    for round in 0..ROUNDS {
        let frames: Vec<Bytes> = (0..4)
            .map(|k| Bytes::from(format!("{id}/{round}/{k}")))
            .collect();
        link.send_batch(frames.clone()).await.expect("client send");
        let mut got = Vec::new();
        while got.len() < frames.len() {
            got.extend(link.recv_batch(64).await.expect("client recv"));
        }
        assert_eq!(got, frames, "link {id} got another link's echo");
    }
    let closer = link.clone();
    let (_, rest) = tokio::join!(closer.close(), link.recv_batch(1));
    // After close the peer finished too: end of stream or our own close, never data.
    assert!(rest.map_or(true, |f| f.is_empty()));
}

async fn run(transport: TransportChoice) {
    // 200 handshakes at once on a shared 2-core machine (debug build, other jobs running) can
    // take longer than the default 5 s set-up budget; this test is about isolation, not speed.
    let mut cfg = common::config("many-b");
    cfg.handshake_timeout = Duration::from_secs(30);
    let (a, b) = (
        common::node("many-a").await,
        Node::bind(cfg).await.expect("bind"),
    );
    let server = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut echoes = Vec::new();
            for _ in 0..LINKS {
                echoes.push(tokio::spawn(echo(b.accept().await.expect("accept"))));
            }
            for e in echoes {
                e.await.expect("echo task");
            }
        })
    };
    let start = Instant::now();
    let mut clients = Vec::new();
    for id in 0..LINKS {
        let a = a.clone();
        let target = b.dial_target();
        clients.push(tokio::spawn(async move {
            let opts = DialOptions {
                quic_timeout: Duration::from_secs(30),
                ..common::opts(transport)
            };
            let link = a.dial(target, opts).await.expect("dial");
            client(link, id).await;
        }));
    }
    for c in clients {
        c.await.expect("client task");
    }
    server.await.expect("server");
    eprintln!(
        "{transport:?}: {LINKS} links x {ROUNDS} round trips in {:?}",
        start.elapsed()
    );
    assert_eq!(b.stats().links_accepted, LINKS as u64);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_200_concurrent_links_are_not_mixed_up() {
    run(TransportChoice::Quic).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utcp_200_concurrent_links_are_not_mixed_up() {
    run(TransportChoice::Utcp).await;
}
