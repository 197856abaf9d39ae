#!/usr/bin/env bash
# Interop check: an independent QUIC implementation (Python aioquic) completes a QUIC handshake
# with our endpoint (ALPN l2s/1) and gets a framed echo back. Prints "interop: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

venv=target/interop-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" && "$venv/bin/pip" install --quiet --disable-pip-version-check aioquic
fi
cargo build --release --quiet -p l2-transport --example echo_node || { echo "interop: 0 passed, 1 failed"; exit 1; }

fifo=$(mktemp -u) && mkfifo "$fifo"
target/release/examples/echo_node < "$fifo" > target/interop-node.out 2>&1 &
node_pid=$!
exec 3> "$fifo" # holds the node's stdin open; closing it stops the node
port=""
for _ in $(seq 50); do
  port=$(grep -oE 'quic Some\(127\.0\.0\.1:[0-9]+\)' target/interop-node.out | grep -oE '[0-9]+\)$' | tr -d ')')
  [ -n "$port" ] && break
  sleep 0.1
done
rc=1
if [ -n "$port" ]; then
  timeout 30 "$venv/bin/python" crates/l2-transport/interop/aioquic_echo.py 127.0.0.1 "$port" && rc=0
fi
exec 3>&-
wait "$node_pid" 2>/dev/null
rm -f "$fifo"
if [ "$rc" -eq 0 ]; then echo "interop: 1 passed, 0 failed"; else echo "interop: 0 passed, 1 failed"; fi
exit "$rc"
