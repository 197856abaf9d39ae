/** Delivered messages waiting for `receive()`, and the receivers waiting for messages. */
import { L2Error } from '../errors';
import { options as checkOptions, optionalInt } from '../validate';

/** Options of `receive()`. */
export interface ReceiveOptions {
  /** Milliseconds to wait before rejecting with `ERR_L2_TIMEOUT`. */
  timeout?: number;
  /** Rejects with `ERR_L2_ABORTED` when it fires. */
  signal?: AbortSignal;
}

interface Waiter {
  resolve(message: Buffer): void;
  reject(err: L2Error): void;
  /** When it times out (`performance.now()` ms), and its timeout; none without one. */
  readonly deadline?: number;
  readonly timeout?: number;
}

export class Inbox {
  readonly #messages: Buffer[] = [];
  readonly #waiters = new Set<Waiter>();
  /** Set at close: makes the error for each later receiver (only when there is one: an error costs its stack). */
  #closed: (() => L2Error) | null = null;
  #drainWaiters: { below: number; resolve(): void }[] = [];
  /**
   * One timer for every receive() timeout, at the earliest deadline or before: a receive answered in
   * time leaves it armed (a later deadline does not move it), so a request–response loop costs no
   * setTimeout and clearTimeout per message. It holds the process open only while a timed receive waits.
   */
  #timer: NodeJS.Timeout | null = null;
  #timerAt = 0;
  #timed = 0;

  /** Messages kept. */
  get size(): number {
    return this.#messages.length;
  }

  /** Resolves once fewer than `below` messages are kept (or the inbox closes). */
  drained(below: number): Promise<void> {
    if (this.#messages.length < below || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push({ below, resolve }));
  }

  #notifyDrained(): void {
    const ready = this.#drainWaiters.filter((w) => this.#messages.length < w.below || this.#closed);
    this.#drainWaiters = this.#drainWaiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** Hands `message` to the oldest waiting receiver, or keeps it. */
  push(message: Buffer): void {
    const waiter = this.#waiters.values().next().value;
    if (waiter) waiter.resolve(message);
    else this.#messages.push(message);
  }

  /** No more messages will come: waiting receivers get `reason()`; kept messages stay readable. */
  close(reason: () => L2Error): void {
    this.#closed = reason;
    for (const w of [...this.#waiters]) w.reject(reason());
    this.#notifyDrained();
  }

  /** The next message (see `ReceiveOptions`). */
  take(opts?: ReceiveOptions): Promise<Buffer> {
    const o = checkOptions<ReceiveOptions>('receive options', opts, ['timeout', 'signal']) ?? {};
    const timeout = optionalInt('timeout', o.timeout, 0, 2 ** 31 - 1);
    if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new L2Error('ERR_L2_BAD_INPUT', 'signal must be an AbortSignal');
    const next = this.#messages.shift();
    if (next) {
      if (this.#drainWaiters.length > 0) this.#notifyDrained();
      return Promise.resolve(next);
    }
    if (this.#closed) return Promise.reject(this.#closed());
    return new Promise<Buffer>((resolve, reject) => {
      const onAbort = () => settle(() => reject(new L2Error('ERR_L2_ABORTED', 'receive() aborted')));
      const settle = (done: () => void) => {
        o.signal?.removeEventListener('abort', onAbort);
        if (this.#waiters.delete(waiter) && timeout !== undefined && --this.#timed === 0) this.#timer?.unref();
        done();
      };
      const deadline = timeout === undefined ? undefined : performance.now() + timeout;
      const waiter: Waiter = { resolve: (m) => settle(() => resolve(m)), reject: (e) => settle(() => reject(e)), deadline, timeout };
      if (o.signal?.aborted) return onAbort();
      o.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      if (deadline !== undefined) {
        this.#timed++;
        this.#armTimeout(deadline);
      }
    });
  }

  #armTimeout(at: number): void {
    if (this.#timer && this.#timerAt <= at) {
      this.#timer.ref();
      return;
    }
    clearTimeout(this.#timer ?? undefined);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, Math.ceil(at - performance.now())));
  }

  // Rejects the receives whose deadline passed and re-arms for the earliest one left.
  #expire(): void {
    this.#timer = null;
    const now = performance.now();
    let next: number | undefined;
    for (const w of this.#waiters) {
      if (w.deadline === undefined) continue;
      if (w.deadline <= now) w.reject(new L2Error('ERR_L2_TIMEOUT', `no message within ${w.timeout} ms`));
      else if (next === undefined || w.deadline < next) next = w.deadline;
    }
    if (next !== undefined) this.#armTimeout(next);
  }
}
