/**
 * Exactly-once, in-order delivery across outages, transport switches and rotations. Every data frame
 * gets a sequence number and stays in the bounded outbound buffer until the peer acknowledges it; the
 * receiver delivers only the next expected number, so resends are harmless and nothing is reordered.
 */
import { L2Error } from '../errors';

/** A message the sender still holds: not yet sent (queued) or sent and not yet acknowledged. */
export interface Outgoing {
  readonly seq: number;
  readonly payload: Uint8Array;
  sent: boolean;
}

/**
 * The sender's bounded buffer, ordered by sequence number. Messages go out in sequence order, so the
 * sent ones are always a prefix of `items` (`sentCount` long): every operation is O(1) per message
 * instead of a scan of the whole window on each send.
 */
export class OutboundBuffer {
  private items: Outgoing[] = [];
  private sentCount = 0;
  private nextSeq = 1;
  private sentUpTo = 0;

  /** `limit` bounds queued plus unacknowledged messages. */
  constructor(private readonly limit: number) {}

  /** Messages held (queued or unacknowledged). */
  get size(): number {
    return this.items.length;
  }

  /** Whether a sent message is still waiting for its acknowledgement. */
  get awaitingAck(): boolean {
    return this.sentCount > 0;
  }

  /** Accepts a message with the next sequence number; a full buffer is `ERR_L2_LIMIT`, never a silent drop. */
  push(payload: Uint8Array): Outgoing {
    if (this.items.length >= this.limit) {
      const held = `${this.items.length} of ${this.limit} messages held`;
      throw new L2Error('ERR_L2_LIMIT', `send queue full: ${held}; retry once the peer has acknowledged some`);
    }
    const item: Outgoing = { seq: this.nextSeq++, payload, sent: false };
    this.items.push(item);
    return item;
  }

  /** Marks and returns the messages to put on the wire: unsent ones, or with `retransmit` every held one. */
  takeForSending(retransmit: boolean): Outgoing[] {
    const from = retransmit ? 0 : this.sentCount;
    if (from === this.items.length) return [];
    const out = this.items.slice(from);
    for (let k = this.sentCount; k < this.items.length; k++) this.items[k].sent = true;
    this.sentCount = this.items.length;
    this.sentUpTo = Math.max(this.sentUpTo, this.items[this.items.length - 1].seq);
    return out;
  }

  /** Every sent message, for a resend after the acknowledgement timer expired. */
  unacknowledged(): Outgoing[] {
    return this.items.slice(0, this.sentCount);
  }

  /**
   * Drops messages acknowledged by a cumulative `seq`. Returns how many were released, or -1 when the
   * peer acknowledges something never sent (a confused or lying peer: ignored).
   */
  acknowledge(seq: number): number {
    if (seq > this.sentUpTo) return -1;
    // Everything at or below `sentUpTo` was sent, so the released messages are a prefix of the sent ones.
    let released = 0;
    while (released < this.sentCount && this.items[released].seq <= seq) released++;
    if (released > 0) {
      this.items.splice(0, released);
      this.sentCount -= released;
    }
    return released;
  }

  /** Empties the buffer and returns what it held, in order, so the caller learns exactly what was not delivered. */
  drain(): Outgoing[] {
    const all = this.items;
    this.items = [];
    this.sentCount = 0;
    return all;
  }
}

/** What the receiver does with a data frame. */
export type Arrival = 'deliver' | 'duplicate' | 'gap';

/** The receiver's side: the next sequence number it will deliver. */
export class InboundSequencer {
  private expected = 1;

  /** The highest sequence number delivered so far (what a cumulative ack reports). */
  get delivered(): number {
    return this.expected - 1;
  }

  /**
   * Classifies `seq`: the expected one is delivered; an older one was delivered already (a resend or a
   * replay) and is dropped; a newer one means a frame before it was lost, so it waits for the resend.
   */
  accept(seq: number): Arrival {
    if (seq === this.expected) {
      this.expected++;
      return 'deliver';
    }
    return seq < this.expected ? 'duplicate' : 'gap';
  }
}
