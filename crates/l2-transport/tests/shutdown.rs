//! Shutdown stops every task a node started (and quinn's drivers once handles are dropped),
//! so nothing keeps the runtime or a Node.js process alive.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use l2_transport::TransportChoice;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Waits until the runtime has no task left; returns how many remain.
fn settle(rt: &tokio::runtime::Runtime) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    while rt.metrics().num_alive_tasks() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    rt.metrics().num_alive_tasks()
}

#[test]
fn shutdown_leaves_no_running_tasks() {
    let rt = runtime();
    let pending_recv = rt.block_on(async {
        let (a, b) = (common::node("s-a").await, common::node("s-b").await);
        let mut links = Vec::new();
        for transport in [TransportChoice::Quic, TransportChoice::Utcp] {
            let (la, lb) = common::pair(&a, &b, transport).await;
            la.send(Bytes::from_static(b"x")).await.expect("send");
            assert_eq!(lb.recv_batch(1).await.expect("recv").len(), 1);
            links.push((la, lb));
        }
        // A receive still waiting when the node shuts down must end with ERR_L2_CLOSED.
        let waiting = links[0].1.clone();
        let pending = tokio::spawn(async move { waiting.recv_batch(1).await });
        assert!(a.running_tasks() > 0 && b.running_tasks() > 0);
        a.shutdown().await;
        b.shutdown().await;
        assert_eq!((a.running_tasks(), b.running_tasks()), (0, 0));
        for (la, lb) in &links {
            assert!(la.is_closed() && lb.is_closed());
            let late = la.send(Bytes::from_static(b"late")).await;
            assert_eq!(late.expect_err("closed").code(), "ERR_L2_CLOSED");
        }
        assert_eq!(
            a.accept().await.expect_err("closed").code(),
            "ERR_L2_CLOSED"
        );
        pending.await.expect("join")
    });
    assert_eq!(pending_recv.expect_err("closed").code(), "ERR_L2_CLOSED");
    // Handles are gone now; quinn's endpoint and connection drivers must wind down too.
    assert_eq!(settle(&rt), 0, "tasks left running after shutdown");
    rt.shutdown_timeout(Duration::from_secs(1));
}

#[test]
fn dropping_a_node_without_shutdown_stops_its_tasks() {
    let rt = runtime();
    rt.block_on(async {
        let (a, b) = (common::node("dr-a").await, common::node("dr-b").await);
        let (la, lb) = common::pair(&a, &b, TransportChoice::Utcp).await;
        let (qa, qb) = common::pair(&a, &b, TransportChoice::Quic).await;
        drop((a, b, la, lb, qa, qb));
    });
    assert_eq!(
        settle(&rt),
        0,
        "tasks left running after the node was dropped"
    );
    rt.shutdown_timeout(Duration::from_secs(1));
}
