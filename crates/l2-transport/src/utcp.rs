//! μTCP driver: TCP with TCP_NODELAY carrying the same length-prefixed frames as QUIC. It adds
//! no encryption: L2 frames arrive already sealed, and a second layer would only cost time.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use crate::accept::{Admission, Inbound};
use crate::config::TransportKind;
use crate::error::{Error, Result};
use crate::frame::{FrameReader, PREAMBLE};
use crate::link::{Link, LinkContext, LinkParts, Writer};
use crate::stats::DropReason;
use crate::tls::ChannelBinding;

/// Pause after a failed `accept()` (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Connects, disables Nagle (frames are already batched by `send_batch`) and sends the preamble.
pub(crate) async fn dial(
    addr: SocketAddr,
    ctx: LinkContext,
    tracker: &TaskTracker,
) -> Result<Link> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    stream.write_all(&PREAMBLE).await?;
    link(stream, ctx, tracker)
}

/// Splits the stream into a link: one file descriptor per link, shut down on cancel by the
/// link's watcher (`Link::watch_cancel`).
fn link(stream: TcpStream, ctx: LinkContext, tracker: &TaskTracker) -> Result<Link> {
    let local = stream.local_addr()?;
    let peer = stream.peer_addr()?;
    let tcp_socket = Some(stream.as_raw_fd());
    let (read, write) = stream.into_split();
    let parts = LinkParts {
        kind: TransportKind::Utcp,
        local,
        peer,
        binding: ChannelBinding::NoTlsExporter,
        quic: None,
        tcp_socket,
        writer: Writer::Utcp(write),
        reader: FrameReader::new(Box::new(read) as _, ctx.max_frame),
    };
    let link = Link::new(parts, ctx);
    link.watch_cancel(tracker);
    Ok(link)
}

/// Accepts TCP connections until the node shuts down.
pub(crate) async fn accept_loop(listener: TcpListener, inbound: Inbound) {
    loop {
        let accepted = tokio::select! {
            _ = inbound.ctx.cancel.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                // Refused streams are dropped here, closing the connection. A completed TCP
                // handshake proves the source address.
                if let Some(admission) = inbound.admit(peer.ip(), true) {
                    let inbound2 = inbound.clone();
                    inbound.tracker.spawn(accept_one(stream, inbound2, admission));
                }
            }
            Err(_) => tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await,
        }
    }
}

async fn accept_one(mut stream: TcpStream, inbound: Inbound, admission: Admission) {
    let ctx = inbound.link_ctx();
    let mut got = [0u8; PREAMBLE.len()];
    let read = tokio::select! {
        _ = ctx.cancel.cancelled() => return,
        r = tokio::time::timeout(inbound.handshake_timeout, stream.read_exact(&mut got)) => r,
    };
    match read {
        Err(_) => inbound.counters().count_drop(DropReason::HandshakeTimeout),
        // Fewer than four bytes then EOF: junk as well.
        Ok(Err(_)) => admission.strike(DropReason::BadPreamble),
        Ok(Ok(_)) if got != PREAMBLE => admission.strike(DropReason::BadPreamble),
        Ok(Ok(_)) => {
            let linked = stream
                .set_nodelay(true)
                .map_err(Error::from)
                .and_then(|()| link(stream, ctx, &inbound.tracker));
            if let Ok(link) = linked {
                inbound.deliver(link, admission);
            }
        }
    }
}
