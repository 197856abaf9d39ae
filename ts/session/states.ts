/**
 * Session states, events and the one table of allowed moves (SPEC-018, REQUIREMENTS.md "Sessions").
 * Every guard on a state move lives here; nothing else decides whether a move is legal.
 */

/** The states of a session; `closed` is terminal. */
export type SessionState =
  | 'idle'
  | 'handshake_initiated'
  | 'handshake_received'
  | 'established'
  | 'degraded'
  | 'rotating'
  | 'suspended'
  | 'failed'
  | 'closed';

/** All states, in the order the spec lists them. */
export const SESSION_STATES: readonly SessionState[] = [
  'idle',
  'handshake_initiated',
  'handshake_received',
  'established',
  'degraded',
  'rotating',
  'suspended',
  'failed',
  'closed',
];

/** `full` runs a fresh hybrid KEM; `resume` reuses the resumption secret (no KEM); `rotation` re-keys a live session. */
export type HandshakeKind = 'full' | 'resume' | 'rotation';

/** Which side of a handshake exchange this machine plays. */
export type Role = 'initiator' | 'responder';

/** The transport a session currently rides on. */
export type TransportKind = 'quic' | 'tcp';

/** Why a handshake failed, as reported by the crypto port. */
export type HandshakeFailure = 'authentication_failed' | 'protocol_error';

/** Why a rotation starts: our timer, the caller's `rotate()`, or the peer's hello. */
export type RotationReason = 'rotation_due' | 'requested' | 'peer_requested';

/** Every input that can move a session between states, declared once. */
export type SessionEvent =
  | { readonly type: 'establish'; readonly kind: 'full' | 'resume' }
  | { readonly type: 'peer_hello'; readonly kind: 'full' | 'resume' }
  | { readonly type: 'handshake_succeeded'; readonly keyEpoch: number }
  | { readonly type: 'handshake_failed'; readonly reason: HandshakeFailure }
  | { readonly type: 'handshake_timeout' }
  | { readonly type: 'heartbeats_missed' }
  | { readonly type: 'link_lost' }
  | { readonly type: 'link_restored' }
  | { readonly type: 'degraded_timeout' }
  | { readonly type: 'rotate'; readonly reason: RotationReason; readonly kind: HandshakeKind }
  | { readonly type: 'retry'; readonly role: Role; readonly kind: 'full' | 'resume' }
  | { readonly type: 'close'; readonly reason: string };

/** The `type` tag of a session event. */
export type SessionEventType = SessionEvent['type'];

/** Every event type, for exhaustive table tests. */
export const SESSION_EVENT_TYPES: readonly SessionEventType[] = [
  'establish',
  'peer_hello',
  'handshake_succeeded',
  'handshake_failed',
  'handshake_timeout',
  'heartbeats_missed',
  'link_lost',
  'link_restored',
  'degraded_timeout',
  'rotate',
  'retry',
  'close',
];

type MoveTable = { readonly [S in SessionState]: Readonly<Partial<Record<SessionEventType, SessionState>>> };

/**
 * The allowed moves: state → event type → next state. The brief's table, plus `close` from every
 * non-closed state so a caller can always end a session.
 */
export const TRANSITIONS: MoveTable = {
  idle: { establish: 'handshake_initiated', peer_hello: 'handshake_received', close: 'closed' },
  handshake_initiated: {
    handshake_succeeded: 'established',
    handshake_failed: 'failed',
    handshake_timeout: 'failed',
    close: 'closed',
  },
  handshake_received: {
    handshake_succeeded: 'established',
    handshake_failed: 'failed',
    handshake_timeout: 'failed',
    close: 'closed',
  },
  established: { heartbeats_missed: 'degraded', link_lost: 'degraded', rotate: 'rotating', close: 'closed' },
  degraded: { link_restored: 'established', degraded_timeout: 'suspended', close: 'closed' },
  rotating: {
    handshake_succeeded: 'established',
    handshake_failed: 'failed',
    handshake_timeout: 'failed',
    close: 'closed',
  },
  suspended: { retry: 'handshake_initiated', close: 'closed' },
  failed: { retry: 'handshake_initiated', close: 'closed' },
  closed: {},
};

/** The state `event` leads to from `state`, or `undefined` when the move is not allowed. */
export function nextState(state: SessionState, event: SessionEventType): SessionState | undefined {
  return TRANSITIONS[state][event];
}

/** What `send()` does in a state: put on the wire, hold in the bounded queue, or refuse. */
export type SendPolicy = 'transmit' | 'queue' | 'closed';

/**
 * Send policy per state. Rotation keeps traffic flowing on the old keys (no loss while re-keying);
 * every state that may still reach `established` holds messages until it does.
 */
export const SEND_POLICY: { readonly [S in SessionState]: SendPolicy } = {
  idle: 'queue',
  handshake_initiated: 'queue',
  handshake_received: 'queue',
  established: 'transmit',
  degraded: 'queue',
  rotating: 'transmit',
  suspended: 'queue',
  failed: 'queue',
  closed: 'closed',
};

/** States in which frames from the peer (data, acks, heartbeats) are accepted: keys exist and are live. */
export const RECEIVES: ReadonlySet<SessionState> = new Set<SessionState>(['established', 'degraded', 'rotating']);
