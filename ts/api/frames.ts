/**
 * Session messages as frame payloads (SPEC.md §6): which frame type carries which message, and the
 * 8-byte big-endian number each one starts with.
 */
import { FrameType } from '../handshake';
import type { WireMessage } from '../session';

const NUMBER_LEN = 8;

/** The frame type of a session message. */
export function frameTypeOf(message: WireMessage): FrameType {
  switch (message.kind) {
    case 'data':
      return FrameType.Data;
    case 'ack':
      return FrameType.Ack;
    case 'heartbeat':
      return FrameType.Heartbeat;
    case 'heartbeat_ack':
      return FrameType.HeartbeatAck;
  }
}

/** Bytes of a session message's frame payload. */
export function payloadLength(message: WireMessage): number {
  return NUMBER_LEN + (message.kind === 'data' ? message.payload.length : 0);
}

/** Writes a session message's frame payload at `out[at]`. */
export function writePayload(message: WireMessage, out: Buffer, at: number): void {
  const n = message.kind === 'data' || message.kind === 'ack' ? message.seq : message.counter;
  // Two 32-bit halves: exact for every safe integer, without a BigInt per message.
  out.writeUInt32BE(Math.floor(n / 2 ** 32), at);
  out.writeUInt32BE(n >>> 0, at + 4);
  if (message.kind === 'data') out.set(message.payload, at + NUMBER_LEN);
}

/** The session message in an opened frame, or `undefined` for frames that carry none. */
export function readPayload(type: number, payload: Buffer): WireMessage | undefined {
  if (payload.length < NUMBER_LEN) return undefined;
  // Rounds like Number(BigInt) above 2^53: hi·2^32 is exact, so only the final addition rounds.
  const n = payload.readUInt32BE(0) * 2 ** 32 + payload.readUInt32BE(4);
  switch (type) {
    case FrameType.Data:
      return { kind: 'data', seq: n, payload: payload.subarray(NUMBER_LEN) };
    case FrameType.Ack:
      return payload.length === NUMBER_LEN ? { kind: 'ack', seq: n } : undefined;
    case FrameType.Heartbeat:
      return payload.length === NUMBER_LEN ? { kind: 'heartbeat', counter: n } : undefined;
    case FrameType.HeartbeatAck:
      return payload.length === NUMBER_LEN ? { kind: 'heartbeat_ack', counter: n } : undefined;
    default:
      return undefined;
  }
}
