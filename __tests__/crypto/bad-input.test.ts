/**
 * Hostile arguments for every exported crypto function: each gives an `L2Error` with a stable
 * code, the process survives, and an unrelated session keeps working.
 */
import { crypto, Identity, didFromPublicKey, didToPublicKey } from '../../ts';
import { codeOf as anyCode, completedHandshake } from './helpers';

const detached = (() => {
  const ab = new ArrayBuffer(32);
  const view = new Uint8Array(ab);
  structuredClone(ab, { transfer: [ab] });
  return view;
})();

/** Values that are not bytes at all. */
const notBytes: [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['number', 42],
  ['string', 'abc'],
  ['plain object', { length: 32 }],
  ['array of numbers', new Array(32).fill(1)],
  ['Float64Array', new Float64Array(4)],
  ['Uint16Array', new Uint16Array(16)],
  ['DataView', new DataView(new ArrayBuffer(32))],
  ['ArrayBuffer', new ArrayBuffer(32)],
];

/** Byte arrays of the wrong size for a fixed-size argument. */
const wrongSizes: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte short', new Uint8Array(31)],
  ['one byte long', new Uint8Array(33)],
  ['detached buffer', detached],
  ['huge', new Uint8Array(1 << 24)],
];

const kp = crypto.hybrid.keygen();
const mk = crypto.mlkem768.keygen();
const ed = crypto.ed25519.keygen();
const x = crypto.x25519.keygen();
const key = new Uint8Array(32);
const nonce = new Uint8Array(12);

/** Each call with `arg` in the position under test, the others valid. Positions with fixed sizes get wrongSizes too. */
const table: [string, (arg: unknown) => unknown, boolean][] = [
  ['mlkem768.keygen(seed)', (a) => crypto.mlkem768.keygen(a as Uint8Array ?? new Uint8Array(1)), true],
  ['mlkem768.encapsulate(ek)', (a) => crypto.mlkem768.encapsulate(a as Uint8Array), true],
  ['mlkem768.encapsulate(_, m)', (a) => crypto.mlkem768.encapsulate(mk.encapsulationKey, a as Uint8Array ?? new Uint8Array(3)), true],
  ['mlkem768.decapsulate(ct)', (a) => crypto.mlkem768.decapsulate(a as Uint8Array, mk.decapsulationKey), true],
  ['mlkem768.decapsulate(_, dk)', (a) => crypto.mlkem768.decapsulate(new Uint8Array(1088), a as Uint8Array), true],
  ['x25519.keygen(seed)', (a) => crypto.x25519.keygen(a as Uint8Array ?? new Uint8Array(5)), true],
  ['x25519.sharedSecret(sk)', (a) => crypto.x25519.sharedSecret(a as Uint8Array, x.publicKey), true],
  ['x25519.sharedSecret(_, pk)', (a) => crypto.x25519.sharedSecret(x.secretKey, a as Uint8Array), true],
  ['ed25519.keygen(seed)', (a) => crypto.ed25519.keygen(a as Uint8Array ?? new Uint8Array(5)), true],
  ['ed25519.sign(sk)', (a) => crypto.ed25519.sign(a as Uint8Array, new Uint8Array(1)), true],
  ['ed25519.sign(_, msg)', (a) => crypto.ed25519.sign(ed.secretKey, a as Uint8Array), false],
  ['ed25519.verify(pk)', (a) => crypto.ed25519.verify(a as Uint8Array, new Uint8Array(1), new Uint8Array(64)), true],
  ['ed25519.verify(_, _, sig)', (a) => crypto.ed25519.verify(ed.publicKey, new Uint8Array(1), a as Uint8Array), true],
  ['aead.seal(key)', (a) => crypto.aead.seal(a as Uint8Array, nonce, new Uint8Array(1)), true],
  ['aead.seal(_, nonce)', (a) => crypto.aead.seal(key, a as Uint8Array, new Uint8Array(1)), true],
  ['aead.seal(_, _, plaintext)', (a) => crypto.aead.seal(key, nonce, a as Uint8Array), false],
  ['aead.open(key)', (a) => crypto.aead.open(a as Uint8Array, nonce, new Uint8Array(16)), true],
  ['aead.open(_, _, sealed)', (a) => crypto.aead.open(key, nonce, a as Uint8Array), true],
  ['hybrid.keygen(seed)', (a) => crypto.hybrid.keygen(a as Uint8Array ?? new Uint8Array(5)), true],
  ['hybrid.encapsulate(pk)', (a) => crypto.hybrid.encapsulate(a as Uint8Array), true],
  ['hybrid.encapsulate(_, eseed)', (a) => crypto.hybrid.encapsulate(kp.publicKey, a as Uint8Array ?? new Uint8Array(5)), true],
  ['hybrid.decapsulate(ct)', (a) => crypto.hybrid.decapsulate(a as Uint8Array, kp.secretKey), true],
  ['hybrid.decapsulate(_, sk)', (a) => crypto.hybrid.decapsulate(new Uint8Array(1120), a as Uint8Array), true],
  ['blake3(data)', (a) => crypto.blake3(a as Uint8Array), false],
  ['Identity.fromSeed(seed)', (a) => Identity.fromSeed(a as Uint8Array), true],
  ['didFromPublicKey(pk)', (a) => didFromPublicKey(a as Uint8Array), true],
];

