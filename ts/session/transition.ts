/**
 * The pure session transition (the xstate `transition` idea): snapshot + event + now in, next snapshot and
 * the effects to run out. It runs nothing itself, reads no clock and holds no secrets.
 */
import { L2Error } from '../errors';
import type { SessionConfig } from './config';
import {
  nextState,
  type HandshakeKind,
  type Role,
  type SessionEvent,
  type SessionState,
  type TransportKind,
} from './states';
import { TIMER_NAMES, type TimerName } from './timers';

/** Everything the machine knows about a session between inputs; plain data, safe to log. */
export interface SessionSnapshot {
  readonly sessionId: string;
  readonly peerDid: string;
  readonly config: SessionConfig;
  /** This side opened the session: it rotates first and keeps its role when both sides retry at once. */
  readonly initiator: boolean;
  readonly state: SessionState;
  readonly transport: TransportKind;
  /** Counts key changes; 0 until the first handshake succeeds. */
  readonly keyEpoch: number;
  /** When the last KEM ran (full handshake or rotation); rotation is due `ttl - rotationWindow` after it. */
  readonly kemAt: number | null;
  /** End of the TTL: the resumption ticket is valid before it. Answered heartbeats push it out. */
  readonly expiresAt: number | null;
  /** The handshake in flight, if any. */
  readonly handshake: { readonly kind: HandshakeKind; readonly role: Role } | null;
  /** Consecutive failed attempts; drives the backoff and resets on `established`. */
  readonly failures: number;
  /** The peer is refused until then after an authentication failure. */
  readonly quarantinedUntil: number | null;
}

/** One audited transition. By construction it carries identifiers, states and times only, never key material. */
export interface AuditRecord {
  readonly sessionId: string;
  readonly peerDid: string;
  readonly from: SessionState;
  readonly to: SessionState;
  readonly reason: string;
  readonly time: number;
  readonly keyEpoch: number;
  readonly transport: TransportKind;
}

/** What a transition asks its runner to do. */
export type TransitionEffect =
  | { readonly type: 'audit'; readonly record: AuditRecord }
  | { readonly type: 'start_handshake'; readonly kind: HandshakeKind; readonly role: Role }
  | { readonly type: 'set_timer'; readonly timer: TimerName; readonly at: number }
  | { readonly type: 'cancel_timer'; readonly timer: TimerName }
  /** Send held messages; `retransmit` also resends sent-but-unacknowledged ones (the old path may have lost them). */
  | { readonly type: 'flush'; readonly retransmit: boolean }
  | { readonly type: 'quarantine'; readonly peerDid: string; readonly until: number }
  /** The session ended: hand every held message back to the caller as undeliverable. */
  | { readonly type: 'release_queue'; readonly reason: string };

/** The result of one transition. */
export interface TransitionResult {
  readonly snapshot: SessionSnapshot;
  readonly effects: readonly TransitionEffect[];
}

/** The delay before retry number `failures` (1-based): `initial * 2^(failures-1)`, capped at `max`. */
export function backoffDelay(config: SessionConfig, failures: number): number {
  const { initial, max } = config.backoff;
  return Math.min(max, initial * 2 ** Math.min(Math.max(failures - 1, 0), 52));
}

/**
 * When the keys are due for rotation. The side that did not open the session waits one handshake
 * timeout longer, so both sides never start a rotation at the same moment.
 */
export function rotationDueAt(s: SessionSnapshot): number | null {
  if (s.kemAt === null) return null;
  const lag = s.initiator ? 0 : s.config.handshakeTimeout;
  return s.kemAt + s.config.ttl - s.config.rotationWindow + lag;
}

/** A resumption ticket exists and has not died with the TTL. */
export function canResume(s: SessionSnapshot, now: number): boolean {
  return s.keyEpoch > 0 && s.expiresAt !== null && now < s.expiresAt;
}

