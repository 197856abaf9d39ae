#!/usr/bin/env node
/**
 * Hostile traffic for the DoS tests, run as its own process so the victim's event loop and RSS
 * are measured without the attacker's work in them. Every socket is bound to a loopback source
 * address (127.0.0.2 … 127.0.0.50) so the victim sees many sources. Prints one JSON line of
 * counts on stdout when done.
 *
 *   node tools/dos/attacker.js flood    '{"tcp": "127.0.0.1:P", "quic": "127.0.0.1:Q", "victimKey": "<hex>", "sources": [...], "durationMs": 8000, "concurrency": 2}'
 *   node tools/dos/attacker.js halfopen '{"quic": "127.0.0.1:Q", "sources": [...], "count": 300}'
 *
 * flood: each worker opens a connection (raw μTCP, or QUIC through the native transport), sends
 * one bogus first handshake message (random bytes, or a real message 1 truncated or with bytes
 * flipped) and waits for the node to drop it.
 * halfopen: captures the QUIC Initial flights of `count` real dials (each with its own
 * connection ID) on a UDP sink, then replays each once, from the sources in turn, and never
 * answers: every one is a half-open connection unless the node answers with a stateless Retry.
 */
'use strict';
const dgram = require('node:dgram');
const net = require('node:net');
const path = require('node:path');
const { randomBytes, randomInt } = require('node:crypto');
const native = require(path.join(__dirname, '..', '..', 'native', 'binding.js'));

const PREAMBLE = Buffer.from([0x4c, 0x32, 0x53, 0x01]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function split(address) {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** One bogus first handshake message: random, or a real message 1 truncated or mutated. */
function bogusHello(victimKey, counts) {
  const real = native.Handshake.initiator(native.Identity.generate(), { expectedPeer: victimKey }).start();
  switch (randomInt(3)) {
    case 0:
      counts.random++;
      return randomBytes(1 + randomInt(4000));
    case 1:
      counts.truncated++;
      return real.subarray(0, randomInt(real.length));
    default: {
      counts.mutated++;
      for (let k = 1 + randomInt(3); k > 0; k--) real[randomInt(real.length)] ^= 1 + randomInt(255);
      return real;
    }
  }
}

/** Raw μTCP: preamble, one length-prefixed message, then wait for the node to close. */
function tcpAttempt(target, source, hello) {
  return new Promise((resolve) => {
    const s = net.connect({ ...target, localAddress: source });
    let answered = false;
    const done = (outcome) => {
      clearTimeout(timer);
      s.destroy();
      resolve(answered ? 'answered' : outcome);
    };
    const timer = setTimeout(() => done('timeout'), 10_000);
    s.on('connect', () => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(hello.length);
      s.write(Buffer.concat([PREAMBLE, len, hello]));
    });
    // An answer means the node did the work of message 2; we never send message 3.
    s.on('data', () => {
      answered = true;
      s.end();
    });
    s.on('error', () => done('reset'));
    s.on('close', () => done('closed'));
  });
}

/** QUIC through a transport node bound to the source address. */
async function quicAttempt(node, target, hello) {
  let link;
  try {
    link = await node.dial({ quic: target, transport: 'quic', quicTimeoutMs: 3000 });
  } catch {
    return 'refused';
  }
  try {
    await link.send([hello]);
    const got = await Promise.race([link.recv(), sleep(10_000).then(() => null)]);
    if (got === null) return 'timeout';
    return got.length > 0 ? 'answered' : 'closed';
  } catch {
    return 'closed';
  } finally {
    link.abort();
  }
}

async function flood(o) {
  const victimKey = Buffer.from(o.victimKey, 'hex');
  const counts = { attempts: 0, random: 0, truncated: 0, mutated: 0, outcomes: {} };
  const until = Date.now() + o.durationMs;
  const nodes = new Map();
  if (o.quic) {
    for (const source of o.sources) {
      nodes.set(source, await native.TransportNode.listen(native.Identity.generate(), { host: source }));
    }
  }
  const transports = [o.tcp && 'tcp', o.quic && 'quic'].filter(Boolean);
  const worker = async (source, w) => {
    for (let i = w; Date.now() < until; i++) {
      const hello = bogusHello(victimKey, counts);
      const kind = transports[i % transports.length];
      const outcome = kind === 'tcp' ? await tcpAttempt(split(o.tcp), source, hello) : await quicAttempt(nodes.get(source), o.quic, hello);
      counts.attempts++;
      const key = `${kind}_${outcome}`;
      counts.outcomes[key] = (counts.outcomes[key] ?? 0) + 1;
      // A refused attacker retries at once: the node's limits, not our politeness, hold it back.
    }
  };
  const workers = [];
  for (const source of o.sources) for (let w = 0; w < o.concurrency; w++) workers.push(worker(source, w));
  await Promise.all(workers);
  await Promise.all([...nodes.values()].map((n) => n.close()));
  return counts;
}

/** Long-header packet fields: type bits and destination connection ID (RFC 9000 §17.2). */
function longHeader(datagram) {
  if (datagram.length < 7 || (datagram[0] & 0x80) === 0) return null;
  const dcidLen = datagram[5];
  return { type: (datagram[0] & 0x30) >> 4, dcid: datagram.subarray(6, 6 + dcidLen).toString('hex') };
}

async function halfopen(o) {
  // Capture: real dials to a sink that never answers; each dial is a fresh connection ID.
  const sink = dgram.createSocket('udp4');
  await new Promise((r) => sink.bind(0, '127.0.0.1', r));
  const flights = new Map();
  sink.on('message', (msg) => {
    const h = longHeader(msg);
    if (!h || h.type !== 0) return;
    const flight = flights.get(h.dcid) ?? [];
    // Keep the first flight only, not its retransmissions.
    if (flight.length < 2 && !flight.some((d) => d.equals(msg))) flight.push(Buffer.from(msg));
    flights.set(h.dcid, flight);
  });
  const dialer = await native.TransportNode.listen(native.Identity.generate(), { host: '127.0.0.1' });
  const sinkAddress = `127.0.0.1:${sink.address().port}`;
  await Promise.all(
    Array.from({ length: o.count }, () => dialer.dial({ quic: sinkAddress, transport: 'quic', quicTimeoutMs: 1500 }).catch(() => undefined)),
  );
  await dialer.close();
  sink.close();

  // Replay: each captured flight once, sources in turn; answers are counted, never acted on.
  const counts = { flights: flights.size, sent: 0, retries: 0, handshakes: 0 };
  const sockets = [];
  for (const source of o.sources) {
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(0, source, r));
    const seen = new Set();
    s.on('message', (msg) => {
      const h = longHeader(msg);
      if (!h || seen.has(h.dcid + h.type)) return;
      seen.add(h.dcid + h.type);
      if (h.type === 3) counts.retries++;
      else if (h.type === 0) counts.handshakes++;
    });
    sockets.push(s);
  }
  const target = split(o.quic);
  let i = 0;
  for (const flight of flights.values()) {
    const s = sockets[i++ % sockets.length];
    for (const d of flight) s.send(d, target.port, target.host);
    counts.sent++;
    // A little spacing keeps the kernel's UDP buffers from dropping the burst.
    if (i % 32 === 0) await sleep(5);
  }
  await sleep(o.settleMs ?? 1500);
  for (const s of sockets) s.close();
  return counts;
}

async function main() {
  const [mode, json] = process.argv.slice(2);
  const o = JSON.parse(json);
  const run = { flood, halfopen }[mode];
  if (!run) throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify(await run(o))}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
