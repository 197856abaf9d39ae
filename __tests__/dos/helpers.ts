/**
 * Shared by the DoS tests: the attacker process (tools/dos/attacker.js), throughput of an
 * established session measured in a window, and polling with generous deadlines.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Session } from '../../ts';

export const ROOT = path.join(__dirname, '..', '..');
const ATTACKER = path.join(ROOT, 'tools', 'dos', 'attacker.js');

/** Attacker source addresses: 127.0.0.2 … 127.0.0.50 (all loopback; the victim sees 49 sources). */
export const SOURCES = Array.from({ length: 49 }, (_, i) => `127.0.0.${i + 2}`);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the attacker in its own process; resolves with the counts it prints. */
export function attack<T>(mode: 'flood' | 'halfopen', options: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ATTACKER, mode, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`attacker exited ${code}: ${err}`))));
  });
}

/** Waits until `check()` holds, polling; throws with `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Messages per second from `from` to `to` over a window of `ms`: the sender keeps sending 1 KiB
 * messages (held back only by the session's flow control) and the receiver counts arrivals.
 */
export async function throughput(from: Session, to: Session, ms: number): Promise<number> {
  let received = 0;
  const onMessage = () => received++;
  to.on('message', onMessage);
  let sending = true;
  const payload = Buffer.alloc(1024, 7);
  const sender = (async () => {
    while (sending) await from.send(payload);
  })();
  await sleep(200); // past the start-up of the send loop
  const start = received;
  const t0 = performance.now();
  await sleep(ms);
  const count = received - start;
  const elapsed = performance.now() - t0;
  sending = false;
  await sender;
  await from.acknowledged();
  to.off('message', onMessage);
  return (count * 1000) / elapsed;
}

/** Resident set size of this process, MiB. */
export function rssMiB(): number {
  return process.memoryUsage().rss / (1 << 20);
}
