/**
 * μTCP links do their I/O on the JS thread (native/utcp_poll.rs): a send the kernel takes at once,
 * and a receive of what already arrived, settle without a trip through the event loop; waiting
 * ones settle from the poll callback with their continuations run straight away; backpressure,
 * order and aborts behave as on the async path.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Identity } from '../../ts';
import { L2Error } from '../../ts/errors';
import { Link } from '../../ts/transport';
import { useNodePair } from './pair';

const root = path.join(__dirname, '..', '..');
const pair = useNodePair();
const connect = (): Promise<[Link, Link]> => pair.connect('tcp');

/**
 * True when `p` settles while only microtasks run. A promise settled from another thread (napi's
 * threadsafe functions) needs the event loop to turn, which awaiting microtasks never lets happen.
 */
async function settlesInMicrotasks(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  p.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 50 && !settled; i++) await null;
  return settled;
}

/** Lets the event loop turn (poll callbacks run). */
const turn = () => new Promise((r) => setImmediate(r));

test('a send the socket takes, and a receive of what arrived, settle without the event loop', async () => {
  const [x, y] = await connect();
  expect(await settlesInMicrotasks(x.send([Buffer.from('one'), Buffer.from('two')]))).toBe(true);
  // The first receive may wait for the bytes; the second finds the rest already buffered.
  expect((await y.recv(1)).map(String)).toEqual(['one']);
  const second = y.recv(1);
  expect(await settlesInMicrotasks(second)).toBe(true);
  expect((await second).map(String)).toEqual(['two']);
  expect(x.stats()).toMatchObject({ messagesSent: 2, bytesSent: 6 });
  expect(y.stats()).toMatchObject({ messagesReceived: 2, bytesReceived: 6 });
  x.abort();
  y.abort();
});

test('10 000 messages sent without waiting arrive complete and in order', async () => {
  const [x, y] = await connect();
  const count = 10_000;
  const sends: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const m = Buffer.alloc(100 + (i % 200), i & 0xff);
    m.writeUInt32BE(i, 0);
    sends.push(x.send([m]));
  }
  let next = 0;
  while (next < count) {
    for (const m of await y.recv()) {
      expect(m.readUInt32BE(0)).toBe(next);
      expect(m.length).toBe(100 + (next % 200));
      next++;
    }
  }
  await Promise.all(sends);
  x.abort();
  y.abort();
});

test('a peer that does not read holds sends back; reading releases them; abort rejects what waits', async () => {
  const [x, y] = await connect();
  const big = Buffer.alloc(256 * 1024, 7);
  let accepted = 0;
  let pending: Promise<void> | undefined;
  // Send until one send waits for the socket: the kernel buffers bound what is accepted.
  while (!pending) {
    const p = x.send([big]);
    accepted += big.length;
    if (!(await settlesInMicrotasks(p))) pending = p;
    expect(accepted).toBeLessThan(256 * 1024 * 1024);
  }
  // Still held back after the loop turns: nothing reads.
  for (let i = 0; i < 5; i++) await turn();
  expect(await settlesInMicrotasks(pending)).toBe(false);
  // Reading drains the sender's queue.
  let got = 0;
  while (got < accepted) for (const m of await y.recv()) got += m.length;
  await pending;
  expect(got).toBe(accepted);

  // Fill again, then abort with a send and a receive waiting.
  let stuck: Promise<void> | undefined;
  while (!stuck) {
    const p = x.send([big]);
    if (!(await settlesInMicrotasks(p))) stuck = p;
  }
  const waitingRecv = x.recv();
  x.abort();
  await expect(stuck).rejects.toMatchObject({ code: 'ERR_L2_CLOSED' });
  await expect(waitingRecv).rejects.toBeInstanceOf(L2Error);
  await expect(waitingRecv).rejects.toMatchObject({ code: 'ERR_L2_CLOSED' });
  y.abort();
});

test('a graceful close ends the waiting receive of the peer with an empty batch, then completes', async () => {
  const [x, y] = await connect();
  const waiting = y.recv();
  await turn();
  // close() completes once x has read y's end too, so x keeps a receive running, as sessions do.
  const xEnd = x.recv();
  const closing = x.close();
  expect(await waiting).toEqual([]);
  await y.close();
  expect(await xEnd).toEqual([]);
  await closing;
});

test('a receive settled by the poll callback runs its continuation before the next immediate', async () => {
  const [x, y] = await connect();
  const order = await new Promise<string[]>((done) => {
    // From a check-phase callback, the next loop iteration polls (y becomes readable: the loopback
    // send below delivers before it returns) before it runs the next check phase (the immediate).
    // Settled inside a callback scope, the continuation runs in the poll phase; without one it would
    // wait for the next callback that drains microtasks: the immediate.
    setImmediate(() => {
      const seen: string[] = [];
      y.recv().then(() => seen.push('recv continuation'));
      void x.send([Buffer.from('now')]);
      setImmediate(() => {
        seen.push('next immediate');
        setImmediate(() => done(seen));
      });
    });
  });
  expect(order).toEqual(['recv continuation', 'next immediate']);
  x.abort();
  y.abort();
});

/** Script lines for a child process or worker: nodes `a`, `b` and a μTCP link `x` (dialled) ↔ `y`, inside an async IIFE left open. */
const openPair = `
    const { Identity } = require(${JSON.stringify(path.join(root, 'dist'))});
    const { TransportNode } = require(${JSON.stringify(path.join(root, 'dist', 'transport.js'))});
    (async () => {
      const a = await TransportNode.listen(Identity.generate());
      const b = await TransportNode.listen(Identity.generate());
      const accepted = b.accept();
      const x = await a.dial({ tcp: b.addresses.tcp, transport: 'tcp' });
      const y = await accepted;`;

test('a μTCP ping-pong in one process, then close: the process exits on its own', () => {
  const script = `
${openPair}
      const echo = (async () => { for (;;) { const m = await y.recv(); if (m.length === 0) return y.close(); await y.send(m); } })();
      for (let i = 0; i < 200; i++) {
        await x.send([Buffer.from(String(i))]);
        const back = await x.recv();
        if (String(back[0]) !== String(i)) throw new Error('bad echo');
      }
      const xEnd = x.recv();
      await Promise.all([x.close(), echo, xEnd]);
      await Promise.all([a.close(), b.close()]);
      console.log('done');
    })();`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  expect(out.trim()).toBe('done');
});

test('worker threads that end with μTCP sends and receives waiting exit cleanly', () => {
  // Each worker leaves a receive and full-socket sends waiting, then is terminated or exits: the
  // env teardown must close the poll handles (a handle left on a closing loop aborts the process).
  const worker = `
    const { parentPort, workerData } = require('node:worker_threads');
${openPair}
      x.recv().catch(() => {});
      for (let i = 0; i < 8; i++) y.send([Buffer.alloc(1 << 20)]).catch(() => {});
      if (workerData === 'exit') process.exit(0);
      parentPort.postMessage('waiting');
    })();`;
  const script = `
    const { Worker } = require('node:worker_threads');
    (async () => {
      for (let i = 0; i < 3; i++) {
        const w = new Worker(${JSON.stringify(worker)}, { eval: true });
        await new Promise((r) => w.once('message', r));
        await w.terminate();
      }
      const w = new Worker(${JSON.stringify(worker)}, { eval: true, workerData: 'exit' });
      console.log('exit code', await new Promise((r) => w.once('exit', r)));
    })();`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(out.trim()).toBe('exit code 0');
});
