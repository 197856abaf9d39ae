/**
 * 10,000 establish/close cycles between two nodes (alternating QUIC and μTCP, four at a time) in
 * a child process (tools/dos/cycles.js, built package, --expose-gc), measured after forced
 * collections against a baseline taken after a warm-up:
 *
 * - native memory (RSS minus the V8 heap's reserved pages) within NATIVE_TOLERANCE_MIB, and the
 *   V8 heap in use within HEAP_TOLERANCE_MIB;
 * - exactly the baseline's file descriptors, node tasks, active handles and timers, and no
 *   session, pending handshake or QUIC connection left;
 * - after `node.close()` the child exits by itself (nothing keeps its event loop alive).
 *
 * RSS is measured under jemalloc with immediate page return, so it follows live memory: glibc's
 * malloc keeps freed memory in its arenas and its RSS only ever grows under this churn, which
 * would hide a leak as well as fake one. .ci/run installs libjemalloc2.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './helpers';

jest.setTimeout(600_000);

const CYCLES = 10_000;
/** Growth of RSS − V8 heapTotal allowed after 10,000 cycles (resumption tickets stay until expiry by design, at most 100,000). */
const NATIVE_TOLERANCE_MIB = 16;
const HEAP_TOLERANCE_MIB = 4;
/** How long the child may take to exit after closing its nodes (generous: a shared machine). */
const EXIT_WITHIN_MS = 15_000;

interface Measure {
  rssMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
  resources: Record<string, number>;
  sessions: number;
  quicConnections: number;
  pendingHandshakes: number;
  runningTasks: number;
  fds: number;
}

function jemalloc(): string {
  const found = /\s(\/\S*libjemalloc\.so\.2)$/m.exec(execFileSync('ldconfig', ['-p']).toString());
  if (!found) throw new Error('libjemalloc2 is needed to measure live memory through RSS (apt-get install libjemalloc2; .ci/run does)');
  return found[1];
}

test(`${CYCLES} establish/close cycles: memory, handles and tasks back to baseline; the process exits by itself after close()`, async () => {
  const child = spawn(process.execPath, ['--expose-gc', path.join(ROOT, 'tools', 'dos', 'cycles.js'), JSON.stringify({ cycles: CYCLES, warmup: 1000, concurrency: 4 })], {
    env: { ...process.env, LD_PRELOAD: jemalloc(), MALLOC_CONF: 'dirty_decay_ms:0,muzzy_decay_ms:0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let closedAt = 0;
  child.stderr.on('data', (d) => (err += d));
  child.stdout.on('data', (d) => {
    out += d;
    if (!closedAt && out.includes('closed\n')) closedAt = performance.now();
  });
  let killed = false;
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  // Only after close() is the child on a clock: it must go by itself well within EXIT_WITHIN_MS.
  const watchdog = setInterval(() => {
    if (closedAt && performance.now() - closedAt > EXIT_WITHIN_MS && child.exitCode === null) {
      killed = true;
      child.kill('SIGKILL');
    }
  }, 100);
  const code = await exited;
  clearInterval(watchdog);
  const exitAfterMs = performance.now() - closedAt;
  expect(err).toBe('');
  expect(killed).toBe(false);
  expect(code).toBe(0);

  const { baseline, after, elapsedMs } = JSON.parse(out.split('\n')[0]) as { baseline: Measure; after: Measure; elapsedMs: number };
  const native = (m: Measure) => m.rssMiB - m.heapTotalMiB;
  console.log(
    `DoS cycles: ${CYCLES} establish/close in ${(elapsedMs / 1000).toFixed(1)} s; RSS ${baseline.rssMiB.toFixed(1)} → ${after.rssMiB.toFixed(1)} MiB ` +
      `(native ${native(baseline).toFixed(1)} → ${native(after).toFixed(1)}, V8 heap used ${baseline.heapUsedMiB.toFixed(1)} → ${after.heapUsedMiB.toFixed(1)}); ` +
      `fds ${baseline.fds} → ${after.fds}; tasks ${baseline.runningTasks} → ${after.runningTasks}; exited ${exitAfterMs.toFixed(0)} ms after close()`,
  );
  expect(native(after) - native(baseline)).toBeLessThan(NATIVE_TOLERANCE_MIB);
  expect(after.heapUsedMiB - baseline.heapUsedMiB).toBeLessThan(HEAP_TOLERANCE_MIB);
  expect(after.fds).toBe(baseline.fds);
  expect(after.runningTasks).toBe(baseline.runningTasks);
  expect(after.resources).toEqual(baseline.resources);
  expect(after.sessions).toBe(0);
  expect(after.pendingHandshakes).toBe(0);
  expect(after.quicConnections).toBe(0);
});
