/**
 * A channel: one transport link plus the frame cipher of the session riding on it. Outgoing
 * frames are queued as plaintext and sealed in one batch per flush (one N-API call per frame type
 * run, one link send per flush); inbound messages are opened a whole batch at a time.
 */
import { L2Error } from '../errors';
import { FrameCipher, FrameStatus, FrameType, Handshake } from '../handshake';
import { Link } from '../transport';

/** A frame waiting to be sealed: its type and a writer of its payload. */
interface Pending {
  readonly type: FrameType;
  readonly length: number;
  write(out: Buffer, at: number): void;
}

/** One opened frame handed to the session. */
export interface InboundFrame {
  readonly type: number;
  readonly payload: Buffer;
}

/** Largest batch of sealed frames sent as one transport message (the transport's default limit is 1 MiB). */
const MAX_SEND = 512 * 1024;
/** Bytes queued or in flight above which `send()` waits for the link (backpressure). */
export const SEND_HIGH_WATER = 1024 * 1024;

export class Channel {
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /** Sealed frames waiting to be sent, in segments: a segment never shares a transport message with the next. */
  private sealed: Buffer[][] = [[]];
  private inFlight = 0;
  /** Link sends issued and not yet settled: with none, the next one starts at once instead of after a promise turn. */
  private sends = 0;
  private sending: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private closed = false;

  constructor(
    readonly link: Link,
    private readonly cipher: FrameCipher,
  ) {}

  /** True once the current keys sealed `rekeyAfter` frames (SPEC.md §4.3). */
  get rekeyDue(): boolean {
    return this.cipher.rekeyDue;
  }

  /** Bytes queued or handed to the link and not yet taken by it. */
  get backlog(): number {
    return this.pendingBytes + this.inFlight;
  }

  /** Queues a frame; it is sealed and sent with the next flush (after the current burst of calls). */
  enqueue(type: FrameType, length: number, write: (out: Buffer, at: number) => void): void {
    this.pending.push({ type, length, write });
    this.pendingBytes += length;
    this.scheduleFlush();
  }

  /** Seals what is queued under the current keys (before a key change, so nothing is sealed under the wrong epoch). */
  sealPending(): void {
    const queue = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    // One sealPacked call per run of one frame type, each run at most MAX_SEND bytes of payload.
    for (let start = 0; start < queue.length; ) {
      let end = start;
      let bytes = 0;
      while (end < queue.length && queue[end].type === queue[start].type && (end === start || bytes + queue[end].length <= MAX_SEND)) {
        bytes += queue[end++].length;
      }
      const data = Buffer.allocUnsafe(bytes);
      const lengths = new Uint32Array(end - start);
      let at = 0;
      for (let k = start; k < end; k++) {
        queue[k].write(data, at);
        lengths[k - start] = queue[k].length;
        at += queue[k].length;
      }
      this.sealed[this.sealed.length - 1].push(this.cipher.sealPacked(data, lengths, queue[start].type));
      start = end;
    }
  }

  /**
   * Moves a completed rotation handshake's keys in as the next epoch, after sealing what was queued
   * under the old one. Frames of the previous epoch still open for `graceMs` (SPEC.md §4.4).
   */
  install(handshake: Handshake, graceMs: number): number {
    this.sealPending();
    // The peer opens a whole transport message before it acts on any frame in it: frames under the new
    // keys must not share a message with the rotation message that makes it install them.
    this.sealed.push([]);
    this.scheduleFlush();
    const epoch = handshake.installInto(this.cipher);
    const timer = setTimeout(() => {
      if (this.cipher.epoch === epoch) this.cipher.retirePreviousEpoch();
    }, graceMs);
    timer.unref();
    return epoch;
  }

  /**
   * Sends `head` (raw transport messages: the handshake's last one) and the frames queued so far in
   * one link send, so they cost one trip through the transport and the peer can read them together.
   * Unlike `flush`, a failed send rejects: the link carries no session yet, so the caller's handshake fails.
   */
  sendFirst(head: Buffer[]): Promise<void> {
    this.sealPending();
    const sent = this.link.send([...head, ...this.takeSealed()]);
    this.sends++;
    const settled = () => void this.sends--;
    this.sending = sent.then(settled, settled);
    return sent;
  }

