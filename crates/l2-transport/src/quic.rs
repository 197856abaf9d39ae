//! QUIC driver: one quinn endpoint (one UDP socket) per node serving inbound and outbound
//! connections, so dialling from the listening socket keeps NAT hole punching possible.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::accept::{Admission, Inbound};
use crate::config::{NodeConfig, TransportKind};
use crate::error::{Error, Result};
use crate::frame::{FrameReader, PREAMBLE};
use crate::link::{Io, Link, LinkContext, LinkParts};
use crate::stats::DropReason;
use crate::tls;

/// Early packets (0-RTT and coalesced data) buffered per connection not yet accepted.
const INCOMING_BUFFER: u64 = 16 << 10;

/// The node's QUIC endpoint and the client config used for its dials.
pub(crate) struct QuicEndpoint {
    pub endpoint: quinn::Endpoint,
    client: quinn::ClientConfig,
    pub local: SocketAddr,
}

impl QuicEndpoint {
    /// Binds the UDP socket; must run inside a tokio runtime (quinn spawns its driver there).
    pub fn bind(addr: SocketAddr, config: &NodeConfig) -> Result<Self> {
        let (mut server, client) =
            tls::quic_configs(config.quic_idle_timeout, config.quic_receive_window)?;
        // quinn's defaults (65 536 queued incoming connections, 100 MiB of their early
        // packets) are far above what the accept loop admits; a flood must not get that far.
        let queued = config.max_pending_handshakes.saturating_mul(2).max(64);
        server
            .max_incoming(queued)
            .incoming_buffer_size(INCOMING_BUFFER)
            .incoming_buffer_size_total(INCOMING_BUFFER.saturating_mul(queued as u64));
        let socket = udp_socket(addr, config.quic_socket_buffer)
            .map_err(|e| Error::transport("QUIC bind", e))?;
        let runtime = Arc::new(quinn::TokioRuntime);
        let endpoint = quinn::Endpoint::new(
            quinn::EndpointConfig::default(),
            Some(server),
            socket,
            runtime,
        )
        .map_err(|e| Error::transport("QUIC endpoint", e))?;
        let local = endpoint
            .local_addr()
            .map_err(|e| Error::transport("QUIC local address", e))?;
        Ok(QuicEndpoint {
            endpoint,
            client,
            local,
        })
    }

    /// Connects, opens the link's stream and announces it with the preamble (a QUIC stream is
    /// invisible to the peer until data is sent on it).
    pub async fn dial(&self, addr: SocketAddr, ctx: LinkContext) -> Result<Link> {
        let conn = self
            .endpoint
            .connect_with(self.client.clone(), addr, tls::SERVER_NAME)
            .map_err(|e| Error::BadInput(format!("QUIC connect to {addr}: {e}")))?
            .await
            .map_err(connection_error)?;
        let (mut send, recv) = conn.open_bi().await.map_err(connection_error)?;
        send.write_all(&PREAMBLE)
            .await
            .map_err(|e| Error::transport("QUIC preamble", e))?;
        let reader = FrameReader::new(Box::new(recv) as _, ctx.max_frame);
        self.link(conn, send, reader, ctx)
    }

    fn link(
        &self,
        conn: quinn::Connection,
        send: quinn::SendStream,
        reader: FrameReader<crate::link::ByteReader>,
        ctx: LinkContext,
    ) -> Result<Link> {
        let parts = LinkParts {
            kind: TransportKind::Quic,
            local: self.local,
            peer: conn.remote_address(),
            binding: tls::channel_binding(&conn)?,
            io: Io::Quic { conn, send, reader },
        };
        Ok(Link::new(parts, ctx))
    }

    /// Accepts connections until the endpoint closes or the node shuts down; each one is set
    /// up in its own task so a slow peer cannot stall the others.
    pub async fn accept_loop(self: Arc<Self>, inbound: Inbound) {
        loop {
            let incoming = tokio::select! {
                _ = inbound.ctx.cancel.cancelled() => break,
                i = self.endpoint.accept() => match i {
                    Some(i) => i,
                    None => break,
                },
            };
            let source = incoming.remote_address().ip();
            if inbound.quarantined(source) {
                incoming.refuse();
                continue;
            }
            // Under load, an unproven address costs one stateless packet and no state; a real
            // client answers the Retry and comes back validated (spoofed floods cannot).
            let validated = incoming.remote_address_validated();
            if inbound.wants_retry(source, validated) && incoming.may_retry() {
                if incoming.retry().is_ok() {
                    inbound.counters().retries_sent.fetch_add(1, Relaxed);
                }
                continue;
            }
            let Some(admission) = inbound.admit(source, validated) else {
                // Tells the peer at once instead of leaving it to time out.
                incoming.refuse();
                continue;
            };
            let (this, inbound2) = (self.clone(), inbound.clone());
            inbound.tracker.spawn(async move {
                this.accept_one(incoming, inbound2, admission).await;
            });
        }
    }

