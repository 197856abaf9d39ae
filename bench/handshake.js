// Section 2: full handshakes. (a) Crypto only, both sides in one thread: ours (crypto.Handshake)
// against the same message flow assembled from the fastest JavaScript pieces. (b) Over loopback
// with a new connection each: our establish over μTCP against Node TLS 1.3 full handshakes, with 1
// and with 16 in flight. The responders of (b) run in a child process (bench/peer.js).
'use strict';
const nodeCrypto = require('node:crypto');
const tls = require('node:tls');
const { crypto, Identity, Node } = require('..');
const { check, rateSync, interleave, median, TINY } = require('./lib/harness');
const { ECHO, header } = require('./lib/jobs');
const { startPeer, BENCH_LIMITS } = require('./lib/peer-client');

/** The ML-KEM-768 candidates on npm, each wrapped to one shape: keygen/encaps/decaps on bytes. */
async function kemCandidates() {
  const out = [];
  try {
    const { createMLKEM768 } = await import('@oqs/liboqs-js');
    const kem = await createMLKEM768();
    out.push({
      name: '@oqs/liboqs-js (liboqs WASM)',
      keygen: () => kem.generateKeyPair(),
      encaps: (pk) => {
        const e = kem.encapsulate(pk);
        return { ct: e.ciphertext, ss: e.sharedSecret };
      },
      decaps: (ct, sk) => kem.decapsulate(new Uint8Array(ct), sk), // it rejects Buffer views
    });
  } catch (err) {
    out.push({ name: '@oqs/liboqs-js', error: String(err.message ?? err) });
  }
  try {
    const { ml_kem768 } = await import('@noble/post-quantum/ml-kem.js');
    out.push({
      name: '@noble/post-quantum (pure JS)',
      keygen: () => ml_kem768.keygen(),
      encaps: (pk) => {
        const e = ml_kem768.encapsulate(pk);
        return { ct: e.cipherText, ss: e.sharedSecret };
      },
      decaps: (ct, sk) => ml_kem768.decapsulate(ct, sk),
    });
  } catch (err) {
    out.push({ name: '@noble/post-quantum', error: String(err.message ?? err) });
  }
  return out;
}

/** Times keygen+encaps+decaps of each candidate (checking the secrets agree); returns the fastest. */
function pickKem(candidates, ms) {
  const usable = candidates.filter((c) => !c.error);
  for (const c of usable) {
    c.roundTripsPerSecond = rateSync(
      () => {
        const { publicKey, secretKey } = c.keygen();
        const { ct, ss } = c.encaps(publicKey);
        check(Buffer.from(c.decaps(ct, secretKey)).equals(Buffer.from(ss)), `${c.name} KEM round trip`);
      },
      1,
      ms,
    );
  }
  usable.sort((a, b) => b.roundTripsPerSecond - a.roundTripsPerSecond);
  return usable[0];
}

const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const x25519Public = (raw) => nodeCrypto.createPublicKey({ key: Buffer.concat([X25519_SPKI, raw]), format: 'der', type: 'spki' });
const rawX25519 = (key) => key.export({ format: 'der', type: 'spki' }).subarray(12);
const XWING_LABEL = Buffer.from('5c2e2f2f5e5c', 'hex'); // X-Wing's combiner label "\.//^\"

/**
 * Our message flow with Node and npm pieces: an X-Wing ephemeral key (ML-KEM-768 + X25519) from the
 * initiator; the responder encapsulates, combines with SHA3-256, derives keys (HKDF-SHA256 over the
 * transcript hash), signs and MACs; the initiator decapsulates, verifies, signs, MACs and sends its
 * identity under the AEAD (identity hiding); the responder opens and verifies. Both ends' keys must agree.
 */
