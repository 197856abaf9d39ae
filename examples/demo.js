// The main job, for now: two in-process peers run the hybrid post-quantum handshake, then
// exchange sealed messages in both directions, rotate keys with a second handshake, and
// report throughput. Run it with `npm run demo` after `npm install`.
'use strict';
const { crypto, Identity, FrameType } = require('..');

const alice = Identity.generate();
const bob = Identity.generate();
console.log(`alice ${alice.did}\nbob   ${bob.did}`);

function handshake() {
  const started = process.hrtime.bigint();
  const i = crypto.Handshake.initiator(alice, { expectedPeer: bob.did });
  const r = crypto.Handshake.responder(bob);
  const m1 = i.start();
  const m2 = r.handle(m1);
  const m3 = i.handle(m2);
  r.handle(m3);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(
    `handshake: ${m1.length} + ${m2.length} + ${m3.length} bytes, ${ms.toFixed(2)} ms; ` +
      `session ${i.sessionId.toString('hex')}; bob sees ${r.peerDid === alice.did ? 'alice' : 'someone else'}`,
  );
  return { i, r };
}

const first = handshake();
const toBob = first.i.frameCipher();
const toAlice = first.r.frameCipher();

const hello = toBob.seal(Buffer.from('hello bob, this is post-quantum'));
console.log(`alice → bob: ${hello.length}-byte frame → "${toAlice.open(hello).data}"`);
const reply = toAlice.seal(Buffer.from('hello alice'));
console.log(`bob → alice: "${toBob.open(reply).data}"`);

// Rotation: a fresh handshake's keys become epoch 1; a frame in flight from epoch 0 still opens.
const inFlight = toBob.seal(Buffer.from('sent just before rotation'));
const second = handshake();
second.i.installInto(toBob);
second.r.installInto(toAlice);
const after = toAlice.open(toBob.seal(Buffer.from('after rotation')));
console.log(`rotated to epoch ${after.epoch}: "${after.data}", in-flight epoch-0 frame: "${toAlice.open(inFlight).data}"`);

// Throughput: 64-byte messages in batches of 4096, and 16 KiB messages.
function throughput(size, batch, rounds) {
  const data = Buffer.alloc(size * batch, 7);
  const lengths = new Uint32Array(batch).fill(size);
  const started = process.hrtime.bigint();
  let delivered = 0;
  for (let n = 0; n < rounds; n++) {
    const opened = toAlice.openBatch(toBob.sealPacked(data, lengths, FrameType.Data));
    delivered += opened.data.length;
  }
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  if (delivered !== size * batch * rounds) throw new Error('lost data');
  console.log(
    `seal+open ${size} B × ${batch * rounds}: ${((batch * rounds) / s / 1e6).toFixed(2)} M msgs/s, ${(delivered / s / 1e6).toFixed(0)} MB/s`,
  );
}
throughput(64, 4096, 100);
throughput(16384, 64, 100);
