//! The TLS exporter value: equal at both ends of a QUIC connection, different across
//! connections; μTCP states explicitly that it has none.

mod common;

use l2_transport::{ChannelBinding, TransportChoice};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_matches_per_connection_and_differs_across_connections() {
    let (a, b) = (common::node("cb-a").await, common::node("cb-b").await);
    let (a1, b1) = common::pair(&a, &b, TransportChoice::Quic).await;
    let (a2, b2) = common::pair(&a, &b, TransportChoice::Quic).await;
    let (b3, a3) = common::pair(&b, &a, TransportChoice::Quic).await;

    let v1 = a1
        .channel_binding()
        .tls_exporter()
        .copied()
        .expect("QUIC has an exporter");
    assert_eq!(b1.channel_binding(), ChannelBinding::TlsExporter(v1));
    assert_eq!(a2.channel_binding(), b2.channel_binding());
    assert_eq!(a3.channel_binding(), b3.channel_binding());
    assert_ne!(a1.channel_binding(), a2.channel_binding());
    assert_ne!(a2.channel_binding(), a3.channel_binding());
    assert_ne!(v1, [0u8; 32]);

    let (ta, tb) = common::pair(&a, &b, TransportChoice::Utcp).await;
    assert_eq!(ta.channel_binding(), ChannelBinding::NoTlsExporter);
    assert_eq!(tb.channel_binding().tls_exporter(), None);
    a.shutdown().await;
    b.shutdown().await;
}