/** Applies `event` at time `now`; throws `ERR_L2_INVALID_STATE` for a move the table does not allow. */
export function transition(snapshot: SessionSnapshot, event: SessionEvent, now: number): TransitionResult {
  const to = nextState(snapshot.state, event.type);
  if (to === undefined) {
    throw new L2Error(
      'ERR_L2_INVALID_STATE',
      `session ${snapshot.sessionId}: event '${event.type}' is not allowed from state '${snapshot.state}'`,
    );
  }
  checkPayload(snapshot, event);
  const effects: TransitionEffect[] = [];
  const next = enter(snapshot, to, event, now, effects);
  effects.unshift({ type: 'audit', record: audit(snapshot, next, reasonFor(snapshot.state, event), now) });
  return { snapshot: next, effects };
}

function checkPayload(s: SessionSnapshot, event: SessionEvent): void {
  // Key epochs only move forward: an old epoch reported again would re-install stale keys.
  if (event.type === 'handshake_succeeded' && !(Number.isSafeInteger(event.keyEpoch) && event.keyEpoch > s.keyEpoch)) {
    throw new L2Error('ERR_L2_BAD_INPUT', `keyEpoch must be an integer above ${s.keyEpoch}, got ${String(event.keyEpoch)}`);
  }
}

function audit(prev: SessionSnapshot, next: SessionSnapshot, reason: string, time: number): AuditRecord {
  return {
    sessionId: prev.sessionId,
    peerDid: prev.peerDid,
    from: prev.state,
    to: next.state,
    reason,
    time,
    keyEpoch: next.keyEpoch,
    transport: next.transport,
  };
}

function reasonFor(from: SessionState, event: SessionEvent): string {
  switch (event.type) {
    case 'handshake_succeeded':
      return from === 'rotating' ? 'rotated' : 'handshake_confirmed';
    case 'handshake_failed':
    case 'rotate':
    case 'close':
      return event.reason;
    case 'handshake_timeout':
      return from === 'rotating' ? 'rotation_timeout' : 'timeout';
    case 'degraded_timeout':
      return 'degraded_too_long';
    case 'retry':
      return event.role === 'responder' ? 'peer_retry' : 'retry';
    default:
      return event.type;
  }
}

function handshakeFor(event: SessionEvent): { kind: HandshakeKind; role: Role } {
  switch (event.type) {
    case 'establish':
      return { kind: event.kind, role: 'initiator' };
    case 'peer_hello':
      return { kind: event.kind, role: 'responder' };
    case 'retry':
      return { kind: event.kind, role: event.role };
    case 'rotate':
      return { kind: event.kind, role: event.reason === 'peer_requested' ? 'responder' : 'initiator' };
    default:
      throw new L2Error('ERR_L2_INTERNAL', `event '${event.type}' does not start a handshake`);
  }
}

// Entry actions of each target state: the timers it needs and what its runner must do.
function enter(
  s: SessionSnapshot, to: SessionState, event: SessionEvent, now: number, fx: TransitionEffect[],
): SessionSnapshot {
  const set = (timer: TimerName, at: number): void => void fx.push({ type: 'set_timer', timer, at });
  const cancel = (...timers: TimerName[]): void => timers.forEach((timer) => fx.push({ type: 'cancel_timer', timer }));
  switch (to) {
    case 'handshake_initiated':
    case 'handshake_received':
    case 'rotating': {
      const handshake = handshakeFor(event);
      cancel('retry');
      set('handshake', now + s.config.handshakeTimeout);
      fx.push({ type: 'start_handshake', ...handshake });
      return { ...s, state: to, handshake };
    }
    case 'established':
      return enterEstablished(s, event, now, fx, set, cancel);
    case 'degraded':
      cancel('linkLoss');
      set('degraded', now + s.config.degradedTimeout);
      return { ...s, state: to };
    case 'suspended':
      cancel('degraded', 'heartbeat', 'heartbeatAnswer', 'ack', 'linkLoss');
      set('retry', now + s.config.suspendedRetry);
      return { ...s, state: to };
    case 'failed':
      return enterFailed(s, event, now, fx, set, cancel);
    case 'closed':
      cancel(...TIMER_NAMES);
      fx.push({ type: 'release_queue', reason: reasonFor(s.state, event) });
      return { ...s, state: to, handshake: null };
    default:
      throw new L2Error('ERR_L2_INTERNAL', `no entry actions for state '${to}'`);
  }
}

