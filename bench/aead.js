// Section 1: ChaCha20-Poly1305 seal+open. Our FrameCipher (one frame per call, and the batch
// APIs) against Node's crypto, @noble/ciphers and sodium-native, interleaved round by round, plus
// `openssl speed` as the machine's ceiling. One "op" is one message sealed and opened again.
'use strict';
const nodeCrypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const sodium = require('sodium-native');
const { chacha20poly1305 } = require('@noble/ciphers/chacha.js');
const { crypto, Identity, FrameType } = require('..');
const { check, rateSync, interleave, median, TINY } = require('./lib/harness');

const SIZES = [64, 1024, 16384, 65536];

function cipherPair() {
  const i = crypto.Handshake.initiator(Identity.generate());
  const r = crypto.Handshake.responder(Identity.generate());
  r.handle(i.handle(r.handle(i.start())));
  return [i.frameCipher(), r.frameCipher()];
}

/** A fresh 96-bit nonce per op (a counter, as a real sender would use). */
function nonceCounter() {
  const nonce = Buffer.alloc(12);
  let n = 0n;
  return () => {
    nonce.writeBigUInt64LE(++n, 4);
    return nonce;
  };
}

/**
 * Each contender's op seals and opens `unit` messages and checks the result: lengths every call,
 * full bytes every 16th call (the sample check), so no work can be skipped.
 */
function contenders(size) {
  const msg = nodeCrypto.randomBytes(size);
  const [a, b] = cipherPair();
  // Batches of about 1 MiB (at most 4096 messages): large enough to amortise the N-API call.
  const batch = Math.max(1, Math.min(4096, Math.floor((1 << 20) / size)));
  const packed = Buffer.concat(Array.from({ length: batch }, () => msg));
  const lengths = new Uint32Array(batch).fill(size);
  const list = Array.from({ length: batch }, () => msg);
  const key = nodeCrypto.randomBytes(32);
  const nodeNonce = nonceCounter();
  const nobleNonce = nonceCounter();
  const sodiumNonce = nonceCounter();
  const sodiumCt = Buffer.alloc(size + 16);
  const sodiumPt = Buffer.alloc(size);
  let calls = 0;
  const sample = () => (++calls & 15) === 0;
  const checkBatch = (opened, what) => {
    check(opened.status.length === batch && opened.status.every((s) => s === 0) && opened.data.length === size * batch, what);
    if (sample()) check(opened.data.subarray(0, size).equals(msg) && opened.data.subarray(size * (batch - 1)).equals(msg), `${what} bytes`);
  };
  return {
    batch,
    list: [
      {
        id: 'l2-single',
        name: 'l2 FrameCipher seal/open',
        unit: 1,
        op: () => {
          const opened = b.open(a.seal(msg));
          check(opened.data.length === size, 'l2 open length');
          if (sample()) check(opened.data.equals(msg), 'l2 open bytes');
        },
      },
      {
        id: 'l2-packed',
        name: `l2 sealPacked/openBatch (${batch}/call)`,
        unit: batch,
        op: () => checkBatch(b.openBatch(a.sealPacked(packed, lengths, FrameType.Data)), 'l2 packed batch'),
      },
      {
        id: 'l2-batch',
        name: `l2 sealBatch/openBatch (${batch}/call)`,
        unit: batch,
        op: () => checkBatch(b.openBatch(a.sealBatch(list, FrameType.Data)), 'l2 array batch'),
      },
      {
        id: 'node',
        name: 'node:crypto chacha20-poly1305',
        unit: 1,
        op: () => {
          const nonce = nodeNonce();
          const c = nodeCrypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
          const ct = Buffer.concat([c.update(msg), c.final()]);
          const tag = c.getAuthTag();
          const d = nodeCrypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
          d.setAuthTag(tag);
          const pt = Buffer.concat([d.update(ct), d.final()]);
          check(pt.length === size, 'node open length');
          if (sample()) check(pt.equals(msg), 'node open bytes');
        },
      },
      {
        id: 'noble',
        name: '@noble/ciphers chacha20poly1305',
        unit: 1,
        op: () => {
          const nonce = nobleNonce();
          const ct = chacha20poly1305(key, nonce).encrypt(msg);
          const pt = chacha20poly1305(key, nonce).decrypt(ct);
          check(pt.length === size, 'noble open length');
          if (sample()) check(Buffer.from(pt.buffer, pt.byteOffset, pt.length).equals(msg), 'noble open bytes');
        },
      },
      {
        id: 'sodium',
        name: 'sodium-native chacha20poly1305_ietf',
        unit: 1,
        op: () => {
          const nonce = sodiumNonce();
          sodium.crypto_aead_chacha20poly1305_ietf_encrypt(sodiumCt, msg, null, null, nonce, key);
          const n = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(sodiumPt, null, sodiumCt, null, nonce, key);
          check(n === size, 'sodium open length');
          if (sample()) check(sodiumPt.equals(msg), 'sodium open bytes');
        },
      },
    ],
  };
}

