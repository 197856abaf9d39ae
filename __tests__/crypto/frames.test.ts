/** The frame cipher (SPEC.md §4): replay window, reordering, forgeries, epochs, limits, batches. */
import { FrameStatus, FrameType } from '../../ts';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { native } from '../../ts/native';
import { cipherPair as pair, codeOf as code, completedHandshake } from './helpers';

const msg = (n: number) => Buffer.from(`message ${n}`);

test('replay: a frame opens once', () => {
  const [a, b] = pair();
  const f = a.seal(msg(0));
  expect(b.open(f).data.toString()).toBe('message 0');
  expect(code(() => b.open(f))).toBe('ERR_L2_REPLAY');
});

test('reorder within the window is accepted once; beyond it is rejected', () => {
  const [a, b] = pair();
  const frames = Array.from({ length: 3000 }, (_, n) => a.seal(msg(n)));
  b.open(frames[2999]);
  for (let n = 2998; n >= 2999 - 2047; n--) expect(b.open(frames[n]).counter).toBe(n);
  expect(code(() => b.open(frames[2999 - 2048]))).toBe('ERR_L2_REPLAY');
  expect(code(() => b.open(frames[2000]))).toBe('ERR_L2_REPLAY');
});

test('duplicates inside a batch are flagged, the rest delivered', () => {
  const [a, b] = pair();
  const frames = [a.seal(msg(0)), a.seal(msg(1))];
  const batch = b.openBatch(Buffer.concat([frames[0], frames[1], frames[0], frames[1]]));
  expect(Array.from(batch.status)).toEqual([0, 0, FrameStatus.Replay, FrameStatus.Replay]);
  expect(batch.messages().map(String)).toEqual(['message 0', 'message 1']);
});

test('forged tags, bodies and headers are rejected and do not burn the counter', () => {
  const [a, b] = pair();
  const f = a.seal(msg(7));
  for (let byte = 0; byte < f.length; byte++) {
    const bad = Buffer.from(f);
    bad[byte] ^= 0x80;
    // Header flips fail parsing (version, type, length), push the counter past the hard limit,
    // or fail the tag; none is accepted.
    expect(['ERR_L2_AUTH_FAILED', 'ERR_L2_BAD_INPUT', 'ERR_L2_UNSUPPORTED', 'ERR_L2_LIMIT']).toContain(code(() => b.open(bad)));
  }
  expect(b.open(f).data.toString()).toBe('message 7');
});

test('frame type is authenticated', () => {
  const [a, b] = pair();
  const f = a.seal(msg(1), FrameType.Data);
  f[1] = FrameType.Heartbeat;
  expect(code(() => b.open(f))).toBe('ERR_L2_AUTH_FAILED');
  expect(b.open(a.seal(Buffer.alloc(0), FrameType.Heartbeat)).frameType).toBe(FrameType.Heartbeat);
});

test('epoch switch keeps in-flight frames until the previous epoch is retired', () => {
  const [a, b] = pair();
  const inFlight = [a.seal(msg(1)), a.seal(msg(2))];
  const { i, r } = completedHandshake();
  i.installInto(a);
  r.installInto(b);
  expect(b.open(a.seal(msg(3))).epoch).toBe(1);
  expect(b.hasPreviousEpoch).toBe(true);
  expect(b.open(inFlight[1]).data.toString()).toBe('message 2');
  b.retirePreviousEpoch();
  expect(code(() => b.open(inFlight[0]))).toBe('ERR_L2_BAD_INPUT');
});

test('the counter limit is hard: sealing stops, rekey is due, new keys resume', () => {
  const [a, b] = pair({ rekeyAfter: 2, maxFrames: 3 });
  for (let n = 0; n < 3; n++) b.open(a.seal(msg(n)));
  expect(a.rekeyDue).toBe(true);
  expect(a.sendCounter).toBe(3);
  expect(code(() => a.seal(msg(3)))).toBe('ERR_L2_LIMIT');
  const { i, r } = completedHandshake();
  i.installInto(a);
  r.installInto(b);
  expect(b.open(a.seal(msg(4))).counter).toBe(0);
});

