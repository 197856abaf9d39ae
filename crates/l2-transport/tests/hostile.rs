//! Hostile input: junk, oversized and truncated frames on the μTCP port, garbage on the UDP
//! ports. Each is dropped and counted, and the node keeps accepting new links.

mod common;

use std::time::Duration;

use bytes::Bytes;
use l2_transport::{DropReason, Node, TransportChoice};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const PREAMBLE: &[u8] = b"L2S\x01";

/// Polls until `reason` reaches `want` on `node` (counters are updated by background tasks).
async fn wait_for_count(node: &Node, reason: DropReason, want: u64) {
    for _ in 0..200 {
        if node.stats().dropped(reason) >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{reason:?} stayed at {} (wanted {want})",
        node.stats().dropped(reason)
    );
}

/// A fresh link still works after the abuse: the node keeps serving.
async fn still_serves(a: &Node, b: &Node, transport: TransportChoice) {
    let (la, lb) = common::pair(a, b, transport).await;
    la.send(Bytes::from_static(b"still here"))
        .await
        .expect("send");
    assert_eq!(
        lb.recv_batch(4).await.expect("recv"),
        vec![Bytes::from_static(b"still here")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_oversized_and_truncated_tcp_input_is_counted_and_node_keeps_serving() {
    let (a, b) = (common::node("h-a").await, common::node("h-b").await);
    let addr = b.utcp_addr().expect("utcp");

    // Junk instead of the preamble: refused before any length prefix is read.
    let mut junk = TcpStream::connect(addr).await.expect("connect");
    junk.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write junk");
    wait_for_count(&b, DropReason::BadPreamble, 1).await;

    // Fewer bytes than a preamble, then EOF.
    let mut short = TcpStream::connect(addr).await.expect("connect");
    short.write_all(b"L2").await.expect("write");
    short.shutdown().await.expect("fin");
    wait_for_count(&b, DropReason::BadPreamble, 2).await;

    // A valid preamble, then a 4 GiB length prefix: rejected without allocating.
    let mut huge = TcpStream::connect(addr).await.expect("connect");
    huge.write_all(&[PREAMBLE, &[0xFF; 4], b"tail"].concat())
        .await
        .expect("write");
    let link = b.accept().await.expect("accept");
    let err = link.recv_batch(8).await.expect_err("oversized");
    assert_eq!(err.code(), "ERR_L2_LIMIT");
    assert!(link.is_closed());
    assert_eq!(b.stats().dropped(DropReason::OversizedFrame), 1);

    // A frame cut short by EOF.
    let mut cut = TcpStream::connect(addr).await.expect("connect");
    cut.write_all(&[PREAMBLE, &100u32.to_be_bytes(), &[7; 10]].concat())
        .await
        .expect("write");
    cut.shutdown().await.expect("fin");
    let link = b.accept().await.expect("accept");
    assert_eq!(
        link.recv_batch(8).await.expect_err("truncated").code(),
        "ERR_L2_BAD_INPUT"
    );
    assert_eq!(b.stats().dropped(DropReason::TruncatedFrame), 1);

    still_serves(&a, &b, TransportChoice::Utcp).await;
    still_serves(&a, &b, TransportChoice::Quic).await;
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_quic_frame_closes_the_link_with_limit() {
    let mut big = common::config("ov-a");
    big.max_frame_len = 4 << 20;
    let a = Node::bind(big).await.expect("bind");
    let b = common::node("ov-b").await; // 1 MiB limit
    let (la, lb) = common::pair(&a, &b, TransportChoice::Quic).await;
    la.send(Bytes::from(vec![0u8; 2 << 20]))
        .await
        .expect("a may send 2 MiB");
    assert_eq!(
        lb.recv_batch(1).await.expect_err("b refuses it").code(),
        "ERR_L2_LIMIT"
    );
    assert_eq!(b.stats().dropped(DropReason::OversizedFrame), 1);
    // Our own limit is enforced before sending, with the same code.
    let err = lb
        .send(Bytes::from(vec![0u8; 2 << 20]))
        .await
        .expect_err("too big to send");
    assert_eq!(err.code(), "ERR_L2_LIMIT");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_udp_ports_is_counted_and_node_keeps_serving() {
    let (a, b) = (common::node("u-a").await, common::node("u-b").await);
    let junk = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let discovery = b.discovery_addr().expect("discovery");
    let quic = b.quic_addr().expect("quic");
    for n in [0usize, 1, 5, 100, 511, 1199, 1500, 9000] {
        let bytes: Vec<u8> = (0..n).map(|i| (i * 31 + 7) as u8).collect();
        junk.send_to(&bytes, discovery).await.expect("send");
        junk.send_to(&bytes, quic).await.expect("send");
    }
    // An answer-shaped datagram sent to the service is not a probe either.
    let mut fake = b"L2D\x01\x02".to_vec();
    fake.resize(600, 0);
    junk.send_to(&fake, discovery).await.expect("send");
    wait_for_count(&b, DropReason::DiscoveryMalformed, 9).await;

    let answer = a
        .discover(discovery, Duration::from_secs(2))
        .await
        .expect("discovery still answers");
    assert_eq!(answer.did, "did:test:u-b");
    still_serves(&a, &b, TransportChoice::Quic).await;
    a.shutdown().await;
    b.shutdown().await;
}