/** `openssl speed` one-direction bytes/s for each size, or null when openssl is absent. */
function opensslCeiling(sizes, seconds) {
  const out = {};
  for (const size of sizes) {
    let text;
    try {
      text = execFileSync('openssl', ['speed', '-evp', 'chacha20-poly1305', '-seconds', String(seconds), '-bytes', String(size)], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch {
      return null;
    }
    // The last line reads "ChaCha20-Poly1305  123456.78k": thousands of bytes per second.
    const m = /chacha20-poly1305\s+([\d.]+)k\s*$/im.exec(text.trim());
    if (!m) return null;
    out[size] = Number(m[1]) * 1000;
  }
  return out;
}

function plan(opts) {
  const sizes = opts.sizes ?? SIZES;
  return { steps: sizes.length * opts.rounds * 6 + 1 };
}

async function run(opts, progress) {
  const sizes = opts.sizes ?? SIZES;
  const roundMs = TINY ? 3 : opts.quick ? 60 : 200;
  const rows = [];
  for (const size of sizes) {
    progress.phase(`aead ${size} B`);
    const { list, batch } = contenders(size);
    for (const c of list) c.op(); // warm up: JIT, lazy module init, first allocation
    const samples = await interleave(
      list.map((c) => ({ round: () => rateSync(c.op, c.unit, roundMs) })),
      opts.rounds,
      progress,
    );
    list.forEach((c, i) => {
      const ops = median(samples[i]);
      rows.push({ size, id: c.id, name: c.name, batch: c.unit > 1 ? batch : 1, opsPerSecond: ops, mbPerSecond: (ops * size) / 1e6, samples: samples[i].length });
    });
  }
  progress.phase('aead: openssl speed ceiling');
  const ceiling = opensslCeiling(sizes, TINY ? 1 : opts.quick ? 1 : 3);
  progress.tick();
  const opensslRows = ceiling
    ? sizes.map((size) => ({
        size,
        oneDirectionMBps: ceiling[size] / 1e6,
        // Seal+open does the cipher work twice per byte: half the one-direction rate.
        sealOpenMBps: ceiling[size] / 2e6,
      }))
    : null;
  for (const size of sizes) {
    const at = rows.filter((r) => r.size === size);
    const ref = (id) => at.find((r) => r.id === id).opsPerSecond;
    for (const r of at) {
      r.ratio = { node: r.opsPerSecond / ref('node'), noble: r.opsPerSecond / ref('noble'), sodium: r.opsPerSecond / ref('sodium') };
      const o = opensslRows?.find((x) => x.size === size);
      if (o) r.ratio.openssl = r.mbPerSecond / o.sealOpenMBps;
    }
  }
  return { sizes, rows, openssl: opensslRows, opensslNote: ceiling ? undefined : 'openssl not available' };
}

module.exports = { plan, run };
