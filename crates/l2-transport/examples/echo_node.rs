//! A node that echoes every frame on every link it accepts; prints its addresses and runs
//! until stdin closes. Used for interoperability checks with other QUIC stacks.
//!
//! `cargo run -p l2-transport --example echo_node`

use l2_transport::{Link, Node, NodeConfig};
use tokio::io::AsyncReadExt;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), l2_transport::Error> {
    let node = Node::bind(NodeConfig::loopback("did:example:echo", [3; 32])).await?;
    println!(
        "quic {:?} utcp {:?} discovery {:?}",
        node.quic_addr(),
        node.utcp_addr(),
        node.discovery_addr()
    );
    let acceptor = node.clone();
    tokio::spawn(async move {
        while let Ok(link) = acceptor.accept().await {
            tokio::spawn(echo(link));
        }
    });
    // Any stdin activity or EOF ends the node.
    let _ = tokio::io::stdin().read(&mut [0u8; 1]).await;
    node.shutdown().await;
    Ok(())
}

async fn echo(link: Link) {
    while let Ok(frames) = link.recv_batch(64).await {
        if frames.is_empty() || link.send_batch(frames).await.is_err() {
            break;
        }
    }
    link.close().await;
}
