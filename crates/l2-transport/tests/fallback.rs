//! `Auto` dial: QUIC first, μTCP when QUIC cannot connect in time.

mod common;

use std::time::{Duration, Instant};

use l2_transport::{DialOptions, DialTarget, TransportChoice, TransportKind};

/// A UDP port with nothing listening on it (bound, read, released).
fn closed_udp_port() -> std::net::SocketAddr {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("probe socket");
    s.local_addr().expect("addr")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_dial_falls_back_to_utcp_when_quic_is_refused() {
    let a = common::node("fb-a").await;
    let mut cfg = common::config("fb-b");
    cfg.quic_bind = None; // "UDP blocked": the peer offers no QUIC at all
    let b = l2_transport::Node::bind(cfg).await.expect("bind b");
    let target = DialTarget::both(closed_udp_port(), b.utcp_addr().expect("utcp"));
    let quic_timeout = Duration::from_millis(300);
    let opts = DialOptions {
        transport: TransportChoice::Auto,
        quic_timeout,
        ..DialOptions::default()
    };

    let start = Instant::now();
    let (link, accepted) = tokio::join!(a.dial(target, opts), b.accept());
    let elapsed = start.elapsed();
    let (link, accepted) = (link.expect("auto dial"), accepted.expect("accept"));
    eprintln!("fallback to μTCP after {elapsed:?} (quic_timeout {quic_timeout:?})");
    assert_eq!(link.transport(), TransportKind::Utcp);
    assert!(
        elapsed < quic_timeout + Duration::from_millis(500),
        "fallback took {elapsed:?}"
    );
    assert_eq!(a.stats().utcp_fallbacks, 1);

    link.send(bytes::Bytes::from_static(b"over tcp"))
        .await
        .expect("send");
    assert_eq!(
        accepted.recv_batch(1).await.expect("recv"),
        vec![bytes::Bytes::from_static(b"over tcp")]
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_only_dial_times_out_with_its_code() {
    let a = common::node("qo-a").await;
    let opts = DialOptions {
        transport: TransportChoice::Quic,
        quic_timeout: Duration::from_millis(200),
        ..DialOptions::default()
    };
    let err = a
        .dial(DialTarget::quic(closed_udp_port()), opts)
        .await
        .expect_err("nothing listens");
    assert_eq!(err.code(), "ERR_L2_TIMEOUT");
    assert_eq!(a.stats().utcp_fallbacks, 0);
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_dial_prefers_quic_when_it_works() {
    let (a, b) = (common::node("pq-a").await, common::node("pq-b").await);
    let (link, _accepted) =
        tokio::join!(a.dial(b.dial_target(), DialOptions::default()), b.accept());
    assert_eq!(link.expect("dial").transport(), TransportKind::Quic);
    a.shutdown().await;
    b.shutdown().await;
}
