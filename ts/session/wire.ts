/**
 * The session-level messages a machine exchanges with its peer once keys exist. The frame layer (Rust)
 * encrypts and authenticates them; handshake messages belong to the crypto port and never appear here.
 */
import { L2Error } from '../errors';

/** A message between two session machines. Counters and sequence numbers start at 1 and only grow. */
export type WireMessage =
  | { readonly kind: 'heartbeat'; readonly counter: number }
  | { readonly kind: 'heartbeat_ack'; readonly counter: number }
  | { readonly kind: 'data'; readonly seq: number; readonly payload: Uint8Array }
  /** Cumulative: every data frame up to and including `seq` was delivered. */
  | { readonly kind: 'ack'; readonly seq: number };

function nonNegativeInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Checks an inbound message's shape; throws `ERR_L2_BAD_INPUT` so malformed input never reaches the state. */
export function checkWireMessage(value: unknown): WireMessage {
  const m = value as Record<string, unknown> | null;
  const kind = typeof m === 'object' && m !== null ? m.kind : undefined;
  const ok =
    m !== null &&
    (((kind === 'heartbeat' || kind === 'heartbeat_ack') && nonNegativeInt(m.counter)) ||
      (kind === 'data' && nonNegativeInt(m.seq) && m.payload instanceof Uint8Array) ||
      (kind === 'ack' && nonNegativeInt(m.seq)));
  if (!ok) throw new L2Error('ERR_L2_BAD_INPUT', `malformed session message (kind ${JSON.stringify(kind)})`);
  return value as WireMessage;
}