    async fn accept_one(&self, incoming: quinn::Incoming, inbound: Inbound, admission: Admission) {
        let ctx = inbound.link_ctx();
        let setup = async {
            let conn = incoming.await.ok()?;
            let (send, recv) = conn.accept_bi().await.ok()?;
            let mut reader = FrameReader::new(Box::new(recv) as _, ctx.max_frame);
            Some((conn, send, reader.read_preamble().await.ok()?, reader))
        };
        let outcome = tokio::select! {
            _ = ctx.cancel.cancelled() => return,
            r = tokio::time::timeout(inbound.handshake_timeout, setup) => r,
        };
        match outcome {
            Err(_) => inbound.counters().count_drop(DropReason::HandshakeTimeout),
            // The peer went away or broke the handshake: nothing to count, nothing to keep.
            Ok(None) => {}
            Ok(Some((conn, _, false, _))) => {
                admission.strike(DropReason::BadPreamble);
                conn.close(1u32.into(), b"bad preamble");
            }
            // `link` fails only if the TLS exporter is unavailable, which cannot happen once
            // the handshake is complete; dropping the connection closes it.
            Ok(Some((conn, send, true, reader))) => {
                if let Ok(link) = self.link(conn, send, reader, ctx) {
                    inbound.deliver(link, admission);
                }
            }
        }
    }
}

/// The endpoint's UDP socket with enlarged kernel buffers (see `NodeConfig::quic_socket_buffer`).
fn udp_socket(addr: SocketAddr, buffer: usize) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Best effort: a smaller buffer still works, it only drops more under bursts.
    let _ = socket.set_recv_buffer_size(buffer);
    let _ = socket.set_send_buffer_size(buffer);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

fn connection_error(e: quinn::ConnectionError) -> Error {
    use quinn::ConnectionError as C;
    match e {
        C::TimedOut => Error::Timeout("QUIC handshake timed out".into()),
        C::LocallyClosed | C::ApplicationClosed(_) | C::ConnectionClosed(_) | C::Reset => {
            Error::Closed(e.to_string())
        }
        other => Error::transport("QUIC connect", other),
    }
}

#[cfg(test)]
mod tests {
    use crate::tls::ETHERNET_PAYLOAD;
    use crate::{DialOptions, DialTarget, Node, NodeConfig, TransportChoice};
    use bytes::Bytes;
    use quinn::crypto::rustls::HandshakeData;
    use rustls::NamedGroup;

    fn group(link: &crate::Link) -> Option<NamedGroup> {
        let data = link
            .quic_connection()?
            .handshake_data()?
            .downcast::<HandshakeData>()
            .ok()?;
        Some(data.negotiated_key_exchange_group)
    }

    /// Two loopback nodes and a QUIC link from the first to the second: (a, b, dialled, accepted).
    async fn quic_pair(a: NodeConfig, b: NodeConfig) -> (Node, Node, crate::Link, crate::Link) {
        let a = Node::bind(a).await.expect("bind a");
        let b = Node::bind(b).await.expect("bind b");
        let opts = DialOptions {
            transport: TransportChoice::Quic,
            ..DialOptions::default()
        };
        let target = DialTarget::quic(b.quic_addr().expect("quic"));
        let (dialled, accepted) = tokio::join!(a.dial(target, opts), b.accept());
        (a, b, dialled.expect("dial"), accepted.expect("accept"))
    }

    #[tokio::test]
    async fn negotiated_tls_group_is_x25519mlkem768_on_both_sides() {
        let (a, b, dialled, accepted) = quic_pair(
            NodeConfig::loopback("did:test:a", [1; 32]),
            NodeConfig::loopback("did:test:b", [2; 32]),
        )
        .await;
        assert_eq!(group(&dialled), Some(NamedGroup::X25519MLKEM768));
        assert_eq!(group(&accepted), Some(NamedGroup::X25519MLKEM768));
        let alpn = dialled
            .quic_connection()
            .and_then(|c| c.handshake_data())
            .and_then(|d| d.downcast::<HandshakeData>().ok());
        assert_eq!(alpn.and_then(|d| d.protocol), Some(crate::ALPN.to_vec()));
        a.shutdown().await;
        b.shutdown().await;
    }

    fn path_mtu(link: &crate::Link) -> u16 {
        link.quic_connection()
            .expect("quic")
            .stats()
            .path
            .current_mtu
    }

    #[tokio::test]
    async fn path_mtu_discovery_reaches_ethernet_size_in_one_probe() {
        // Keep-alives are PING frames too; with a 10-minute idle timeout none is due in the test.
        let quiet = |did: &str, seed| NodeConfig {
            quic_idle_timeout: std::time::Duration::from_secs(600),
            ..NodeConfig::loopback(did, [seed; 32])
        };
        let (a, b, dialled, accepted) = quic_pair(quiet("did:test:a", 1), quiet("did:test:b", 2)).await;
        // Round trips give discovery its chances to probe and hear back, counted rather than
        // timed; on loopback the first one is normally enough.
        for _ in 0..1000 {
            if path_mtu(&dialled) == ETHERNET_PAYLOAD {
                break;
            }
            dialled
                .send(Bytes::from_static(b"ping"))
                .await
                .expect("send");
            let echo = accepted.recv_batch(16).await.expect("recv");
            accepted.send_batch(echo).await.expect("echo");
            dialled.recv_batch(16).await.expect("recv echo");
        }
        assert_eq!(path_mtu(&dialled), ETHERNET_PAYLOAD);
        // A probe is a PING frame. quinn's default search sends 5 or 6; a handshake packet's
        // loss probe (PTO) may add one.
        let pings = dialled
            .quic_connection()
            .expect("quic")
            .stats()
            .frame_tx
            .ping;
        assert!((1..=2).contains(&pings), "{pings} PING frames sent");
        a.shutdown().await;
        b.shutdown().await;
    }
}
