/**
 * `session.stream()`: a Duplex over a real session on loopback. Bulk data both ways through
 * `pipeline` with a slow reader (buffers stay bounded), a reader that stops (the writer stops),
 * half close, errors. No assertion depends on speed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MAX_MESSAGE_LEN } from '../../ts';
import type { SessionStream } from '../../ts';
import { closeNodes, pair, rejection, until } from './helpers';

jest.setTimeout(180_000);
afterEach(closeNodes);

const MiB = 1024 * 1024;

/** `total` random bytes in chunks of varied sizes (small, 64 KiB, and larger than one message), with their hash. */
function source(total: number): { readable: Readable; digest: Promise<string> } {
  const hash = createHash('sha256');
  const sizes = [64 * 1024, 100, 3 * MAX_MESSAGE_LEN + 17, 1, 256 * 1024 - 3];
  let sent = 0;
  let k = 0;
  let done: (d: string) => void;
  const digest = new Promise<string>((r) => (done = r));
  const readable = new Readable({
    read() {
      if (sent === total) {
        done(hash.digest('hex'));
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(sizes[k++ % sizes.length], total - sent));
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { readable, digest };
}

/** A consumer that hashes what it gets and pauses every `every` chunks; `onChunk` samples the buffers. */
function slowSink(every: number, onChunk: () => void): { writable: Writable; digest: () => string; bytes: () => number } {
  const hash = createHash('sha256');
  let bytes = 0;
  let chunks = 0;
  const writable = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      onChunk();
      if (++chunks % every === 0) setTimeout(cb, 2);
      else setImmediate(cb);
    },
  });
  return { writable, digest: () => hash.digest('hex'), bytes: () => bytes };
}

/** Everything `stream` yields until its end, without destroying it (as `for await` would). */
function readToEnd(stream: SessionStream): Promise<string> {
  const parts: Buffer[] = [];
  stream.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(Buffer.concat(parts).toString()));
    stream.once('error', reject);
  });
}

/** Largest values seen of a stream's buffered bytes, each side. */
function watermarks(...streams: SessionStream[]): { sample(): void; max: { writable: number; readable: number } } {
  const max = { writable: 0, readable: 0 };
  return {
    max,
    sample() {
      for (const s of streams) {
        max.writable = Math.max(max.writable, s.writableLength);
        max.readable = Math.max(max.readable, s.readableLength);
      }
    },
  };
}

test.each(['quic', 'tcp'] as const)('32 MiB each way at once through pipeline with slow readers (%s): hashes match, buffers stay bounded', async (transport) => {
  const { a, b } = await pair({ config: { queueLimit: 64 } }, transport);
  const [sa, sb] = [a.stream(), b.stream()];
  const marks = watermarks(sa, sb);
  let maxPending = 0;
  const sample = () => {
    marks.sample();
    maxPending = Math.max(maxPending, a.pending, b.pending);
  };
  const total = 32 * MiB;
  const [toB, toA] = [source(total), source(total)];
  const [atB, atA] = [slowSink(8, sample), slowSink(8, sample)];
  await Promise.all([
    pipeline(toB.readable, sa),
    pipeline(sb, atB.writable),
    pipeline(toA.readable, sb),
    pipeline(sa, atA.writable),
  ]);
  expect([atB.bytes(), atA.bytes()]).toEqual([total, total]);
  expect(atB.digest()).toBe(await toB.digest);
  expect(atA.digest()).toBe(await toA.digest);
  // Write side: what waits in the stream is its high-water mark plus the chunk being written.
  expect(marks.max.writable).toBeLessThanOrEqual(sa.writableHighWaterMark + 3 * MAX_MESSAGE_LEN + 17);
  // Read side: the stream pulls one message past its high-water mark at most.
  expect(marks.max.readable).toBeLessThanOrEqual(sa.readableHighWaterMark + MAX_MESSAGE_LEN);
  expect(maxPending).toBeLessThanOrEqual(64);
  // Both ends finished (acknowledged) and ended; the session itself stays open for more.
  expect([a.state, b.state, a.pending, b.pending]).toEqual(['established', 'established', 0, 0]);
  await a.send(Buffer.from('still here'));
  expect(String(await b.receive({ timeout: 20_000 }))).toBe('still here');
});