function jsHandshake(kem) {
  const alice = nodeCrypto.generateKeyPairSync('ed25519');
  const bob = nodeCrypto.generateKeyPairSync('ed25519');
  const alicePub = alice.publicKey.export({ format: 'der', type: 'spki' });
  return () => {
    // Initiator: message 1.
    const iKem = kem.keygen();
    const iX = nodeCrypto.generateKeyPairSync('x25519');
    const iXPub = rawX25519(iX.publicKey);
    const m1 = Buffer.concat([Buffer.from([1, 1]), iKem.publicKey, iXPub]);
    // Responder: encapsulate to both halves, combine, sign, MAC: message 2.
    const t1 = nodeCrypto.createHash('sha3-256').update(m1);
    const enc = kem.encaps(iKem.publicKey);
    const rX = nodeCrypto.generateKeyPairSync('x25519');
    const rXPub = rawX25519(rX.publicKey);
    const rDh = nodeCrypto.diffieHellman({ privateKey: rX.privateKey, publicKey: x25519Public(iXPub) });
    const rSs = nodeCrypto.createHash('sha3-256').update(enc.ss).update(rDh).update(rXPub).update(iXPub).update(XWING_LABEL).digest();
    const th2 = t1.copy().update(enc.ct).update(rXPub).digest();
    const rKeys = Buffer.from(nodeCrypto.hkdfSync('sha256', rSs, th2, 'l2 handshake keys', 96));
    const rSig = nodeCrypto.sign(null, th2, bob.privateKey);
    const rMac = nodeCrypto.createHmac('sha256', rKeys.subarray(0, 32)).update(th2).update(rSig).digest();
    const m2 = Buffer.concat([Buffer.from(enc.ct), rXPub, rSig, rMac]);
    // Initiator: decapsulate, verify bob, answer with its sealed identity: message 3.
    const ct = m2.subarray(0, 1088);
    const rXPubSeen = m2.subarray(1088, 1120);
    const iSs0 = kem.decaps(ct, iKem.secretKey);
    const iDh = nodeCrypto.diffieHellman({ privateKey: iX.privateKey, publicKey: x25519Public(rXPubSeen) });
    const iSs = nodeCrypto.createHash('sha3-256').update(iSs0).update(iDh).update(rXPubSeen).update(iXPub).update(XWING_LABEL).digest();
    const iTh2 = nodeCrypto.createHash('sha3-256').update(m1).update(ct).update(rXPubSeen).digest();
    const iKeys = Buffer.from(nodeCrypto.hkdfSync('sha256', iSs, iTh2, 'l2 handshake keys', 96));
    const sigSeen = m2.subarray(1120, 1184);
    check(nodeCrypto.verify(null, iTh2, bob.publicKey, sigSeen), 'js handshake: responder signature');
    const macSeen = m2.subarray(1184);
    check(nodeCrypto.timingSafeEqual(macSeen, nodeCrypto.createHmac('sha256', iKeys.subarray(0, 32)).update(iTh2).update(sigSeen).digest()), 'js handshake: responder MAC');
    const th3 = nodeCrypto.createHash('sha3-256').update(iTh2).update(m2).digest();
    const iSig = nodeCrypto.sign(null, th3, alice.privateKey);
    const nonce = Buffer.alloc(12);
    const c = nodeCrypto.createCipheriv('chacha20-poly1305', iKeys.subarray(32, 64), nonce, { authTagLength: 16 });
    const sealed = Buffer.concat([c.update(Buffer.concat([alicePub, iSig])), c.final(), c.getAuthTag()]);
    const iMac = nodeCrypto.createHmac('sha256', iKeys.subarray(64, 96)).update(th3).update(sealed).digest();
    // Responder: open the identity, verify alice's signature and the finished MAC.
    const rTh3 = nodeCrypto.createHash('sha3-256').update(th2).update(m2).digest();
    check(nodeCrypto.timingSafeEqual(iMac, nodeCrypto.createHmac('sha256', rKeys.subarray(64, 96)).update(rTh3).update(sealed).digest()), 'js handshake: initiator MAC');
    const d = nodeCrypto.createDecipheriv('chacha20-poly1305', rKeys.subarray(32, 64), nonce, { authTagLength: 16 });
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const opened = Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
    const pub = nodeCrypto.createPublicKey({ key: opened.subarray(0, alicePub.length), format: 'der', type: 'spki' });
    check(nodeCrypto.verify(null, rTh3, pub, opened.subarray(alicePub.length)), 'js handshake: initiator signature');
    check(rKeys.equals(iKeys), 'js handshake: both ends derive the same keys');
  };
}

function ourHandshake() {
  const alice = Identity.generate();
  const bob = Identity.generate();
  const probe = Buffer.from('handshake check');
  return () => {
    const i = crypto.Handshake.initiator(alice, { expectedPeer: bob.publicKey });
    const r = crypto.Handshake.responder(bob);
    r.handle(i.handle(r.handle(i.start())));
    check(r.isComplete && i.isComplete && r.peerDid === alice.did, 'l2 handshake complete');
    // Key confirmation end to end: what one side seals the other opens.
    check(r.frameCipher().open(i.frameCipher().seal(probe)).data.equals(probe), 'l2 handshake keys agree');
  };
}

