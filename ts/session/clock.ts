import { callback, finite, time } from '../validate';

/**
 * Time for the session layer. The state machine never reads a clock: its driver does, through this
 * interface, so tests swap in `FakeClock` and jump straight to the next deadline.
 */

/** Cancels a scheduled callback; calling it after the callback ran is harmless. */
export type Cancel = () => void;

/** Milliseconds and one-shot callbacks. */
export interface Clock {
  /** Current time in milliseconds; never goes backwards. */
  now(): number;
  /**
   * Runs `callback` once, at `at` or later. A deadline beyond setTimeout's range may fire early, so
   * callers re-check `now()` (the driver does: an early wake-up finds nothing expired and re-arms).
   */
  schedule(at: number, callback: () => void): Cancel;
}

// Read once: some test harnesses swap `performance` for a fake without `timeOrigin`.
const TIME_ORIGIN = performance.timeOrigin;
// setTimeout's largest delay (2^31 - 1 ms, about 24.8 days).
const MAX_TIMER_DELAY = 2_147_483_647;
// Longest a timer is held back to fire with its neighbours.
const MAX_SLACK = 256;

/**
 * When a timer due at `at` (scheduled at `now`) fires: `at` rounded up to a grid of the largest power
 * of two ms within 1/32 of its delay (at most 256 ms). Timers due close together then fire in one
 * turn of the event loop — thousands of sessions' heartbeats leave and are answered in batches, so
 * the transport wakes the loop once per batch rather than once per session — and no timer fires
 * early or more than ~3% late.
 */
export function coalescedDeadline(at: number, now: number): number {
  const slack = Math.min(MAX_SLACK, (at - now) / 32);
  if (!(slack >= 1)) return at;
  const grid = 2 ** Math.floor(Math.log2(slack));
  return Math.ceil(at / grid) * grid;
}

/**
 * The real clock: wall time that is monotonic within the process (`timeOrigin + performance.now()`),
 * so audit times read as dates while deadlines never jump with NTP. Timers are unref'd: a session must
 * not hold the process open after its owner is done with it, and coalesced (`coalescedDeadline`).
 */
export const systemClock: Clock = Object.freeze({
  now: () => TIME_ORIGIN + performance.now(),
  schedule(at: number, run: () => void) {
    const now = systemClock.now();
    // Whole milliseconds, rounded up: never early, and timers share Node's per-duration timer lists.
    // Node fires longer delays at once; a clamped timer fires early instead, and the driver just re-arms it.
    const delay = Math.min(MAX_TIMER_DELAY, Math.max(0, Math.ceil(coalescedDeadline(finite('at', at), now) - now)));
    const handle = setTimeout(callback('callback', run), delay);
    handle.unref();
    return () => clearTimeout(handle);
  },
});

interface Pending {
  readonly at: number;
  readonly order: number;
  readonly callback: () => void;
}

/** Virtual time for tests: nothing happens until `advance`/`advanceTo`, which run due callbacks in time order. */
export class FakeClock implements Clock {
  private time: number;
  private pending: Pending[] = [];
  private counter = 0;

  /** Starts at `start` ms (default 0). */
  constructor(start = 0) {
    this.time = finite('start', start);
  }

  /** The virtual time. */
  now(): number {
    return this.time;
  }

  /** Queues `callback` for virtual time `at`; callbacks due at the same time run in scheduling order. */
  schedule(at: number, run: () => void): Cancel {
    const entry: Pending = { at: finite('at', at), order: this.counter++, callback: callback('callback', run) as () => void };
    this.pending.push(entry);
    return () => {
      this.pending = this.pending.filter((p) => p !== entry);
    };
  }

  /** Moves time forward by `ms`, running every callback that falls due on the way. */
  advance(ms: number): void {
    this.advanceTo(this.time + time('ms', ms));
  }

  /** Moves time to `target` (never backwards), running due callbacks at their own times. */
  advanceTo(target: number): void {
    finite('target', target);
    for (let next = this.takeDue(target); next; next = this.takeDue(target)) {
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = Math.max(this.time, target);
  }

  /** Time of the earliest pending callback, or `null`. */
  nextAt(): number | null {
    return this.pending.reduce<number | null>((min, p) => (min === null || p.at < min ? p.at : min), null);
  }

  // The earliest due callback, removed from the queue; ties go to the one scheduled first.
  private takeDue(target: number): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending) {
      if (p.at <= target && (!best || p.at < best.at || (p.at === best.at && p.order < best.order))) best = p;
    }
    if (best) this.pending = this.pending.filter((p) => p !== best);
    return best;
  }
}
