#!/usr/bin/env node
// Crypto benchmark through the public TypeScript API, against Node's own crypto in the same
// run: ours and the baseline alternate round by round, and each figure is the median of the
// rounds. Every timed round checks what it produced (opened plaintexts match), so nothing is
// optimised away. Usage: node bench/crypto.js [--quick] [--json PATH]
'use strict';
const nodeCrypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const { crypto, Identity, FrameType } = require('..');

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonPath = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const ROUNDS = quick ? 5 : 15;
const ROUND_MS = quick ? 60 : 200;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs `op` (which does `unit` items per call) for about ROUND_MS; returns items per second. */
function rate(op, unit) {
  let calls = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ROUND_MS) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let k = 0; k < 8; k++) op();
    calls += 8;
    elapsed = process.hrtime.bigint() - start;
  }
  return (calls * unit) / (Number(elapsed) / 1e9);
}

/** Alternates the contenders round by round; returns median items/s for each. */
function compare(contenders) {
  const samples = contenders.map(() => []);
  for (let r = 0; r < ROUNDS; r++) contenders.forEach((c, i) => samples[i].push(rate(c.op, c.unit)));
  return contenders.map((c, i) => ({ name: c.name, perSecond: median(samples[i]) }));
}

function cipherPair() {
  const i = crypto.Handshake.initiator(Identity.generate());
  const r = crypto.Handshake.responder(Identity.generate());
  r.handle(i.handle(r.handle(i.start())));
  return [i.frameCipher(), r.frameCipher()];
}

function check(ok, what) {
  if (!ok) throw new Error(`benchmark self-check failed: ${what}`);
}

function aeadContenders(size) {
  const msg = Buffer.alloc(size, 0x5a);
  const [a, b] = cipherPair();
  const batch = Math.max(1, Math.min(4096, Math.floor((1 << 20) / size)));
  const packed = Buffer.alloc(size * batch, 0x5a);
  const lengths = new Uint32Array(batch).fill(size);
  const key = nodeCrypto.randomBytes(32);
  let counter = 0;
  const nonceBuf = Buffer.alloc(12);
  return [
    {
      name: 'l2 frame seal+open',
      unit: 1,
      op: () => {
        const opened = b.open(a.seal(msg));
        check(opened.data.length === size, 'single open');
      },
    },
    {
      name: `l2 batch seal+open (${batch}/call)`,
      unit: batch,
      op: () => {
        const opened = b.openBatch(a.sealPacked(packed, lengths, FrameType.Data));
        check(opened.data.length === size * batch && opened.status.every((s) => s === 0), 'batch open');
      },
    },
    {
      name: 'node:crypto chacha20-poly1305',
      unit: 1,
      op: () => {
        nonceBuf.writeBigUInt64BE(BigInt(++counter), 4);
        const c = nodeCrypto.createCipheriv('chacha20-poly1305', key, nonceBuf, { authTagLength: 16 });
        const ct = Buffer.concat([c.update(msg), c.final()]);
        const tag = c.getAuthTag();
        const d = nodeCrypto.createDecipheriv('chacha20-poly1305', key, nonceBuf, { authTagLength: 16 });
        d.setAuthTag(tag);
        const pt = Buffer.concat([d.update(ct), d.final()]);
        check(pt.length === size, 'node open');
      },
    },
  ];
}

function handshakeContenders() {
  const alice = Identity.generate();
  const bob = Identity.generate();
  return [
    {
      name: 'l2 hybrid handshake (both sides, one thread)',
      unit: 1,
      op: () => {
        const i = crypto.Handshake.initiator(alice, { expectedPeer: bob.publicKey });
        const r = crypto.Handshake.responder(bob);
        r.handle(i.handle(r.handle(i.start())));
        check(r.isComplete && i.isComplete, 'handshake');
      },
    },
  ];
}

const results = { machine: `${os.cpus()[0].model}, ${os.cpus().length} CPUs, Node ${process.version}`, date: new Date().toISOString(), aead: [], handshake: [] };
console.log(`l2-session crypto bench — ${results.machine}${quick ? ' (quick)' : ''}`);
for (const size of [64, 1024, 16384]) {
  const res = compare(aeadContenders(size));
  const base = res.find((r) => r.name.startsWith('node:crypto')).perSecond;
  console.log(`\nseal+open ${size} B`);
  for (const r of res) {
    const entry = { size, name: r.name, opsPerSecond: r.perSecond, mbPerSecond: (r.perSecond * size) / 1e6, ratioVsNode: r.perSecond / base };
    results.aead.push(entry);
    console.log(`  ${r.name.padEnd(40)} ${(entry.opsPerSecond / 1e3).toFixed(1).padStart(9)} k/s ${entry.mbPerSecond.toFixed(0).padStart(6)} MB/s  ×${entry.ratioVsNode.toFixed(2)} node`);
  }
}
for (const r of compare(handshakeContenders())) {
  results.handshake.push({ name: r.name, perSecond: r.perSecond });
  console.log(`\n${r.name}: ${r.perSecond.toFixed(0)} handshakes/s`);
}
if (jsonPath) fs.writeFileSync(jsonPath, JSON.stringify(results, null, 2));
