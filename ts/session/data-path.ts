/**
 * The session's data path: sequence numbers out, cumulative acks back, resends on the `ack` timer, and
 * in-order delivery in. The state machine decides when it may transmit; this decides what goes out.
 */
import type { SessionConfig } from './config';
import { InboundSequencer, OutboundBuffer, type Outgoing } from './sequencing';
import type { Timers } from './timers';
import type { WireMessage } from './wire';

/** What the data path hands to the machine's output queue. */
export type DataOutput =
  | { readonly type: 'transmit'; readonly message: WireMessage }
  | { readonly type: 'deliver'; readonly seq: number; readonly data: Uint8Array };

/** Outbound buffer, inbound sequencer and the `ack` timer of one session. */
export class DataPath {
  private readonly outbound: OutboundBuffer;
  private readonly inbound = new InboundSequencer();

  /** Arms `ack` in `timers`; sends everything through `emit`. */
  constructor(
    private readonly config: SessionConfig,
    private readonly timers: Timers,
    private readonly emit: (out: DataOutput) => void,
  ) {
    this.outbound = new OutboundBuffer(config.queueLimit);
  }

  /** Messages held: queued or sent and not yet acknowledged. */
  get held(): number {
    return this.outbound.size;
  }

  /** Accepts `data` (throws `ERR_L2_LIMIT` when full), sends it at once if `transmit`; returns its sequence number. */
  send(data: Uint8Array, transmit: boolean, now: number): number {
    const item = this.outbound.push(data);
    if (transmit) this.flush(false, now);
    return item.seq;
  }

  /** Sends queued messages, and with `retransmit` also the unacknowledged ones, in sequence order. */
  flush(retransmit: boolean, now: number): void {
    this.transmitAll(this.outbound.takeForSending(retransmit), now);
  }

  /** The `ack` timer fired: resend every unacknowledged message (go-back-N; the receiver drops what it has). */
  resend(now: number): void {
    this.transmitAll(this.outbound.unacknowledged(), now, true);
  }

  /** A data frame from the peer: delivered (`true`) if it is the next one; acknowledged in every case. */
  receive(seq: number, payload: Uint8Array): boolean {
    const deliver = this.inbound.accept(seq) === 'deliver';
    if (deliver) this.emit({ type: 'deliver', seq, data: payload });
    // Acknowledge duplicates and gaps too: the sender may have lost our last ack, or must resend from here.
    this.emit({ type: 'transmit', message: { kind: 'ack', seq: this.inbound.delivered } });
    return deliver;
  }

  /** A cumulative ack from the peer; `false` when it acknowledges something never sent. */
  acknowledge(seq: number, now: number): boolean {
    const released = this.outbound.acknowledge(seq);
    if (released > 0) this.armAck(now, true);
    return released >= 0;
  }

  /** Empties the outbound buffer, returning what it held in order. */
  drain(): Outgoing[] {
    this.timers.cancel('ack');
    return this.outbound.drain();
  }

  private transmitAll(items: readonly Outgoing[], now: number, restart = false): void {
    for (const m of items) this.emit({ type: 'transmit', message: { kind: 'data', seq: m.seq, payload: m.payload } });
    this.armAck(now, restart);
  }

  /**
   * The `ack` timer runs from the oldest unacknowledged send: new sends (or a flush with nothing new)
   * must not push it out, or steady traffic would starve the resend of a lost frame. Progress (an ack
   * releasing something) or a resend restarts it.
   */
  private armAck(now: number, restart: boolean): void {
    if (!this.outbound.awaitingAck) this.timers.cancel('ack');
    else if (restart || this.timers.get('ack') === undefined) this.timers.set('ack', now + this.config.ackTimeout);
  }
}
