/** Types of tools/chaos/relay.js (plain JavaScript so it runs in a namespace without a compile step). */

export interface Impairments {
  /** Fraction of datagrams dropped, 0..1. */
  loss: number;
  /** Base one-way delay in ms (UDP and TCP). */
  delay: number;
  /** Uniform jitter ± ms around `delay`. */
  jitter: number;
  /** Fraction of datagrams held back behind later ones, 0..1. */
  reorder: number;
  /** Fraction of datagrams sent twice, 0..1. */
  duplicate: number;
  /** Drop every datagram (QUIC dies, μTCP still passes). */
  blockUdp: boolean;
  /** Drop every datagram and stall TCP both ways, new connections included. */
  partition: boolean;
}

export interface UdpCounters {
  forwarded: number;
  dropped: number;
  droppedByLoss: number;
  droppedByBlock: number;
  duplicated: number;
  reordered: number;
}

export interface TcpCounters {
  chunks: number;
  bytes: number;
  stalledMs: number;
}

export interface RelayStats {
  seed: number;
  udp: { a2b: UdpCounters; b2a: UdpCounters };
  tcp: { a2b: TcpCounters; b2a: TcpCounters; connections: number; heldConnections: number };
  flows: number;
}

export interface RelayOptions {
  host?: string;
  upstreamHost?: string;
  udp?: { port?: number; target: string };
  tcp?: { port?: number; target: string };
  seed?: number;
}

export declare const CLEAR: Readonly<Impairments>;

export declare class ChaosError extends Error {
  readonly code: 'ERR_CHAOS_BAD_INPUT';
}

export declare class ChaosRelay {
  static start(options: RelayOptions): Promise<ChaosRelay>;
  readonly seed: number;
  readonly addresses: { udp?: string; tcp?: string };
  readonly impairments: Impairments;
  set(changes: Partial<Impairments>): Impairments;
  clear(): Impairments;
  stats(): RelayStats;
  close(): Promise<void>;
}