type SetTimer = (timer: TimerName, at: number) => void;
type CancelTimers = (...timers: TimerName[]) => void;

function enterEstablished(
  s: SessionSnapshot, event: SessionEvent, now: number, fx: TransitionEffect[], set: SetTimer, cancel: CancelTimers,
): SessionSnapshot {
  let next: SessionSnapshot = { ...s, state: 'established' };
  if (event.type === 'handshake_succeeded') {
    // A resumption derives traffic keys from the ticket without a KEM, so the key age (kemAt) stays.
    const freshKem = s.handshake?.kind !== 'resume';
    next = {
      ...next,
      keyEpoch: event.keyEpoch,
      kemAt: freshKem ? now : s.kemAt,
      expiresAt: now + s.config.ttl,
      handshake: null,
      failures: 0,
    };
  }
  cancel('handshake', 'degraded', 'linkLoss', 'retry');
  set('heartbeat', now + quietInterval(s));
  const due = rotationDueAt(next);
  if (due !== null) set('rotation', due);
  // After a rotation the old path is intact, so in-flight frames need no resend; after any outage they might.
  fx.push({ type: 'flush', retransmit: s.state !== 'rotating' });
  return next;
}

function enterFailed(
  s: SessionSnapshot, event: SessionEvent, now: number, fx: TransitionEffect[], set: SetTimer, cancel: CancelTimers,
): SessionSnapshot {
  const failures = s.failures + 1;
  let next: SessionSnapshot = { ...s, state: 'failed', handshake: null, failures };
  cancel('handshake', 'heartbeat', 'heartbeatAnswer', 'ack', 'rotation', 'linkLoss');
  if (event.type === 'handshake_failed' && event.reason === 'authentication_failed') {
    // A peer that failed authentication is not trusted with a resumption either: the ticket dies here.
    const until = now + s.config.quarantine;
    next = { ...next, quarantinedUntil: until, expiresAt: null };
    fx.push({ type: 'quarantine', peerDid: s.peerDid, until });
  }
  if (failures <= s.config.maxRetries) {
    set('retry', Math.max(now + backoffDelay(s.config, failures), next.quarantinedUntil ?? 0));
  }
  return next;
}

/** What a new session starts from; `stored` restores a resumable session exported earlier. */
export interface SnapshotInit {
  readonly sessionId: string;
  readonly peerDid: string;
  readonly config: SessionConfig;
  readonly initiator: boolean;
  readonly transport: TransportKind;
  readonly stored?: { readonly keyEpoch: number; readonly kemAt: number; readonly expiresAt: number };
}

/** The `idle` snapshot a session begins in. */
export function initialSnapshot(init: SnapshotInit): SessionSnapshot {
  return {
    sessionId: init.sessionId,
    peerDid: init.peerDid,
    config: init.config,
    initiator: init.initiator,
    state: 'idle',
    transport: init.transport,
    keyEpoch: init.stored?.keyEpoch ?? 0,
    kemAt: init.stored?.kemAt ?? null,
    expiresAt: init.stored?.expiresAt ?? null,
    handshake: null,
    failures: 0,
    quarantinedUntil: null,
  };
}

/**
 * Quiet time before this side probes. The side that answered the handshake waits a probe timeout
 * longer, so on an idle link the dialer probes and the answerer only answers, instead of both
 * probing (twice the heartbeat traffic). The answerer still probes when the dialer falls silent.
 */
export function quietInterval(s: Pick<SessionSnapshot, 'initiator' | 'config'>): number {
  return s.config.heartbeatInterval + (s.initiator ? 0 : s.config.heartbeatTimeout);
}
