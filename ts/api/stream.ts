/**
 * `session.stream()`: a Node `Duplex` over a session's messages, for `pipeline` and friends.
 *
 * It is a byte stream: message boundaries are not part of its contract. Writes are copied and sent
 * as messages of at most `MAX_MESSAGE_LEN` bytes (larger chunks are split, small buffered chunks
 * are joined); each received message is pushed as one chunk. An empty message marks the end of the
 * writer's stream, so `end()` is a half close and the session stays open until `session.close()`.
 */
import { Duplex } from 'node:stream';
import { L2Error, toL2Error } from '../errors';
import { bytes, options as checkOptions } from '../validate';

/** Options of `session.stream()`. */
export interface SessionStreamOptions {
  /** Destroys the stream with `ERR_L2_ABORTED` when it fires (the session stays open). */
  signal?: AbortSignal;
  /** Readable buffer target in bytes (Node's `readableHighWaterMark`; default 16 KiB). */
  readableHighWaterMark?: number;
  /** Writable buffer target in bytes (Node's `writableHighWaterMark`; default 16 KiB). */
  writableHighWaterMark?: number;
}

/** What the stream needs from its session (the session module imports this one). */
export interface StreamSession {
  send(data: Uint8Array): Promise<void>;
  receive(options?: { signal?: AbortSignal }): Promise<Buffer>;
  /** Resolves once the peer acknowledged every message sent so far. */
  acknowledged(): Promise<void>;
  readonly id: string;
}

const STREAM_OPTIONS = ['signal', 'readableHighWaterMark', 'writableHighWaterMark'] as const;

function highWaterMark(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 1 << 30) {
    throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be an integer in 1..${1 << 30}, got ${String(v)}`);
  }
  return v;
}

/** Checks `session.stream()` options; throws `ERR_L2_BAD_INPUT`. */
export function checkStreamOptions(opts: unknown): SessionStreamOptions {
  const o = checkOptions<SessionStreamOptions>('stream options', opts, STREAM_OPTIONS) ?? {};
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new L2Error('ERR_L2_BAD_INPUT', 'signal must be an AbortSignal');
  return {
    signal: o.signal,
    readableHighWaterMark: highWaterMark('readableHighWaterMark', o.readableHighWaterMark),
    writableHighWaterMark: highWaterMark('writableHighWaterMark', o.writableHighWaterMark),
  };
}

/**
 * A `Duplex` over a session (see the module comment). Backpressure both ways: a write completes when
 * the session takes the message (it waits while `queueLimit` messages are unacknowledged or the link
 * is behind); the readable side asks for the next message only while its buffer is below its high
 * water mark, so a slow reader leaves messages in the peer's window instead of in memory here.
 * `'finish'` means the peer acknowledged every byte written. Errors are `L2Error`s.
 */
export class SessionStream extends Duplex {
  readonly #session: StreamSession;
  readonly #maxMessage: number;
  /** Cancels the pending `receive()` when the stream is destroyed. */
  readonly #reads = new AbortController();
  readonly #signal?: AbortSignal;
  readonly #onAbort = () => this.destroy(new L2Error('ERR_L2_ABORTED', 'stream aborted'));
  #pulling = false;

  /** @internal Streams come from `session.stream()`. */
  constructor(session: StreamSession, maxMessage: number, opts: SessionStreamOptions) {
    super({ readableHighWaterMark: opts.readableHighWaterMark, writableHighWaterMark: opts.writableHighWaterMark });
    this.#session = session;
    this.#maxMessage = maxMessage;
    this.#signal = opts.signal;
    if (opts.signal?.aborted) process.nextTick(this.#onAbort);
    else opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Like `Writable.write`, but a chunk that is not a string or bytes throws `ERR_L2_BAD_INPUT`. */
  override write(chunk: unknown, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean {
    if (typeof chunk !== 'string') bytes('chunk', chunk);
    return super.write(chunk, encoding as BufferEncoding, cb);
  }

  /** @internal Node's stream hook. */
  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#send([chunk]).then(() => cb(), (err) => cb(toL2Error(err)));
  }

  /** @internal Node's stream hook. */
  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.#send(chunks.map((c) => c.chunk)).then(() => cb(), (err) => cb(toL2Error(err)));
  }

  // One copy (the session keeps each message until it is acknowledged, the writer may reuse its
  // buffers), then messages of at most maxMessage bytes; empty data sends nothing (empty is EOF).
  async #send(chunks: Buffer[]): Promise<void> {
    const data = Buffer.concat(chunks);
    for (let at = 0; at < data.length; at += this.#maxMessage) {
      await this.#session.send(data.subarray(at, at + this.#maxMessage));
    }
  }

  /** @internal Node's stream hook. */
  override _final(cb: (err?: Error | null) => void): void {
    this.#session.send(Buffer.alloc(0)).then(() => this.#session.acknowledged()).then(() => cb(), (err) => cb(toL2Error(err)));
  }

  /** @internal Node's stream hook. */
  override _read(): void {
    if (this.#pulling) return;
    this.#pulling = true;
    void this.#pull();
  }

  // Pulls messages until the readable buffer is full (push returns false), then waits for the next _read.
  async #pull(): Promise<void> {
    try {
      for (;;) {
        const message = await this.#session.receive({ signal: this.#reads.signal });
        if (message.length === 0) {
          this.push(null);
          return;
        }
        if (!this.push(message)) return;
      }
    } catch (err) {
      if (this.destroyed) return;
      const e = toL2Error(err);
      // Without the peer's end marker the stream was cut short: an error, as a reset socket is.
      // (A session closed on this side destroys its stream first, quietly.)
      this.destroy(e.code === 'ERR_L2_CLOSED' ? new L2Error('ERR_L2_CLOSED', `session ${this.#session.id} closed before the peer ended its stream`) : e);
    } finally {
      this.#pulling = false;
    }
  }

  /** @internal Node's stream hook. */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#reads.abort();
    cb(err);
  }
}