  // A macrotask, so a burst of sends (a loop of `await send()`) leaves as one batch.
  private scheduleFlush(): void {
    if (this.flushQueued || this.closed) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      void this.flush();
    });
  }

  /**
   * Seals and sends everything queued; sends run one after another, so order holds. Never rejects: a
   * failed send aborts the link, the read loop sees it end, and the session resends what is unacknowledged.
   */
  flush(): Promise<void> {
    if (this.closed) return this.sending;
    try {
      this.sealPending();
    } catch {
      // Sealing only fails at a key's hard limit; the link is dropped and the session re-keys on a new one.
      this.abort();
      return this.sending;
    }
    if (this.sealed.every((segment) => segment.length === 0)) return this.sending;
    const batches = this.takeSealed();
    const bytes = batches.reduce((n, b) => n + b.length, 0);
    this.inFlight += bytes;
    // One send at a time, in order: with none under way this one starts now, else after the last.
    const sent = this.sends === 0 ? this.link.send(batches) : this.sending.then(() => this.link.send(batches));
    this.sends++;
    this.sending = sent.then(
      () => {
        this.sends--;
        this.inFlight -= bytes;
      },
      () => {
        this.sends--;
        this.inFlight -= bytes;
        this.link.abort();
      },
    );
    return this.sending;
  }

  // Groups sealed frames into messages of at most MAX_SEND bytes, never across a segment boundary.
  // A group of one sealed batch (the bulk case) goes out as it is: no copy.
  private takeSealed(): Buffer[] {
    const out: Buffer[] = [];
    const join = (group: Buffer[], size: number) => out.push(group.length === 1 ? group[0] : Buffer.concat(group, size));
    for (const segment of this.sealed) {
      let group: Buffer[] = [];
      let size = 0;
      for (const b of segment) {
        if (size > 0 && size + b.length > MAX_SEND) {
          join(group, size);
          group = [];
          size = 0;
        }
        group.push(b);
        size += b.length;
      }
      if (size > 0) join(group, size);
    }
    this.sealed = [[]];
    return out;
  }

  /**
   * Reads until the link ends: opens each message as a batch of frames and hands every frame that
   * opened to `onFrames` (one call per transport message). Resolves when the link ends for any reason.
   */
  async readLoop(
    frames: InboundFrame[],
    first: Buffer[],
    onFrames: (frames: InboundFrame[]) => void,
    onRejected: (statuses: FrameStatus[]) => void,
    room: () => Promise<void> | undefined,
  ): Promise<void> {
    // Start after the caller's current step (say, the session taking its handshake result).
    await Promise.resolve();
    if (frames.length > 0) onFrames(frames);
    let backlog = first;
    for (;;) {
      for (const message of backlog) {
        if (this.closed) return;
        const { opened, rejected } = this.open(message);
        if (rejected.length > 0) onRejected(rejected);
        onFrames(opened);
      }
      // Read side backpressure: while the application is behind, stop reading, so the transport's
      // flow control holds the peer back instead of this process buffering without bound.
      const wait = room();
      if (wait) await wait;
      if (this.closed) return;
      try {
        backlog = await this.link.recv();
      } catch {
        return;
      }
      if (backlog.length === 0) return;
    }
  }

  /** Opens one transport message (a batch of frames); a malformed one aborts the link. `rejected`: the status of each frame that failed. */
  open(message: Buffer): { opened: InboundFrame[]; rejected: FrameStatus[] } {
    const batch = this.cipher.openBatch(message);
    if (batch.error || batch.consumed !== message.length) {
      // A transport message always holds whole frames; anything else means a broken or hostile peer.
      this.abort();
      return { opened: [], rejected: [] };
    }
    const opened: InboundFrame[] = [];
    const rejected: FrameStatus[] = [];
    let start = 0;
    for (let k = 0; k < batch.ends.length; k++) {
      const end = batch.ends[k];
      if (batch.status[k] === FrameStatus.Ok) opened.push({ type: batch.types[k], payload: batch.data.subarray(start, end) });
      else rejected.push(batch.status[k] as FrameStatus);
      start = end;
    }
    return { opened, rejected };
  }

  /** Sends what is queued, then closes the link gracefully. */
  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.closed = true;
    await this.link.close().catch(() => undefined);
  }

  /** Drops the link at once. */
  abort(): void {
    this.closed = true;
    this.link.abort();
  }

  /** True once closed or aborted here. */
  get isClosed(): boolean {
    return this.closed;
  }
}

/** Waits for the next transport message, at most `timeoutMs`. Extra messages that came with it are returned too. */
export async function nextMessages(link: Link, timeoutMs: number): Promise<Buffer[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new L2Error('ERR_L2_TIMEOUT', `no handshake message within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const batch = await Promise.race([link.recv(), timeout]);
    if (batch.length === 0) throw new L2Error('ERR_L2_TRANSPORT', 'the link closed during the handshake');
    return batch;
  } finally {
    clearTimeout(timer);
  }
}