/** `inFlight` loops, each doing establish+close (ours) or connect+close (TLS) back to back. */
async function concurrentRate(once, inFlight, ms) {
  let done = 0;
  const t0 = process.hrtime.bigint();
  const budget = BigInt(Math.round(ms * 1e6));
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      do {
        await once();
        done++;
      } while (process.hrtime.bigint() - t0 < budget);
    }),
  );
  return done / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function plan(opts) {
  return { steps: opts.rounds * 2 + opts.rounds * 4 + 2 };
}

async function run(opts, progress) {
  const roundMs = TINY ? 5 : opts.quick ? 300 : 1000;
  progress.phase('handshake: choosing the fastest JS ML-KEM-768');
  const candidates = await kemCandidates();
  const kem = pickKem(candidates, TINY ? 5 : opts.quick ? 300 : 1000);
  progress.tick();
  const kems = candidates.map((c) => ({ name: c.name, kemRoundTripsPerSecond: c.roundTripsPerSecond, error: c.error }));
  if (!kem) throw new Error(`no JS ML-KEM-768 usable: ${JSON.stringify(kems)}`);

  progress.phase('handshake: crypto only, one thread');
  const ours = ourHandshake();
  const theirs = jsHandshake(kem);
  ours();
  theirs();
  const cryptoSamples = await interleave(
    [{ round: () => rateSync(ours, 1, roundMs) }, { round: () => rateSync(theirs, 1, roundMs) }],
    opts.rounds,
    progress,
  );
  const cryptoOnly = {
    l2PerSecond: median(cryptoSamples[0]),
    jsPerSecond: median(cryptoSamples[1]),
    jsKem: kem.name,
    kemCandidates: kems,
  };
  cryptoOnly.ratio = cryptoOnly.l2PerSecond / cryptoOnly.jsPerSecond;

  progress.phase('handshake: over loopback (new connection each)');
  const peer = await startPeer({ role: 'serve' });
  const node = await Node.listen({ identity: Identity.generate(), limits: BENCH_LIMITS });
  const probe = Buffer.from('ping');
  try {
    const l2Once = async () => {
      const s = await node.establish(peer.info.did, { transport: 'tcp', addresses: { tcp: peer.info.tcp } });
      check(s.state === 'established' && s.transport === 'tcp', 'l2 loopback establish');
      await s.close();
    };
    const tlsOnce = () =>
      new Promise((resolve, reject) => {
        const sock = tls.connect({ host: '127.0.0.1', port: peer.info.tlsChacha, ca: peer.info.cert, servername: 'localhost', minVersion: 'TLSv1.3' }, () => {
          check(sock.authorized && sock.getProtocol() === 'TLSv1.3' && !sock.isSessionReused(), 'tls full handshake');
          sock.end();
        });
        sock.on('error', reject);
        sock.on('close', resolve);
      });
    // One round trip over each first: both paths work before anything is timed.
    const s = await node.establish(peer.info.did, { transport: 'tcp', addresses: { tcp: peer.info.tcp } });
    await s.send(header(ECHO, probe.length));
    await s.send(probe);
    check((await s.receive({ timeout: 30000 })).equals(probe), 'l2 loopback echo');
    await s.close();
    await tlsOnce();
    const before = node.transport.stats().linksDialed;
    const loopMs = TINY ? 20 : opts.quick ? 600 : 2000;
    const samples = await interleave(
      [
        { round: () => concurrentRate(l2Once, 1, loopMs) },
        { round: () => concurrentRate(tlsOnce, 1, loopMs) },
        { round: () => concurrentRate(l2Once, 16, loopMs) },
        { round: () => concurrentRate(tlsOnce, 16, loopMs) },
      ],
      opts.rounds,
      progress,
    );
    // A new connection per establish: the dial counter grew with every handshake.
    check(node.transport.stats().linksDialed > before, 'l2 establishes dial new links');
    const loopback = {
      l2Tcp1: median(samples[0]),
      tls1: median(samples[1]),
      l2Tcp16: median(samples[2]),
      tls16: median(samples[3]),
      tlsCert: peer.info.certKind,
    };
    loopback.ratio1 = loopback.l2Tcp1 / loopback.tls1;
    loopback.ratio16 = loopback.l2Tcp16 / loopback.tls16;
    progress.tick();
    return { cryptoOnly, loopback };
  } finally {
    await node.close();
    await peer.stop();
  }
}

module.exports = { plan, run };
