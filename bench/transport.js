// Section 3: one session's bulk throughput and 64-byte round trips over loopback, server in a child
// process: our QUIC and μTCP sessions against Node TLS 1.3 (ChaCha20-Poly1305 and AES-128-GCM)
// over TCP, plain TCP (the ceiling) and @chainsafe/libp2p-quic. Each placement is run: client and server pinned to
// separate CPUs (taskset), then unpinned. Every bulk transfer is hash-checked by the server and
// every round trip compares the echoed payload.
'use strict';
const nodeCrypto = require('node:crypto');
const net = require('node:net');
const tls = require('node:tls');
const { execFileSync } = require('node:child_process');
const { Node, Identity } = require('..');
const { check, interleave, median, percentile, now, secondsSince, TINY } = require('./lib/harness');
const { startPeer, BENCH_LIMITS } = require('./lib/peer-client');
const { SINK, ECHO, header, streamReader } = require('./lib/jobs');
const libp2p = require('./lib/libp2p');

const BULK_SIZES = [1024, 16384, 65536];
const RTT_SIZE = 64;

/** Pins this whole process (every thread) to `cpus`; false when taskset is missing. */
function pinSelf(cpus) {
  try {
    execFileSync('taskset', ['-a', '-cp', cpus, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function expectedDigest(payload, count) {
  const h = nodeCrypto.createHash('sha256');
  for (let k = 0; k < count; k++) h.update(payload);
  return h.digest();
}

/** A contender over an l2 session. */
function sessionClient(s) {
  return {
    async bulk(payload, count, digest) {
      const t0 = now();
      await s.send(header(SINK, payload.length * count));
      for (let k = 0; k < count; k++) await s.send(payload);
      const got = await s.receive({ timeout: 120_000 });
      const secs = secondsSince(t0);
      check(got.equals(digest), 'l2 bulk transfer hash');
      return secs;
    },
    async rtt(count, out) {
      await s.send(header(ECHO, RTT_SIZE * count));
      const msg = Buffer.alloc(RTT_SIZE);
      for (let k = 0; k < count; k++) {
        msg.writeUInt32LE(k);
        const t0 = now();
        await s.send(msg);
        const back = await s.receive({ timeout: 30_000 });
        out.push(secondsSince(t0) * 1e6);
        check(back.equals(msg), 'l2 round trip payload');
      }
    },
    close: () => s.close(),
  };
}

/** A contender over a TCP or TLS socket. */
function streamClient(sock) {
  sock.setNoDelay(true);
  const read = streamReader(sock);
  const write = (buf) => (sock.write(buf) ? undefined : new Promise((r) => sock.once('drain', r)));
  return {
    async bulk(payload, count, digest) {
      const t0 = now();
      await write(header(SINK, payload.length * count));
      for (let k = 0; k < count; k++) {
        const w = write(payload);
        if (w) await w;
      }
      const got = await read(32);
      const secs = secondsSince(t0);
      check(got.equals(digest), 'stream bulk transfer hash');
      return secs;
    },
    async rtt(count, out) {
      await write(header(ECHO, RTT_SIZE * count));
      const msg = Buffer.alloc(RTT_SIZE);
      for (let k = 0; k < count; k++) {
        msg.writeUInt32LE(k);
        const t0 = now();
        sock.write(msg);
        const back = await read(RTT_SIZE);
        out.push(secondsSince(t0) * 1e6);
        check(back.equals(msg), 'stream round trip payload');
      }
    },
    close: () => new Promise((r) => (sock.once('close', r), sock.end())),
  };
}

function connectStream(kind, info) {
  return new Promise((resolve, reject) => {
    const done = (sock) => () => resolve(streamClient(sock));
    const sock =
      kind === 'tcp'
        ? net.connect({ host: '127.0.0.1', port: info.plainTcp }, () => done(sock)())
        : tls.connect(
            { host: '127.0.0.1', port: kind === 'tls-chacha' ? info.tlsChacha : info.tlsAes, ca: info.cert, servername: 'localhost', minVersion: 'TLSv1.3' },
            () => {
              const want = kind === 'tls-chacha' ? 'TLS_CHACHA20_POLY1305_SHA256' : 'TLS_AES_128_GCM_SHA256';
              if (sock.getCipher().standardName !== want) reject(new Error(`TLS negotiated ${sock.getCipher().standardName}, wanted ${want}`));
              else {
                check(true, `negotiated ${want}`);
                done(sock)();
              }
            },
          );
    sock.once('error', reject);
  });
}

const CONTENDERS = [
  { id: 'l2-quic', name: 'l2 session over QUIC' },
  { id: 'l2-tcp', name: 'l2 session over μTCP' },
  { id: 'tls-chacha', name: 'Node TLS 1.3 ChaCha20-Poly1305' },
  { id: 'tls-aes', name: 'Node TLS 1.3 AES-128-GCM' },
  { id: 'tcp', name: 'plain TCP (ceiling)' },
  { id: 'libp2p-quic', name: '@chainsafe/libp2p-quic (libp2p 2)' },
];

function budget(opts) {
  return {
    bulkBytes: TINY ? 1 << 16 : opts.quick ? 8 << 20 : 64 << 20,
    rttCount: TINY ? 20 : opts.quick ? 300 : 2000,
    sizes: opts.quick && !TINY ? [16384] : BULK_SIZES,
  };
}

function placements() {
  return pinSelf('0') && pinSelf(require('node:os').cpus().map((_, i) => i).join(',')) ? ['pinned', 'unpinned'] : ['unpinned'];
}

function plan(opts) {
  const b = budget(opts);
  return { steps: placements().length * opts.rounds * CONTENDERS.length * (b.sizes.length + 1) };
}

async function runPlacement(placement, opts, progress) {
  const b = budget(opts);
  const cpus = require('node:os').cpus().length;
  const pinned = placement === 'pinned';
  if (pinned) pinSelf('0');
  const peer = await startPeer({ role: 'serve', cpu: pinned ? Math.min(1, cpus - 1) : undefined });
  const node = await Node.listen({ identity: Identity.generate(), limits: BENCH_LIMITS });
  const clients = {};
  try {
    for (const kind of ['quic', 'tcp']) {
      const s = await node.establish(peer.info.did, { transport: kind, addresses: { quic: peer.info.quic, tcp: peer.info.tcp } });
      check(s.transport === kind, `l2 session over ${kind}`);
      clients[`l2-${kind}`] = sessionClient(s);
    }
    for (const kind of ['tls-chacha', 'tls-aes', 'tcp']) clients[kind] = await connectStream(kind, peer.info);
    const quic = await libp2p.connect(peer.info.libp2pQuic);
    clients['libp2p-quic'] = { ...streamClient(quic.sock), close: quic.stop };

    const bulk = [];
    for (const size of b.sizes) {
      progress.phase(`transport ${placement}: bulk ${size} B messages`);
      const payload = nodeCrypto.randomBytes(size);
      const count = Math.max(1, Math.floor(b.bulkBytes / size));
      const digest = expectedDigest(payload, count);
      for (const c of CONTENDERS) await clients[c.id].bulk(payload, Math.min(count, 64), expectedDigest(payload, Math.min(count, 64))); // warm up
      const samples = await interleave(
        CONTENDERS.map((c) => ({ round: async () => (size * count) / (await clients[c.id].bulk(payload, count, digest)) / 1e6 })),
        opts.rounds,
        progress,
      );
      CONTENDERS.forEach((c, i) => bulk.push({ size, id: c.id, name: c.name, mbPerSecond: median(samples[i]), samples: samples[i] }));
    }
    progress.phase(`transport ${placement}: ${RTT_SIZE} B round trips`);
    const rttSamples = CONTENDERS.map(() => []);
    await interleave(
      CONTENDERS.map((c, i) => ({ round: () => clients[c.id].rtt(b.rttCount, rttSamples[i]) })),
      opts.rounds,
      progress,
    );
    const rtt = CONTENDERS.map((c, i) => ({ id: c.id, name: c.name, p50us: percentile(rttSamples[i], 50), p99us: percentile(rttSamples[i], 99), count: rttSamples[i].length }));
    return { placement, bulk, rtt };
  } finally {
    for (const c of Object.values(clients)) await c.close();
    await node.close();
    await peer.stop();
  }
}

async function run(opts, progress) {
  const out = { placements: [] };
  try {
    for (const p of placements()) out.placements.push(await runPlacement(p, opts, progress));
  } finally {
    pinSelf(require('node:os').cpus().map((_, i) => i).join(','));
  }
  for (const p of out.placements) {
    for (const size of [...new Set(p.bulk.map((r) => r.size))]) {
      const at = p.bulk.filter((r) => r.size === size);
      const ref = (id) => at.find((r) => r.id === id).mbPerSecond;
      for (const r of at) {
        r.ratio = { tlsChacha: r.mbPerSecond / ref('tls-chacha'), tlsAes: r.mbPerSecond / ref('tls-aes'), tcp: r.mbPerSecond / ref('tcp'), libp2pQuic: r.mbPerSecond / ref('libp2p-quic') };
      }
    }
    const tlsRtt = p.rtt.find((r) => r.id === 'tls-chacha').p50us;
    for (const r of p.rtt) r.p50RatioVsTlsChacha = r.p50us / tlsRtt;
  }
  return out;
}

module.exports = { plan, run };