/** Like `codeOf`, and the message must be ours, naming the argument, not napi-rs's. */
function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    expect((e as Error).message).not.toMatch(/\$name|TypedArray info/);
  }
  return anyCode(call);
}

describe.each(table)('%s', (_name, call, fixedSize) => {
  test.each(notBytes)('rejects %s', (_label, value) => {
    expect(codeOf(() => call(value))).toBe('ERR_L2_BAD_INPUT');
  });
  if (fixedSize) {
    test.each(wrongSizes)('rejects %s', (_label, value) => {
      expect(['ERR_L2_BAD_INPUT', 'ERR_L2_AUTH_FAILED']).toContain(codeOf(() => call(value)));
    });
  }
});

test.each([
  ['length 0', { length: 0 }],
  ['length -1', { length: -1 }],
  ['length 2^32 + 32 (would wrap)', { length: 2 ** 32 + 32 }],
  ['length 1.5', { length: 1.5 }],
  ['key of 31 bytes', { key: new Uint8Array(31) }],
  ['key and context', { key: new Uint8Array(32), context: 'c' }],
  ['context not a string', { context: 5 }],
  ['unknown option', { lenght: 32 }],
  ['options a string', 'x'],
])('blake3 rejects %s', (_label, opts) => {
  expect(codeOf(() => crypto.blake3(new Uint8Array(1), opts as never))).toBe('ERR_L2_BAD_INPUT');
});

test.each([
  ['empty string', ''],
  ['not a DID', 'hello'],
  ['other method', 'did:web:example.com'],
  ['bad base58', 'did:key:z0OIl'],
  ['number', 7],
  ['very long', `did:key:z${'1'.repeat(100_000)}`],
])('didToPublicKey rejects %s', (_label, did) => {
  expect(codeOf(() => didToPublicKey(did as string))).toBe('ERR_L2_BAD_INPUT');
});

test('handshake and frame cipher reject hostile options and bytes', () => {
  const me = Identity.generate();
  expect(codeOf(() => crypto.Handshake.initiator(me, 'x' as never))).toBe('ERR_L2_BAD_INPUT');
  expect(codeOf(() => crypto.Handshake.initiator(me, { expectedPeer: 5 } as never))).toBe('ERR_L2_BAD_INPUT');
  expect(codeOf(() => crypto.Handshake.initiator(me, { channelBinding: new Uint8Array(256) }))).toBe('ERR_L2_BAD_INPUT');
  expect(codeOf(() => crypto.Handshake.initiator(me, { bogus: 1 } as never))).toBe('ERR_L2_BAD_INPUT');
  const r = crypto.Handshake.responder(me);
  for (const junk of [undefined, 'x', new Uint8Array(0), new Uint8Array(5000), new Uint8Array(1252)]) {
    expect(codeOf(() => r.handle(junk as Uint8Array))).not.toBe('no error');
  }
});

test('after all of the above the process still runs sessions', () => {
  const { i, r } = completedHandshake();
  const [a, b] = [i.frameCipher(), r.frameCipher()];
  expect(b.open(a.seal(Buffer.from('still alive'))).data.toString()).toBe('still alive');
  expect(codeOf(() => a.seal(Buffer.alloc((1 << 24) + 1)))).toBe('ERR_L2_BAD_INPUT');
  expect(codeOf(() => b.open(Buffer.alloc(3)))).toBe('ERR_L2_BAD_INPUT');
  expect(codeOf(() => a.seal(Buffer.alloc(1), 1.5 as never))).toBe('ERR_L2_BAD_INPUT');
  expect(codeOf(() => a.sealPacked(Buffer.alloc(4), [4] as never))).toBe('ERR_L2_BAD_INPUT');
  expect(codeOf(() => i.frameCipher({ maxFrames: 0 }))).toBe('ERR_L2_BAD_INPUT');
  expect(codeOf(() => i.frameCipher())).toBe('ERR_L2_INVALID_STATE');
  expect(b.open(a.seal(Buffer.from('and again'))).data.toString()).toBe('and again');
});
