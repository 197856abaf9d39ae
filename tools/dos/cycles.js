#!/usr/bin/env node
/**
 * Establish/close cycles between two nodes in this process, for the leak test
 * (__tests__/dos/cycles.test.ts). Run with --expose-gc: memory and handles are measured after
 * forced collections, once after a warm-up (the baseline) and once after all cycles. Prints
 * `{"baseline":…,"after":…,…}` on one line, closes both nodes, prints `closed`, and then must exit
 * by itself: nothing may keep the event loop alive.
 *
 *   node --expose-gc tools/dos/cycles.js '{"cycles": 10000, "warmup": 300, "concurrency": 4}'
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Node, Identity } = require(path.join(__dirname, '..', '..', 'dist'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function settled(a, b) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const busy = a.sessions.length + b.sessions.length + a.transport.stats().pendingHandshakes + b.transport.stats().pendingHandshakes;
    if (busy === 0) break;
    if (Date.now() > deadline) throw new Error(`sessions or handshakes left over: a ${a.sessions.length}, b ${b.sessions.length}`);
    await sleep(50);
  }
  // QUIC connections linger briefly after close (draining); let them go before measuring.
  await sleep(1500);
}

async function measure(a, b) {
  // Native objects are freed by finalizers that run after a collection, between turns of the
  // event loop: collect, yield, repeat.
  for (let i = 0; i < 6; i++) {
    global.gc();
    await new Promise((r) => setImmediate(r));
  }
  const mem = process.memoryUsage();
  const resources = {};
  for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
  return {
    rssMiB: mem.rss / (1 << 20),
    heapTotalMiB: mem.heapTotal / (1 << 20),
    heapUsedMiB: mem.heapUsed / (1 << 20),
    externalMiB: mem.external / (1 << 20),
    resources,
    sessions: a.sessions.length + b.sessions.length,
    quicConnections: a.transport.stats().quicConnections + b.transport.stats().quicConnections,
    pendingHandshakes: a.transport.stats().pendingHandshakes + b.transport.stats().pendingHandshakes,
    runningTasks: a.transport.stats().runningTasks + b.transport.stats().runningTasks,
    fds: fs.readdirSync('/proc/self/fd').length,
  };
}

async function main() {
  const o = JSON.parse(process.argv[2]);
  // Every cycle comes from 127.0.0.1 as fast as it can: lift the per-source rate limit, which
  // is not what this test is about.
  const limits = { handshakeRatePerSource: 1 << 20, handshakeBurstPerSource: 1 << 20 };
  const a = await Node.listen({ identity: Identity.generate(), limits });
  const b = await Node.listen({ identity: Identity.generate(), limits });
  let next = 0;
  const run = async (n) => {
    const worker = async () => {
      while (next < n) {
        const transport = next++ % 2 === 0 ? 'quic' : 'tcp';
        const s = await a.establish(b.did, { addresses: { quic: b.addresses.quic, tcp: b.addresses.tcp }, transport });
        await s.close();
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  };
  await run(o.warmup);
  await settled(a, b);
  const baseline = await measure(a, b);
  next = 0;
  const t0 = Date.now();
  await run(o.cycles);
  const elapsedMs = Date.now() - t0;
  await settled(a, b);
  const after = await measure(a, b);
  process.stdout.write(`${JSON.stringify({ baseline, after, cycles: o.cycles, elapsedMs })}\n`);
  await a.close();
  await b.close();
  process.stdout.write('closed\n');
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
