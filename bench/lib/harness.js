// Shared measuring machinery: interleaved rounds, medians and percentiles, self-checks and the
// progress display. Every section measures its contenders round by round in turn, so slow drift on a
// shared machine (steal, thermal, other tenants) hits all of them alike.
'use strict';

/** `L2_BENCH_TINY=1` shrinks every budget to a few milliseconds: the smoke test checks shape, not speed. */
const TINY = process.env.L2_BENCH_TINY === '1';

function median(xs) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const now = () => process.hrtime.bigint();
const secondsSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Counts every self-check that ran, so the JSON shows the timed work was verified. */
const checks = { passed: 0 };
function check(ok, what) {
  if (!ok) throw new Error(`benchmark self-check failed: ${what}`);
  checks.passed++;
}

/** Runs synchronous `op` (doing `unit` items per call) for about `ms`; returns items per second. */
function rateSync(op, unit, ms) {
  let calls = 0;
  const budget = BigInt(Math.round(ms * 1e6));
  const start = now();
  let elapsed = 0n;
  do {
    op();
    calls++;
    elapsed = now() - start;
  } while (elapsed < budget);
  return (calls * unit) / (Number(elapsed) / 1e9);
}

/**
 * Interleaves contenders: each round runs every contender once (`c.round()` returns one sample).
 * The starting contender rotates per round so none always runs first after a pause.
 */
async function interleave(contenders, rounds, progress) {
  const samples = contenders.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < contenders.length; k++) {
      const i = (r + k) % contenders.length;
      samples[i].push(await contenders[i].round());
      progress.tick();
    }
  }
  return samples;
}

/**
 * Progress on stderr: a redrawn bar on a terminal, plain lines otherwise (CI logs, the jest smoke
 * test). `total` is a count of steps declared up front by the sections.
 */
class Progress {
  constructor(stream = process.stderr) {
    this.stream = stream;
    this.tty = Boolean(stream.isTTY);
    this.total = 0;
    this.done = 0;
    this.label = '';
    this.started = Date.now();
    this.lastLine = 0;
  }
  add(steps) {
    this.total += steps;
  }
  phase(label) {
    this.label = label;
    if (!this.tty) this.stream.write(`[bench] ${label}\n`);
    this.draw();
  }
  tick(n = 1) {
    this.done += n;
    this.draw();
  }
  draw() {
    if (!this.tty) return;
    const width = 30;
    const frac = this.total ? Math.min(1, this.done / this.total) : 0;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const secs = ((Date.now() - this.started) / 1000).toFixed(0);
    const text = `${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${secs}s ${this.label}`;
    const cols = this.stream.columns || 100;
    this.stream.write(`\r${text.slice(0, cols - 1).padEnd(Math.min(cols - 1, this.lastLine))}`);
    this.lastLine = Math.min(cols - 1, text.length);
  }
  finish() {
    if (this.tty) this.stream.write('\n');
  }
}

module.exports = { TINY, median, percentile, now, secondsSince, checks, check, rateSync, interleave, Progress };