test('batch seal (array and packed) and batch open round-trip thousands of frames', () => {
  const [a, b] = pair();
  const messages = Array.from({ length: 5000 }, (_, n) => msg(n));
  const wire = Buffer.concat([a.sealBatch(messages.slice(0, 2500)), a.sealPacked(Buffer.concat(messages.slice(2500)), Uint32Array.from(messages.slice(2500), (m) => m.length))]);
  const opened = b.openBatch(wire);
  expect(opened.consumed).toBe(wire.length);
  expect(opened.error).toBeUndefined();
  expect(opened.messages().map(String)).toEqual(messages.map(String));
});

test('batch open keeps a trailing partial frame and stops at a malformed header', () => {
  const [a, b] = pair();
  const wire = Buffer.concat([a.seal(msg(1)), a.seal(msg(2))]);
  const partial = b.openBatch(wire.subarray(0, wire.length - 5));
  expect(partial.messages().map(String)).toEqual(['message 1']);
  expect(b.openBatch(wire.subarray(partial.consumed)).messages().map(String)).toEqual(['message 2']);
  const junk = Buffer.concat([a.seal(msg(3)), Buffer.alloc(16, 0xff)]);
  const stopped = b.openBatch(junk);
  expect(stopped.messages().map(String)).toEqual(['message 3']);
  expect(stopped.error?.code).toBe('ERR_L2_UNSUPPORTED');
});

test('batch open hands JS no stale heap memory: the buffer past the plaintexts is zeros', () => {
  const [a, b] = pair();
  const first = a.seal(msg(0));
  // A replay and a partial frame: bytes the cipher never writes plaintext into.
  const wire = Buffer.concat([first, a.sealPacked(Buffer.alloc(640, 1), new Uint32Array(10).fill(64)), first, first.subarray(0, 20)]);
  for (let round = 0; round < 50; round++) {
    Buffer.allocUnsafe(wire.length).fill(0xaa); // leave non-zero garbage on the heap to be reused
    const opened = b.openBatch(wire);
    const whole = new Uint8Array(opened.data.buffer, opened.data.byteOffset, wire.length);
    expect(whole.subarray(opened.data.length).every((x) => x === 0)).toBe(true);
  }
});

test('bad batch arguments are typed errors', () => {
  const [a] = pair();
  expect(code(() => a.sealPacked(Buffer.alloc(10), Uint32Array.of(4, 4)))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => a.seal(msg(1), 9 as FrameType))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => a.sealBatch([msg(1), 'x' as unknown as Buffer]))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => pair({ maxFrames: -1 }))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => pair({ rekeyAfter: 1.5 }))).toBe('ERR_L2_BAD_INPUT');
});

describe('large frames through the host OpenSSL (SPEC.md §4.1)', () => {
  // Node exports its OpenSSL 3 to addons; it is picked for its AVX-512 code only.
  const flags = (() => {
    try {
      return readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return '';
    }
  })();
  const avx512 = ['avx512f', 'avx512vl', 'avx512ifma'].every((f) => new RegExp(`\\b${f}\\b`).test(flags));
  const from = 2560;

  test('frames from 2560 bytes go through OpenSSL on AVX-512 CPUs, smaller ones through AWS-LC', () => {
    expect(native.frameAeadProvider(from - 1)).toBe('aws-lc');
    expect(native.frameAeadProvider(from)).toBe(avx512 ? 'openssl' : 'aws-lc');
    expect(native.frameAeadProvider(64 << 10)).toBe(avx512 ? 'openssl' : 'aws-lc');
  });

  test('frames around the crossover round-trip singly and in batches; forgeries are refused', () => {
    const [a, b] = pair();
    const sizes = [from - 1, from, from + 1, 16 << 10, (64 << 10) + 3];
    const messages = sizes.map((n) => randomBytes(n));
    for (const m of messages) {
      const f = a.seal(m);
      const forged = Buffer.from(f);
      forged[f.length - 1] ^= 1;
      expect(code(() => b.open(forged))).toBe('ERR_L2_AUTH_FAILED');
      expect(b.open(f).data.equals(m)).toBe(true);
    }
    const batch = b.openBatch(a.sealBatch(messages));
    expect(Array.from(batch.status)).toEqual(sizes.map(() => FrameStatus.Ok));
    expect(batch.messages()).toEqual(messages);
  });
});
