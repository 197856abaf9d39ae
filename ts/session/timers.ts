/**
 * Named session timers over one map of deadlines (the quinn `TimerTable` idea): the next deadline is
 * their minimum, and a timeout fires exactly the expired ones.
 */

/** Every timer a session runs. */
export type TimerName =
  | 'handshake' // a handshake, resumption or rotation must finish by then
  | 'heartbeat' // quiet until then: send a heartbeat
  | 'heartbeatAnswer' // the outstanding heartbeat must be answered by then
  | 'ack' // the oldest unacknowledged data frame is resent then
  | 'linkLoss' // the transport reported the link down; degrade if it is still down then
  | 'rotation' // keys are due for rotation
  | 'degraded' // degraded for too long: suspend
  | 'retry'; // next attempt after a failure or suspension

/** Timer names in firing priority: when several expire at once, earlier names fire first. */
export const TIMER_NAMES: readonly TimerName[] = [
  'handshake',
  'heartbeatAnswer',
  'ack',
  'heartbeat',
  'linkLoss',
  'rotation',
  'degraded',
  'retry',
];

/** A deadline per timer name; unset timers are absent. */
export class Timers {
  private readonly deadlines = new Map<TimerName, number>();

  /** Arms (or re-arms) `name` for time `at`. */
  set(name: TimerName, at: number): void {
    this.deadlines.set(name, at);
  }

  /** Disarms `name`. */
  cancel(name: TimerName): void {
    this.deadlines.delete(name);
  }

  /** Disarms every timer. */
  clear(): void {
    this.deadlines.clear();
  }

  /** The deadline of `name`, or `undefined` when it is not armed. */
  get(name: TimerName): number | undefined {
    return this.deadlines.get(name);
  }

  /** The earliest armed deadline, or `null` when nothing is armed. */
  next(): number | null {
    let min: number | null = null;
    for (const at of this.deadlines.values()) if (min === null || at < min) min = at;
    return min;
  }

  /**
   * Disarms and returns the highest-priority timer whose deadline is `<= now`. Callers fire one at a
   * time so a handler that cancels another timer (e.g. on leaving a state) keeps it from firing.
   */
  takeExpired(now: number): TimerName | undefined {
    const name = TIMER_NAMES.find((n) => {
      const at = this.deadlines.get(n);
      return at !== undefined && at <= now;
    });
    if (name !== undefined) this.deadlines.delete(name);
    return name;
  }
}
