#!/usr/bin/env node
/**
 * A session endpoint driven over stdio (tools/chaos/rpc.js), so a test can run each node as its own
 * host: `ip netns exec NS node tools/chaos/peer.js`. It uses the built package (`dist/`), sends
 * sequence-numbered messages continuously and checks what arrives: exactly once, in order, intact.
 *
 * Commands: listen {host, config, quicIdleTimeout} → {did, addresses}; establish {did, addresses,
 * quicTimeout} → {state, transport, keyEpoch}; traffic {intervalMs, size}; stop → {sent};
 * rotate → {keyEpoch}; report → counters; close.
 * Events: ready, state (each audit record), session (an inbound session arrived), transport.
 */
'use strict';
const path = require('node:path');
const { serve } = require('./rpc');
const { Node, Identity } = require(path.join(__dirname, '..', '..', 'dist'));

/** Header of every message: magic, then the sequence number; the body repeats the sequence number's low byte. */
const MAGIC = 0x4c32;
const HEADER = 6;

let node = null;
let session = null;
const transitions = [];
const sender = { running: null, stop: false, next: 0, limitHits: 0, errors: [] };
const receiver = { delivered: 0, duplicated: 0, outOfOrder: 0, corrupt: 0, highest: -1, seen: new Set() };
const warnings = {};
let fallbacks = 0;
let transport = null;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function message(seq, size) {
  const buf = Buffer.alloc(Math.max(size, HEADER), seq & 0xff);
  buf.writeUInt16BE(MAGIC, 0);
  buf.writeUInt32BE(seq, 2);
  return buf;
}

function onMessage(buf) {
  if (buf.length < HEADER || buf.readUInt16BE(0) !== MAGIC || buf.subarray(HEADER).some((b) => b !== (buf[5] & 0xff))) {
    receiver.corrupt++;
    return;
  }
  const seq = buf.readUInt32BE(2);
  if (receiver.seen.has(seq)) return void receiver.duplicated++;
  receiver.seen.add(seq);
  receiver.delivered++;
  // In order means each new message is the one right after the highest seen.
  if (seq !== receiver.highest + 1) receiver.outOfOrder++;
  receiver.highest = Math.max(receiver.highest, seq);
}

function attach(s) {
  session = s;
  transport = s.transport;
  s.on('message', onMessage);
  s.on('warning', (w) => (warnings[w.code] = (warnings[w.code] ?? 0) + 1));
  s.on('error', (e) => sender.errors.push(`${e.code}: ${e.message}`));
}

// The session moves transports without an event (invisible to the caller): watch it.
setInterval(() => {
  if (!session || session.transport === transport) return;
  if (transport === 'quic' && session.transport === 'tcp') fallbacks++;
  emit('transport', { from: transport, to: session.transport });
  transport = session.transport;
}, 50).unref();

async function sendLoop(intervalMs, size) {
  while (!sender.stop) {
    try {
      await session.send(message(sender.next, size));
      sender.next++;
    } catch (err) {
      // A full queue (degraded or suspended): the message was not accepted; offer it again later.
      if (err.code === 'ERR_L2_LIMIT') sender.limitHits++;
      else {
        sender.errors.push(`${err.code}: ${err.message}`);
        return;
      }
    }
    await sleep(intervalMs);
  }
}

function needSession() {
  if (!session) throw Object.assign(new Error('no session yet'), { code: 'ERR_NO_SESSION' });
  return session;
}

const emit = serve({
  async listen({ host, config, quicIdleTimeout }) {
    node = await Node.listen({
      identity: Identity.generate(),
      host,
      config,
      quicIdleTimeout,
      audit: (r) => {
        const t = { from: r.from, to: r.to, reason: r.reason, keyEpoch: r.keyEpoch, transport: r.transport, time: r.time };
        transitions.push(t);
        emit('state', t);
      },
    });
    node.on('session', (s) => {
      attach(s);
      emit('session', { peerDid: s.peerDid, transport: s.transport });
    });
    return { did: node.did, addresses: node.addresses };
  },
  async establish({ did, addresses, quicTimeout }) {
    attach(await node.establish(did, { addresses, quicTimeout }));
    return { state: session.state, transport: session.transport, keyEpoch: session.keyEpoch };
  },
  traffic({ intervalMs, size }) {
    needSession();
    if (sender.running) throw new Error('traffic already running');
    sender.stop = false;
    sender.running = sendLoop(intervalMs, size);
    return null;
  },
  async stop() {
    sender.stop = true;
    await sender.running;
    sender.running = null;
    return { sent: sender.next };
  },
  async rotate() {
    await needSession().rotate();
    return { keyEpoch: session.keyEpoch };
  },
  report() {
    const { seen, ...recv } = receiver;
    return {
      state: session?.state ?? null,
      transport: session?.transport ?? null,
      linkTransport: session?.link?.transport ?? null,
      keyEpoch: session?.keyEpoch ?? 0,
      pending: session?.pending ?? 0,
      sent: sender.next,
      limitHits: sender.limitHits,
      errors: sender.errors,
      received: recv,
      transitions,
      warnings,
      fallbacks,
      tcpFallbacks: node?.transport.stats().tcpFallbacks ?? 0,
    };
  },
  async close() {
    sender.stop = true;
    await sender.running;
    await node?.close();
    return null;
  },
});
emit('ready', { pid: process.pid });
