/**
 * Transports: a node listening on QUIC (primary), μTCP (fallback) and UDP discovery, and the
 * links it dials or accepts. A link moves whole messages in order; the session layer sends one
 * message per batch of sealed frames. Sockets, QUIC and timers live in Rust: QUIC, discovery and
 * connection set-up on one tokio runtime, μTCP reads and writes on the JS thread (polled by Node's loop).
 */
import { native } from './native';
import { guard } from './guard';
import { L2Error, toL2Error } from './errors';
import { Identity, nativeIdentity } from './identity';
import { bytes, options, optionalInt, optionalNumber } from './validate';

type NativeNode = InstanceType<typeof native.TransportNode>;
type NativeLink = InstanceType<typeof native.TransportLink>;

/** Which transport a link runs on. */
export type TransportName = 'quic' | 'tcp';

/** Listening addresses as `ip:port`. */
export interface TransportAddresses {
  quic?: string;
  tcp?: string;
  discovery?: string;
}

/** Where a transport node listens (ports 0 or omitted: any free port). */
export interface TransportListenOptions {
  host?: string;
  quicPort?: number;
  tcpPort?: number;
  discoveryPort?: number;
  /** Largest message accepted from a peer, bytes (default 1 MiB). */
  maxMessageLen?: number;
  /** QUIC idle timeout, ms (default 30 000). */
  quicIdleTimeoutMs?: number;
  /** Inbound connections in set-up (transport and L2 handshake), per node (default 512). */
  maxPendingHandshakes?: number;
  /** The same per source IP (default 256). */
  maxPendingHandshakesPerSource?: number;
  /** Handshake attempts per second per source IP (token bucket refill, default 100). */
  handshakeRatePerSource?: number;
  /** Attempts a quiet source IP may make in a burst (bucket size, default 256). */
  handshakeBurstPerSource?: number;
  /** QUIC connections in set-up above which clients with unvalidated addresses get a stateless Retry (default 128; 0 = always). */
  retryThreshold?: number;
  /** Strikes (failed handshakes, junk, attempts while rate-limited) that quarantine a source IP (default 8). */
  quarantineStrikes?: number;
  /** First quarantine of a source IP, ms; doubled on each repeat up to 64× (default 10 000). */
  quarantineMs?: number;
}

/** The admission limits of `TransportListenOptions`, with their valid ranges. */
export const ADMISSION_LIMITS = {
  maxPendingHandshakes: [1, 1 << 20],
  maxPendingHandshakesPerSource: [1, 1 << 20],
  handshakeRatePerSource: [1, 1 << 20],
  handshakeBurstPerSource: [1, 1 << 20],
  retryThreshold: [0, 1 << 20],
  quarantineStrikes: [1, 1 << 20],
  quarantineMs: [1, 86_400_000],
} as const;

/** How an accepted link's handshake ended, for the node's admission accounting. */
export type HandshakeOutcome = 'done' | 'bad_handshake' | 'session_limit';

/** How to dial. */
export interface DialOptions {
  quic?: string;
  tcp?: string;
  /** `'auto'` (default): QUIC, then μTCP if QUIC cannot connect within `quicTimeoutMs`. */
  transport?: 'auto' | TransportName;
  quicTimeoutMs?: number;
  tcpTimeoutMs?: number;
}

/** Link counters. RTT and congestion window are QUIC's own estimates. */
export interface LinkStats {
  transport: string;
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  rttMs?: number;
  cwnd?: number;
  lostPackets?: number;
}

/** Node counters, including inputs dropped by reason. */
export interface TransportNodeStats {
  linksAccepted: number;
  linksDialed: number;
  tcpFallbacks: number;
  probesAnswered: number;
  quicConnections: number;
  /**
   * Dropped inputs by reason. Admission refusals: `handshake_limit` (node), `source_handshake_limit`,
   * `rate_limited`, `quarantined` (per source IP), `session_limit`; `bad_handshake`: failed or stalled L2 handshakes.
   */
  dropped: Record<string, number>;
  /** Stateless QUIC Retry packets sent (address validation under load). */
  retriesSent: number;
  /** Quarantines of source IPs started. */
  quarantines: number;
  /** Inbound connections in set-up now (transport or L2 handshake). */
  pendingHandshakes: number;
  /** Source IPs quarantined now. */
  quarantinedSources: number;
  /** Source IPs in the admission table (bounded). */
  trackedSources: number;
  /** Tasks the node runs (accept loops, discovery, link set-up and watchers); a leak would show here. */
  runningTasks: number;
}

/** A signed discovery answer. */
export interface DiscoveryAnswer {
  did: string;
  publicKey: Buffer;
  quic?: string;
  tcp?: string;
  /** Our address as the answering node saw it. */
  observed: string;
  from: string;
  /** True when `did` is a `did:key` naming the signing key; other methods are as announced (check them with a resolver). */
  didVerified: boolean;
}

const rethrowL2 = (err: unknown): never => {
  throw toL2Error(err);
};

/** Runs a native async call; a throw or a rejection becomes a rejected `L2Error` (one extra promise, not an async frame). */
function settle<T>(call: () => Promise<T>): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = call();
  } catch (err) {
    return Promise.reject(toL2Error(err));
  }
  return pending.catch(rethrowL2);
}

/** A channel of whole messages to one peer. */
export class Link {
  readonly #link: NativeLink;

