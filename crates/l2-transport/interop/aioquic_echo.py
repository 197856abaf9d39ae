"""Interop check: an independent QUIC stack (Python aioquic) completes a QUIC handshake with an
l2-transport node (ALPN l2s/1, any certificate) and exchanges one framed message.

    pip install aioquic
    cargo run -p l2-transport --example echo_node   # prints "quic Some(127.0.0.1:PORT) ..."
    python crates/l2-transport/interop/aioquic_echo.py 127.0.0.1 PORT

aioquic has no ML-KEM, so this handshake settles on a classical group: the node keeps X25519
after X25519MLKEM768 precisely so such stacks can connect (the L2 handshake above is PQ anyway).
"""

import asyncio
import ssl
import struct
import sys

from aioquic.asyncio import connect
from aioquic.quic.configuration import QuicConfiguration

PREAMBLE = b"L2S\x01"


async def main(host: str, port: int) -> None:
    config = QuicConfiguration(
        is_client=True,
        alpn_protocols=["l2s/1"],
        # Trust comes from the L2 handshake, not X.509; the node's certificate is self-signed.
        verify_mode=ssl.CERT_NONE,
        server_name="l2s.invalid",
    )
    async with connect(host, port, configuration=config) as client:
        assert client._quic.tls.alpn_negotiated == "l2s/1"
        reader, writer = await client.create_stream()
        message = b"hello from aioquic"
        writer.write(PREAMBLE + struct.pack(">I", len(message)) + message)
        await writer.drain()
        length = struct.unpack(">I", await reader.readexactly(4))[0]
        echoed = await reader.readexactly(length)
        assert echoed == message, echoed
        print("aioquic interop ok: ALPN l2s/1, echo", echoed)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