test('a reader that stops reading stops the writer; reading again delivers everything in order', async () => {
  const queueLimit = 8;
  const { a, b } = await pair({ config: { queueLimit } }, 'tcp');
  const sa = a.stream();
  const sb = b.stream();
  const chunk = 256 * 1024;
  // A writer without backpressure would run into this cap instead of stalling.
  const cap = 128 * MiB;
  const hash = createHash('sha256');
  let written = 0;
  // Write while the stream accepts; nobody reads b's stream yet.
  const filling = (async () => {
    while (written < cap) {
      const data = randomBytes(chunk);
      hash.update(data);
      written += data.length;
      if (!sa.write(data)) await new Promise((r) => sa.once('drain', r));
    }
  })();
  // Wait until the writer stalls: the session holds its window of unacknowledged messages and
  // nothing more was written for 300 ms (or the cap was reached, which fails below).
  for (let last = -1; last !== written || a.pending < queueLimit; ) {
    last = written;
    await new Promise((r) => setTimeout(r, 300));
    if (written >= cap) break;
  }
  // Bounded by the two sessions' queues and the link's buffers, far below the cap, and it stays so.
  expect(written).toBeLessThan(32 * MiB);
  await new Promise((r) => setTimeout(r, 500));
  expect(written).toBeLessThan(32 * MiB);
  // Now read: the writer's pending write completes and everything arrives.
  const ending = filling.then(() => sa.end());
  const got = createHash('sha256');
  let received = 0;
  for await (const data of sb) {
    got.update(data as Buffer);
    received += (data as Buffer).length;
  }
  await ending;
  if (!sa.writableFinished) await new Promise((r) => sa.once('finish', r));
  expect(received).toBe(written);
  expect(got.digest('hex')).toBe(hash.digest('hex'));
});

test('end() is a half close: the peer reads to its end, can still answer, and the session stays open', async () => {
  const { a, b } = await pair();
  const [sa, sb] = [a.stream(), b.stream()];
  let finished = false;
  sa.on('finish', () => (finished = true));
  sa.end(Buffer.from('question'));
  expect(await readToEnd(sb)).toBe('question');
  await until(() => finished);
  expect(a.pending).toBe(0); // 'finish' waits for the peer's acknowledgement
  sb.end('answer'); // strings are encoded (utf8) like any Writable's
  expect(await readToEnd(sa)).toBe('answer');
  expect([a.state, b.state]).toEqual(['established', 'established']);
  // The ended stream is gone: a new one may be opened, and plain messages still flow.
  await until(() => sa.destroyed && sb.destroyed);
  const again = b.stream();
  await a.send(Buffer.from('plain'));
  expect(String(await new Promise<Buffer>((r) => again.once('data', r)))).toBe('plain');
  // Closing the session here ends the open stream without an error.
  const closed = new Promise((r) => again.once('close', r));
  again.once('error', (e) => expect(e).toBeUndefined());
  await b.close();
  await closed;
});

test('a session closed by the peer fails its stream with ERR_L2_CLOSED; closed here, its stream ends quietly', async () => {
  const { a, b } = await pair();
  const [sa, sb] = [a.stream(), b.stream()];
  sa.write(Buffer.from('before close'));
  expect(String(await new Promise<Buffer>((r) => sb.once('data', r)))).toBe('before close');
  const cutShort = new Promise<unknown>((r) => sa.once('error', r));
  sa.resume();
  let quietError: unknown = null;
  sb.on('error', (e) => (quietError = e));
  const quietClose = new Promise((r) => sb.once('close', r));
  await b.close();
  await quietClose;
  expect(quietError).toBeNull();
  // a's reader saw the session end without b's end marker: cut short.
  expect(await cutShort).toMatchObject({ name: 'L2Error', code: 'ERR_L2_CLOSED' });
  // A stream on the closed session: its writes fail the same way.
  const late = a.stream();
  const writeError = new Promise<unknown>((r) => late.once('error', r));
  late.write(Buffer.from('after close'));
  expect(await writeError).toMatchObject({ name: 'L2Error', code: 'ERR_L2_CLOSED' });
});

test('stream options and misuse give L2Error codes; a signal destroys the stream and the session keeps working', async () => {
  const { a, b } = await pair();
  expect(() => a.stream({ bogus: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_L2_BAD_INPUT' }));
  expect(() => a.stream({ signal: 'x' } as never)).toThrow(expect.objectContaining({ code: 'ERR_L2_BAD_INPUT' }));
  expect(() => a.stream({ readableHighWaterMark: -1 })).toThrow(expect.objectContaining({ code: 'ERR_L2_BAD_INPUT' }));
  const controller = new AbortController();
  const sa = a.stream({ signal: controller.signal });
  expect(() => a.stream()).toThrow(expect.objectContaining({ code: 'ERR_L2_INVALID_STATE' }));
  expect(() => sa.write(42 as never)).toThrow(expect.objectContaining({ code: 'ERR_L2_BAD_INPUT' }));
  sa.resume(); // a pending read is cancelled by the abort below
  const error = new Promise<unknown>((r) => sa.once('error', r));
  controller.abort();
  expect(await error).toMatchObject({ name: 'L2Error', code: 'ERR_L2_ABORTED' });
  // The aborted stream's pending receive() was withdrawn: the next message goes to the caller.
  await b.send(Buffer.from('after abort'));
  expect(String(await a.receive({ timeout: 20_000 }))).toBe('after abort');
  const again = a.stream({ signal: AbortSignal.abort() });
  expect(await rejection(new Promise((_, reject) => again.once('error', reject)))).toBe('ERR_L2_ABORTED');
});

test('an empty write sends nothing (an empty message is the end marker)', async () => {
  const { a, b } = await pair();
  const sa = a.stream();
  await new Promise<void>((r) => sa.write(Buffer.alloc(0), () => r()));
  sa.write(Buffer.from('x'));
  expect(String(await b.receive({ timeout: 20_000 }))).toBe('x');
});