  /** @internal */
  constructor(link: NativeLink) {
    if (!(link instanceof native.TransportLink)) throw new L2Error('ERR_L2_BAD_INPUT', 'a Link comes from TransportNode.dial() or accept()');
    this.#link = link;
  }

  /** `'quic'` or `'tcp'`. */
  get transport(): TransportName {
    return this.#link.transport as TransportName;
  }

  /** The QUIC connection's TLS exporter value (32 bytes), or null on μTCP. */
  get channelBinding(): Buffer | null {
    return this.#link.channelBinding;
  }

  /** Our `host:port` for this link (the node's UDP address on QUIC). */
  get localAddress(): string {
    return this.#link.localAddress;
  }

  /** The peer's `host:port` as seen from here (QUIC follows migrations). */
  get peerAddress(): string {
    return this.#link.peerAddress;
  }

  /** Sends messages in order; resolves once they are handed to the transport (waits for flow control). */
  send(messages: Uint8Array[]): Promise<void> {
    if (!Array.isArray(messages)) return Promise.reject(new L2Error('ERR_L2_BAD_INPUT', 'messages must be an array'));
    try {
      for (let i = 0; i < messages.length; i++) bytes(`messages[${i}]`, messages[i]);
    } catch (err) {
      return Promise.reject(err);
    }
    return settle(() => this.#link.send(messages));
  }

  /** Resolves with every message that has arrived (at least one, at most `max`); `[]` when the peer closed. */
  recv(max?: number): Promise<Buffer[]> {
    return settle(() => this.#link.recv(optionalInt('max', max, 1, 1 << 20)));
  }

  /** Counters. */
  stats(): LinkStats {
    return this.#link.stats() as LinkStats;
  }

  /** Graceful close: what was sent is delivered first. */
  close(): Promise<void> {
    return settle(() => this.#link.close());
  }

  /** Immediate close. */
  abort(): void {
    this.#link.abort();
  }

  /** @internal Ends an accepted link's handshake phase: frees its set-up slot, counts a failure against its source. */
  settleHandshake(outcome: HandshakeOutcome): void {
    guard(() => this.#link.settleHandshake(outcome));
  }
}

/** A node listening on QUIC, μTCP and discovery. */
export class TransportNode {
  readonly #node: NativeNode;

  private constructor(node: NativeNode) {
    if (!(node instanceof native.TransportNode)) throw new L2Error('ERR_L2_BAD_INPUT', 'a TransportNode comes from TransportNode.listen()');
    this.#node = node;
  }

  /** Binds the sockets (ports 0: any free port). */
  static async listen(identity: Identity, opts?: TransportListenOptions): Promise<TransportNode> {
    const o = options<TransportListenOptions>('listen options', opts, [
      'host', 'quicPort', 'tcpPort', 'discoveryPort', 'maxMessageLen', 'quicIdleTimeoutMs',
      ...(Object.keys(ADMISSION_LIMITS) as (keyof typeof ADMISSION_LIMITS)[]),
    ]);
    if (o) {
      for (const k of ['quicPort', 'tcpPort', 'discoveryPort'] as const) optionalInt(k, o[k], 0, 65535);
      optionalInt('maxMessageLen', o.maxMessageLen, 1, 2 ** 32 - 1);
      optionalNumber('quicIdleTimeoutMs', o.quicIdleTimeoutMs);
      for (const [k, [min, max]] of Object.entries(ADMISSION_LIMITS)) optionalInt(k, o[k as keyof typeof ADMISSION_LIMITS], min, max);
    }
    const id = nativeIdentity(identity);
    return new TransportNode(await settle(() => native.TransportNode.listen(id, o)));
  }

  /** The DID announced by discovery. */
  get did(): string {
    return this.#node.did;
  }

  /** Listening addresses. */
  get addresses(): TransportAddresses {
    const a = this.#node.addresses;
    return { quic: a.quic ?? undefined, tcp: a.tcp ?? undefined, discovery: a.discovery ?? undefined };
  }

  /** Dials a peer. */
  async dial(opts: DialOptions): Promise<Link> {
    const o = options<DialOptions>('dial options', opts, ['quic', 'tcp', 'transport', 'quicTimeoutMs', 'tcpTimeoutMs']);
    if (!o || (!o.quic && !o.tcp)) throw new L2Error('ERR_L2_BAD_INPUT', 'dial needs a quic or tcp address');
    return new Link(await settle(() => this.#node.dial(o)));
  }

  /** The next inbound link; rejects with `ERR_L2_CLOSED` after `close()`. */
  async accept(): Promise<Link> {
    const link = await this.acceptHandshaking();
    link.settleHandshake('done');
    return link;
  }

  /** @internal The next inbound link, counted as in set-up (admission limits) until `link.settleHandshake()`, `close()` or `abort()`. */
  async acceptHandshaking(): Promise<Link> {
    return new Link(await settle(() => this.#node.accept()));
  }

  /** Asks the discovery service at `address` who is there. */
  discover(address: string, timeoutMs?: number): Promise<DiscoveryAnswer> {
    return settle(() => this.#node.discover(address, optionalInt('timeoutMs', timeoutMs, 1, 2 ** 31 - 1))) as Promise<DiscoveryAnswer>;
  }

  /** Counters. */
  stats(): TransportNodeStats {
    return this.#node.stats();
  }

  /** Closes every link and socket; afterwards nothing keeps the process alive. */
  close(): Promise<void> {
    return settle(() => this.#node.close());
  }
}
