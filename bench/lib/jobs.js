// The job protocol between the benchmark client and bench/peer.js. A job starts with a 16-byte
// header: byte 0 the mode (1 sink, 2 echo), bytes 8..15 the payload length (u64 LE). Sink: the
// server hashes that many payload bytes and answers with their SHA-256 (32 bytes), so every bulk
// transfer is hash-checked. Echo: the server sends every payload byte back. Then the next header.
'use strict';
const nodeCrypto = require('node:crypto');

const SINK = 1;
const ECHO = 2;

function header(mode, total) {
  const h = Buffer.alloc(16);
  h[0] = mode;
  h.writeBigUInt64LE(BigInt(total), 8);
  return h;
}

/** Serves jobs on an l2 session until it closes. */
async function serveSession(s) {
  try {
    for (;;) {
      const h = await s.receive();
      const mode = h[0];
      let left = Number(h.readBigUInt64LE(8));
      const hash = mode === SINK ? nodeCrypto.createHash('sha256') : null;
      while (left > 0) {
        const m = await s.receive();
        left -= m.length;
        if (hash) hash.update(m);
        else await s.send(m);
      }
      if (hash) await s.send(hash.digest());
    }
  } catch {
    // closed: the client is done with this session
  }
}

/** Serves jobs on a byte stream (TCP or TLS socket) until it ends. */
function serveStream(sock) {
  sock.setNoDelay(true);
  let pending = Buffer.alloc(0);
  let mode = 0;
  let left = 0;
  let hash = null;
  sock.on('error', () => sock.destroy());
  sock.on('data', (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (mode === 0) {
        const need = 16 - pending.length;
        pending = Buffer.concat([pending, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (pending.length < 16) return;
        mode = pending[0];
        left = Number(pending.readBigUInt64LE(8));
        hash = mode === SINK ? nodeCrypto.createHash('sha256') : null;
        pending = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(left, chunk.length - at);
      const part = chunk.subarray(at, at + take);
      at += take;
      left -= take;
      if (hash) hash.update(part);
      else sock.write(part);
      if (left === 0) {
        if (hash) sock.write(hash.digest());
        mode = 0;
      }
    }
  });
}

/** The client side of one stream job: resolves with `want` reply bytes. */
function streamReader(sock) {
  const chunks = [];
  let have = 0;
  let waiter = null;
  let failure = null;
  sock.on('error', (err) => {
    failure = err;
    if (waiter) waiter.reject(err);
  });
  sock.on('data', (c) => {
    chunks.push(c);
    have += c.length;
    if (waiter && have >= waiter.want) {
      const w = waiter;
      waiter = null;
      w.resolve(take(w.want));
    }
  });
  function take(want) {
    const all = Buffer.concat(chunks);
    chunks.length = 0;
    if (all.length > want) chunks.push(all.subarray(want));
    have = all.length - want;
    return all.subarray(0, want);
  }
  return (want) =>
    new Promise((resolve, reject) => {
      if (failure) return reject(failure);
      if (have >= want) return resolve(take(want));
      waiter = { want, resolve, reject };
    });
}

module.exports = { SINK, ECHO, header, serveSession, serveStream, streamReader };
