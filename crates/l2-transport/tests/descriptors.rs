//! μTCP links cost one file descriptor per end (relays hold many sessions under an fd limit),
//! and an aborted link still ends the connection at once while its handle lives on.
//! Its own test binary: it counts this process's open descriptors.

mod common;

use std::time::Duration;

use l2_transport::TransportChoice;

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utcp_link_holds_one_descriptor_and_abort_ends_the_connection() {
    const LINKS: usize = 50;
    let (a, b) = (common::node("fd-a").await, common::node("fd-b").await);
    let before = open_descriptors();
    let mut pairs = Vec::new();
    for _ in 0..LINKS {
        pairs.push(common::pair(&a, &b, TransportChoice::Utcp).await);
    }
    assert_eq!(open_descriptors() - before, 2 * LINKS, "one descriptor per link end");

    // The dialled end is aborted but its handle kept: the peer must still see the end.
    let (dialled, accepted) = pairs.pop().expect("a pair");
    dialled.abort();
    let end = tokio::time::timeout(Duration::from_secs(10), accepted.recv_batch(8))
        .await
        .expect("peer sees the aborted link end");
    assert!(end.map_or(true, |frames| frames.is_empty()));
    drop((dialled, accepted));
}
