/** The hybrid handshake driven from TypeScript (SPEC.md §3). */
import { crypto, Identity, FrameCipher } from '../../ts';
import { codeOf as code } from './helpers';

const { Handshake } = crypto;
const alice = Identity.fromSeed(Buffer.alloc(32, 1));
const bob = Identity.fromSeed(Buffer.alloc(32, 2));
const mallory = Identity.fromSeed(Buffer.alloc(32, 3));

/** Runs a handshake, letting `tamper` change message k (0-based) in flight. */
function run(tamper: (k: number, m: Buffer) => Buffer = (_k, m) => m, cb: [Buffer?, Buffer?] = []) {
  const i = Handshake.initiator(alice, { expectedPeer: bob.did, channelBinding: cb[0] });
  const r = Handshake.responder(bob, { channelBinding: cb[1] });
  const m2 = r.handle(tamper(0, i.start()));
  const m3 = i.handle(tamper(1, m2!));
  expect(r.handle(tamper(2, m3!))).toBeNull();
  return { i, r };
}

test('two peers complete the handshake and their keys agree', () => {
  const { i, r } = run();
  expect(i.isComplete && r.isComplete).toBe(true);
  expect(i.peerDid).toBe(bob.did);
  expect(r.peerDid).toBe(alice.did);
  expect(i.sessionId!.equals(r.sessionId!)).toBe(true);
  expect(i.transcriptHash!.equals(r.transcriptHash!)).toBe(true);
  const [ci, cr] = [i.frameCipher(), r.frameCipher()];
  expect(cr.open(ci.seal(Buffer.from('to bob'))).data.toString()).toBe('to bob');
  expect(ci.open(cr.seal(Buffer.from('to alice'))).data.toString()).toBe('to alice');
  expect(code(() => i.frameCipher())).toBe('ERR_L2_INVALID_STATE');
});

test('message sizes are as SPEC.md says', () => {
  const i = Handshake.initiator(alice);
  const r = Handshake.responder(bob);
  const m1 = i.start();
  const m2 = r.handle(m1)!;
  const m3 = i.handle(m2)!;
  expect([m1.length, m2.length, m3.length]).toEqual([1252, 1300, 148]);
});

test('every single-bit flip in every handshake message is rejected', () => {
  const sizes = [1252, 1300, 148];
  let flips = 0;
  sizes.forEach((size, k) => {
    for (let bit = 0; bit < size * 8; bit++) {
      const failure = code(() =>
        run((j, m) => {
          if (j !== k) return m;
          const copy = Buffer.from(m);
          copy[bit >> 3] ^= 1 << (bit & 7);
          return copy;
        }),
      );
      expect(['ERR_L2_AUTH_FAILED', 'ERR_L2_BAD_INPUT', 'ERR_L2_UNSUPPORTED']).toContain(failure);
      flips++;
    }
  });
  expect(flips).toBe((1252 + 1300 + 148) * 8);
});

test('a replayed first message cannot produce a second session', () => {
  const i = Handshake.initiator(alice);
  const r1 = Handshake.responder(bob);
  const m1 = i.start();
  const m2 = r1.handle(m1)!;
  const m3 = i.handle(m2)!;
  r1.handle(m3);
  const r2 = Handshake.responder(bob);
  const m2b = r2.handle(m1)!;
  expect(m2b.equals(m2)).toBe(false);
  expect(code(() => r2.handle(m3))).toBe('ERR_L2_AUTH_FAILED');
  expect(r2.isComplete).toBe(false);
  expect(r2.sessionId).toBeNull();
  expect(code(() => r1.handle(m1))).toBe('ERR_L2_INVALID_STATE');
});

test('wrong identity → ERR_L2_AUTH_FAILED', () => {
  const i = Handshake.initiator(alice, { expectedPeer: bob.publicKey });
  const r = Handshake.responder(mallory);
  expect(code(() => i.handle(r.handle(i.start())!))).toBe('ERR_L2_AUTH_FAILED');
  expect(i.isComplete).toBe(false);
});

test('channel bindings that differ (a spliced connection) fail authentication', () => {
  expect(code(() => run(undefined, [Buffer.from('conn A'), Buffer.from('conn B')]))).toBe('ERR_L2_AUTH_FAILED');
  const { i } = run(undefined, [Buffer.from('same'), Buffer.from('same')]);
  expect(i.isComplete).toBe(true);
});

test('handshake misuse is a typed error', () => {
  const i = Handshake.initiator(alice);
  i.start();
  expect(code(() => i.start())).toBe('ERR_L2_INVALID_STATE');
  expect(code(() => Handshake.responder(bob, { expectedPeer: alice.did }))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => Handshake.initiator(alice, { expectedPeer: 'did:web:example.com' }))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => Handshake.initiator({} as Identity))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => Handshake.responder(bob).handle(Buffer.from([1, 1, 1, 0, 9, 9])))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => Handshake.responder(bob).handle(Buffer.from([1, 2, 1, 0])))).toBe('ERR_L2_UNSUPPORTED');
});

test('a second handshake rotates the frame cipher to epoch 1 without losing in-flight frames', () => {
  const first = run();
  const [ci, cr]: FrameCipher[] = [first.i.frameCipher(), first.r.frameCipher()];
  const inFlight = ci.seal(Buffer.from('old epoch'));
  const second = run();
  expect(second.i.installInto(ci)).toBe(1);
  expect(second.r.installInto(cr)).toBe(1);
  const fresh = cr.open(ci.seal(Buffer.from('new epoch')));
  expect([fresh.epoch, fresh.data.toString()]).toEqual([1, 'new epoch']);
  expect(cr.open(inFlight).data.toString()).toBe('old epoch');
});
