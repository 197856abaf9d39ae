/**
 * An in-memory transport for tests: two endpoints joined by a link with latency, seeded loss and a
 * partition switch, all on an injected clock. Deterministic: the same seed loses the same messages.
 */
import { L2Error } from '../errors';
import type { Clock } from './clock';
import type { TransportKind } from './states';

/** A deterministic PRNG (mulberry32) returning floats in [0, 1); loss must replay identically per seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Link behaviour; every field may be changed while messages are in flight. */
export interface MockLinkOptions {
  /** One-way delay in ms (default 0). */
  readonly latency?: number;
  /** Probability in [0, 1] that a message is lost (default 0). */
  readonly loss?: number;
  /** PRNG seed for loss (default 1). */
  readonly seed?: number;
  /** Which transport this link stands for (default `'quic'`). */
  readonly kind?: TransportKind;
}

/** Counters for assertions. */
export interface MockLinkStats {
  sent: number;
  delivered: number;
  dropped: number;
}

/** One side of a mock link. */
export class MockEndpoint<T> {
  private onMessageHandler: (message: T) => void = () => undefined;
  private onLinkHandler: (up: boolean) => void = () => undefined;

  /** @internal Created by `MockLink` only. */
  constructor(private readonly link: MockLink<T>, private readonly side: 'a' | 'b') {}

  /** Sends `message` to the other side, subject to the link's loss, latency and partition. */
  send(message: T): void {
    this.link.carry(this.side, message);
  }

  /** Sets the receiver of messages from the other side. */
  onMessage(handler: (message: T) => void): void {
    this.onMessageHandler = handler;
  }

  /** Sets the receiver of link up/down notices (a partition is noticed at once, as a reset would be). */
  onLinkChange(handler: (up: boolean) => void): void {
    this.onLinkHandler = handler;
  }

  /** @internal */
  receive(message: T): void {
    this.onMessageHandler(message);
  }

  /** @internal */
  linkChanged(up: boolean): void {
    this.onLinkHandler(up);
  }
}

function checkOptions(o: MockLinkOptions): void {
  if (o.latency !== undefined && !(Number.isFinite(o.latency) && o.latency >= 0)) {
    throw new L2Error('ERR_L2_BAD_INPUT', `mock link latency: expected ms >= 0, got ${String(o.latency)}`);
  }
  if (o.loss !== undefined && !(o.loss >= 0 && o.loss <= 1)) {
    throw new L2Error('ERR_L2_BAD_INPUT', `mock link loss: expected a probability in [0, 1], got ${String(o.loss)}`);
  }
}

/** A bidirectional link between endpoints `a` and `b`; FIFO per direction while latency is constant. */
export class MockLink<T> {
  /** The endpoint of the first peer. */
  readonly a: MockEndpoint<T>;
  /** The endpoint of the second peer. */
  readonly b: MockEndpoint<T>;
  /** The transport this link stands for. */
  readonly kind: TransportKind;
  /** Messages sent, delivered and dropped (lost or cut by a partition). */
  readonly stats: MockLinkStats = { sent: 0, delivered: 0, dropped: 0 };
  private latency: number;
  private loss: number;
  private readonly random: () => number;
  private cut = false;
  // Bumped by every partition, so a message in flight across a partition dies even if the link heals first.
  private generation = 0;

  /** Creates a healthy link driven by `clock`. */
  constructor(private readonly clock: Clock, options: MockLinkOptions = {}) {
    checkOptions(options);
    this.latency = options.latency ?? 0;
    this.loss = options.loss ?? 0;
    this.random = seededRandom(options.seed ?? 1);
    this.kind = options.kind ?? 'quic';
    this.a = new MockEndpoint(this, 'a');
    this.b = new MockEndpoint(this, 'b');
  }

  /** Whether the link is partitioned. */
  get partitioned(): boolean {
    return this.cut;
  }

  /** Changes latency and/or loss from now on. */
  configure(options: Pick<MockLinkOptions, 'latency' | 'loss'>): void {
    checkOptions(options);
    this.latency = options.latency ?? this.latency;
    this.loss = options.loss ?? this.loss;
  }

  /** Cuts the link: messages in flight and sent from now on are dropped; both ends are told the link is down. */
  partition(): void {
    if (this.cut) return;
    this.cut = true;
    this.generation++;
    this.a.linkChanged(false);
    this.b.linkChanged(false);
  }

  /** Restores the link; both ends are told it is up. */
  heal(): void {
    if (!this.cut) return;
    this.cut = false;
    this.a.linkChanged(true);
    this.b.linkChanged(true);
  }

  /** @internal Moves a message from `from` to the other side. */
  carry(from: 'a' | 'b', message: T): void {
    this.stats.sent++;
    // Draw for every message, lost or not, so one seed gives one loss pattern whatever the partitions.
    const lost = this.random() < this.loss;
    if (this.cut || lost) {
      this.stats.dropped++;
      return;
    }
    const to = from === 'a' ? this.b : this.a;
    const generation = this.generation;
    this.clock.schedule(this.clock.now() + this.latency, () => {
      if (this.cut || generation !== this.generation) {
        this.stats.dropped++;
        return;
      }
      this.stats.delivered++;
      to.receive(message);
    });
  }
}
