//! Backpressure: a send waits for room instead of buffering without bound, and an inbound
//! queue that the application does not drain refuses new links instead of growing.

mod common;

use std::time::Duration;

use bytes::Bytes;
use l2_transport::{DropReason, Node, TransportChoice};

/// Sends `total` bytes while the peer does not read: the send must still be pending after a
/// while (the window is full), and complete once the peer reads.
async fn send_waits_for_room(transport: TransportChoice, total: usize) {
    let mut small = common::config("bp-b");
    small.quic_receive_window = 256 * 1024;
    let (a, b) = (
        common::node("bp-a").await,
        Node::bind(small).await.expect("bind"),
    );
    let (la, lb) = common::pair(&a, &b, transport).await;
    let frames: Vec<Bytes> = (0..total >> 20)
        .map(|_| Bytes::from(vec![1u8; 1 << 20]))
        .collect();
    // The task hands the link back: dropping it early would abort the connection.
    let sender = tokio::spawn(async move { la.send_batch(frames).await.map(|()| la) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !sender.is_finished(),
        "{transport:?}: send finished with nobody reading"
    );

    let mut got = 0;
    while got < total {
        got += lb
            .recv_batch(64)
            .await
            .expect("recv")
            .iter()
            .map(Bytes::len)
            .sum::<usize>();
    }
    let la = sender
        .await
        .expect("join")
        .expect("send completes once the peer reads");
    assert_eq!(la.stats().bytes_sent, total as u64);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_send_waits_for_flow_control_window() {
    send_waits_for_room(TransportChoice::Quic, 4 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utcp_send_waits_for_socket_buffer() {
    // Larger than loopback's autotuned send plus receive buffers.
    send_waits_for_room(TransportChoice::Utcp, 96 << 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_accept_backlog_refuses_and_counts() {
    let mut cfg = common::config("bl-b");
    cfg.accept_backlog = 1;
    let (a, b) = (
        common::node("bl-a").await,
        Node::bind(cfg).await.expect("bind"),
    );
    for _ in 0..3 {
        a.dial(b.dial_target(), common::opts(TransportChoice::Utcp))
            .await
            .expect("dial");
    }
    for _ in 0..200 {
        if b.stats().dropped(DropReason::AcceptBacklogFull) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(b.stats().dropped(DropReason::AcceptBacklogFull), 2);
    assert!(
        b.accept().await.is_ok(),
        "the queued link is still delivered"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_beyond_the_limit_are_refused_and_counted() {
    let mut cfg = common::config("hl-b");
    cfg.max_pending_handshakes = 2;
    cfg.handshake_timeout = Duration::from_millis(500);
    let (a, b) = (
        common::node("hl-a").await,
        Node::bind(cfg).await.expect("bind"),
    );
    let addr = b.utcp_addr().expect("utcp");
    // Connections that never send a preamble hold their set-up slot until the timeout.
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(tokio::net::TcpStream::connect(addr).await.expect("connect"));
    }
    for _ in 0..200 {
        if b.stats().dropped(DropReason::HandshakeLimit) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(b.stats().dropped(DropReason::HandshakeLimit), 2);
    // Once the silent ones time out, slots free up and real links get through again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(b.stats().dropped(DropReason::HandshakeTimeout), 2);
    let (link, accepted) = tokio::join!(
        a.dial(b.dial_target(), common::opts(TransportChoice::Quic)),
        b.accept()
    );
    assert!(link.is_ok() && accepted.is_ok());
    a.shutdown().await;
    b.shutdown().await;
}
