//! Discovery between nodes on loopback: DID, transports and observed address in a signed
//! answer; forged answers ignored; per-source rate limit; multicast probe answered by all.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use l2_transport::discovery::wire::{Answer, Probe, PROBE_LEN};
use l2_transport::{DropReason, MulticastConfig, Node};
use tokio::net::UdpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_returns_did_transports_observed_address_and_valid_signature() {
    let (a, b) = (common::node("d-a").await, common::node("d-b").await);
    let answer = a
        .discover(
            b.discovery_addr().expect("discovery"),
            Duration::from_secs(2),
        )
        .await
        .expect("answer");
    assert_eq!(answer.did, "did:test:d-b");
    assert_eq!(answer.public_key, b.public_key());
    assert_eq!(answer.quic, b.quic_addr());
    assert_eq!(answer.utcp, b.utcp_addr());
    assert_eq!(answer.dial_target(), b.dial_target());
    assert_eq!(answer.observed.ip(), Ipv4Addr::LOCALHOST);
    assert_ne!(answer.observed.port(), 0);
    assert_eq!(answer.from, b.discovery_addr().expect("discovery"));
    assert_eq!(b.stats().probes_answered, 1);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_answer_is_ignored_and_counted() {
    let a = common::node("f-a").await;
    // A fake responder signs with one key but claims another in the answer.
    let fake = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let fake_addr = fake.local_addr().expect("addr");
    let responder = tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        let (n, from) = fake.recv_from(&mut buf).await.expect("probe");
        let probe = Probe::decode(&buf[..n]).expect("a real probe");
        let victim = SigningKey::from_bytes(&[0x11; 32])
            .verifying_key()
            .to_bytes();
        let forged = Answer {
            nonce: probe.nonce,
            quic_port: Some(1),
            utcp_port: None,
            observed: from,
            public_key: victim,
            did: "did:test:victim".into(),
        };
        let bytes = forged.encode_signed(&SigningKey::from_bytes(&[0x22; 32]));
        fake.send_to(&bytes, from).await.expect("answer");
    });
    let err = a
        .discover(fake_addr, Duration::from_millis(400))
        .await
        .expect_err("forged answer must not count");
    assert_eq!(err.code(), "ERR_L2_TIMEOUT");
    responder.await.expect("responder");
    assert_eq!(a.stats().dropped(DropReason::DiscoveryBadSignature), 1);
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_are_rate_limited_per_source_and_never_amplified() {
    let mut cfg = common::config("rl-b");
    cfg.discovery_rate_per_sec = 5;
    let b = Node::bind(cfg).await.expect("bind");
    let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let probe = Probe { nonce: [4; 16] }.encode();
    for _ in 0..40 {
        s.send_to(&probe, b.discovery_addr().expect("discovery"))
            .await
            .expect("send");
    }
    let mut answers = 0;
    let mut buf = [0u8; 2048];
    while let Ok(Ok((n, _))) =
        tokio::time::timeout(Duration::from_millis(300), s.recv_from(&mut buf)).await
    {
        assert!(
            n <= PROBE_LEN,
            "answer of {n} bytes to a {PROBE_LEN}-byte probe"
        );
        answers += 1;
    }
    assert!(
        (5..=6).contains(&answers),
        "{answers} answers to a burst of 40"
    );
    assert!(b.stats().dropped(DropReason::DiscoveryRateLimited) >= 34);
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multicast_probe_on_loopback_is_answered_by_every_node() {
    // Port chosen for this test only; other processes on the group are filtered by DID below.
    let mc = MulticastConfig {
        group: SocketAddrV4::new(Ipv4Addr::new(239, 255, 76, 50), 47_651),
        interface: Ipv4Addr::LOCALHOST,
    };
    let mut nodes = Vec::new();
    for name in ["m-a", "m-b", "m-c"] {
        let mut cfg = common::config(name);
        cfg.discovery_multicast = Some(mc);
        nodes.push(Node::bind(cfg).await.expect("bind"));
    }
    let answers = nodes[0]
        .discover_multicast(Duration::from_millis(500))
        .await
        .expect("multicast probe");
    for node in &nodes {
        let a = answers
            .iter()
            .find(|a| a.did == node.did())
            .unwrap_or_else(|| panic!("{} did not answer", node.did()));
        assert_eq!(a.public_key, node.public_key());
        assert_eq!(a.dial_target(), node.dial_target());
    }
    for node in nodes {
        node.shutdown().await;
    }
}
