//! Two nodes move a large stream of frames each way at once, over QUIC and over μTCP, with a
//! hash check at both ends. Size: `L2_BIG_TRANSFER_MIB` (default 64).

mod common;

use l2_transport::{TransportChoice, TransportKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quic_big_transfer_both_ways_hash_matches() {
    common::transfer_both_ways(TransportChoice::Quic, common::big_transfer_bytes()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utcp_big_transfer_both_ways_hash_matches() {
    common::transfer_both_ways(TransportChoice::Utcp, common::big_transfer_bytes()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_report_transport_addresses_and_stats() {
    let (a, b) = (common::node("stats-a").await, common::node("stats-b").await);
    for transport in [TransportChoice::Quic, TransportChoice::Utcp] {
        let (la, lb) = common::pair(&a, &b, transport).await;
        la.send_batch(vec![bytes::Bytes::from_static(b"ping"); 10])
            .await
            .expect("send");
        let mut got = 0;
        while got < 10 {
            got += lb.recv_batch(100).await.expect("recv").len();
        }
        let (sa, sb) = (la.stats(), lb.stats());
        assert_eq!((sa.frames_sent, sa.bytes_sent), (10, 40));
        assert_eq!((sb.frames_received, sb.bytes_received), (10, 40));
        assert_eq!(la.peer_addr(), lb.local_addr());
        match transport {
            TransportChoice::Quic => {
                assert_eq!(la.transport(), TransportKind::Quic);
                assert_eq!(la.local_addr(), a.quic_addr().expect("quic"));
                assert!(sa.rtt.is_some() && sa.cwnd.is_some_and(|c| c > 0));
            }
            _ => {
                assert_eq!(la.transport(), TransportKind::Utcp);
                assert_eq!(lb.local_addr(), b.utcp_addr().expect("utcp"));
                assert!(sa.rtt.is_none() && sa.cwnd.is_none());
            }
        }
        la.abort();
        lb.abort();
    }
    assert_eq!(a.stats().links_dialed, 2);
    assert_eq!(b.stats().links_accepted, 2);
    a.shutdown().await;
    b.shutdown().await;
}
