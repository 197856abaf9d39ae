/**
 * The session machine, shaped like quinn's `Connection`: `handle_*` inputs, app commands and `poll()`
 * outputs, every time-dependent call taking `now`. It owns no socket, no clock and no key: the driver
 * moves its outputs to the transport and the crypto port, and feeds their results back in.
 */
import { L2Error, type L2ErrorCode } from '../errors';
import { parseConfig, type SessionConfig, type SessionConfigInput } from './config';
import { DataPath } from './data-path';
import { HeartbeatTracker } from './heartbeat';
import {
  RECEIVES,
  SEND_POLICY,
  type HandshakeFailure,
  type HandshakeKind,
  type Role,
  type SessionEvent,
  type SessionState,
  type TransportKind,
} from './states';
import { Timers, type TimerName } from './timers';
import {
  canResume,
  initialSnapshot,
  quietInterval,
  transition,
  type AuditRecord,
  type SessionSnapshot,
  type TransitionEffect,
} from './transition';
import { checkWireMessage, type WireMessage } from './wire';

/** What the machine asks of its driver, in order. */
export type MachineOutput =
  | { readonly type: 'transmit'; readonly message: WireMessage }
  | { readonly type: 'start_handshake'; readonly kind: HandshakeKind; readonly role: Role }
  | { readonly type: 'deliver'; readonly seq: number; readonly data: Uint8Array }
  | { readonly type: 'audit'; readonly record: AuditRecord }
  | { readonly type: 'warning'; readonly code: L2ErrorCode; readonly message: string }
  | { readonly type: 'quarantine'; readonly peerDid: string; readonly until: number }
  | { readonly type: 'transport_changed'; readonly from: TransportKind; readonly to: TransportKind }
  /** The session closed holding these messages; the peer never acknowledged them (a sent one may still have arrived). */
  | {
      readonly type: 'unacknowledged';
      readonly messages: readonly { seq: number; data: Uint8Array }[];
      readonly reason: string;
    };

/** The crypto port's verdict on a handshake (full, resumption or rotation). */
export type HandshakeResult =
  | { readonly ok: true; readonly keyEpoch: number }
  | { readonly ok: false; readonly reason: HandshakeFailure };

/** The non-secret half of an exported session; the sealed resumption secret travels beside it. */
export interface StoredSession {
  readonly sessionId: string;
  readonly peerDid: string;
  readonly initiator: boolean;
  readonly keyEpoch: number;
  readonly kemAt: number;
  readonly expiresAt: number;
}

/** How to create a machine; `stored` restores an exported session so `establish` can resume it. */
export interface SessionMachineOptions {
  readonly sessionId: string;
  readonly peerDid: string;
  readonly initiator: boolean;
  readonly transport?: TransportKind;
  readonly config?: SessionConfigInput;
  readonly stored?: StoredSession;
}

/** One session's state machine. Not thread-safe, not async: each call runs to completion. */
export class SessionMachine {
  private snap: SessionSnapshot;
  private readonly timers = new Timers();
  private readonly outbox: MachineOutput[] = [];
  private readonly data: DataPath;
  private readonly heartbeats = new HeartbeatTracker();

  /** Parses the config (throws `ERR_L2_BAD_INPUT`) and starts in `idle`. */
  constructor(options: SessionMachineOptions) {
    const config = parseConfig(options.config);
    this.snap = initialSnapshot({ ...options, config, transport: options.transport ?? 'quic' });
    this.data = new DataPath(config, this.timers, (out) => this.outbox.push(out));
  }

  /** The current state. */
  get state(): SessionState {
    return this.snap.state;
  }

  /** The current snapshot (plain, immutable data). */
  get snapshot(): SessionSnapshot {
    return this.snap;
  }

  /** The parsed configuration. */
  get config(): SessionConfig {
    return this.snap.config;
  }

  /** Messages held: queued or sent and not yet acknowledged. */
  get held(): number {
    return this.data.held;
  }

  /** The next output, or `undefined` when there is none. */
  poll(): MachineOutput | undefined {
    return this.outbox.shift();
  }

  /** The earliest time `handleTimeout` has work to do, or `null`. */
  nextDeadline(): number | null {
    return this.timers.next();
  }

  /** Opens the session: a resumption if a live ticket exists, else a full handshake. */
  establish(now: number): void {
    this.dispatch({ type: 'establish', kind: canResume(this.snap, now) ? 'resume' : 'full' }, now);
  }

  /** Asks for a key rotation now (`rotate()` in the API). */
  rotate(now: number): void {
    this.dispatch({ type: 'rotate', reason: 'requested', kind: 'rotation' }, now);
  }

  /** Closes the session; held messages come back as one `unacknowledged` output. */
  close(now: number, reason = 'closed'): void {
    this.dispatch({ type: 'close', reason }, now);
  }

  /**
   * Queues or sends `data` and returns its sequence number. Throws `ERR_L2_BAD_INPUT` for a non-byte
   * value, `ERR_L2_CLOSED` after close, `ERR_L2_LIMIT` when `queueLimit` messages are already held.
   */
  send(data: Uint8Array, now: number): number {
    if (!(data instanceof Uint8Array)) throw new L2Error('ERR_L2_BAD_INPUT', 'send(data): data must be a Uint8Array');
    const policy = SEND_POLICY[this.snap.state];
    if (policy === 'closed') throw new L2Error('ERR_L2_CLOSED', `session ${this.snap.sessionId} is closed`);
    return this.data.send(data, policy === 'transmit', now);
  }

  /** The exportable, non-secret session state; throws `ERR_L2_INVALID_STATE` before keys exist. */
  export(): StoredSession {
    const { sessionId, peerDid, initiator, keyEpoch, kemAt, expiresAt } = this.snap;
    if (keyEpoch === 0 || kemAt === null || expiresAt === null) {
      throw new L2Error('ERR_L2_INVALID_STATE', `session ${sessionId} has no keys to export (state '${this.snap.state}')`);
    }
    return { sessionId, peerDid, initiator, keyEpoch, kemAt, expiresAt };
  }

  /** The crypto port finished a handshake. */
  handleHandshakeResult(result: HandshakeResult, now: number): void {
    const event: SessionEvent = result.ok
      ? { type: 'handshake_succeeded', keyEpoch: result.keyEpoch }
      : { type: 'handshake_failed', reason: result.reason };
    this.dispatch(event, now);
  }

  /**
   * The crypto port received the peer's first handshake message. Depending on our state that opens,
   * re-keys or resumes the session; throws `ERR_L2_QUARANTINED` while the peer is quarantined.
   */
  handlePeerHello(kind: HandshakeKind, now: number): void {
    const s = this.snap;
    switch (s.state) {
      case 'idle':
        if (kind === 'rotation') {
          throw new L2Error('ERR_L2_INVALID_STATE', 'peer asked to rotate the keys of a session never established');
        }
        return this.dispatch({ type: 'peer_hello', kind }, now);
      case 'degraded':
        this.dispatch({ type: 'link_restored' }, now);
        return this.dispatch({ type: 'rotate', reason: 'peer_requested', kind }, now);
      case 'established':
        return this.dispatch({ type: 'rotate', reason: 'peer_requested', kind }, now);
      case 'suspended':
      case 'failed':
        if (s.quarantinedUntil !== null && now < s.quarantinedUntil) {
          throw new L2Error('ERR_L2_QUARANTINED', `peer ${s.peerDid} is quarantined until ${s.quarantinedUntil}`);
        }
        // A peer rotating a session we lost runs a fresh KEM with us: for this side that is a full handshake.
        return this.dispatch({ type: 'retry', role: 'responder', kind: kind === 'resume' ? 'resume' : 'full' }, now);
      case 'handshake_initiated':
      case 'rotating':
        return this.yieldOnCollision(kind, now);
      case 'handshake_received':
        return; // A resent hello for the handshake already being answered.
      case 'closed':
        throw new L2Error('ERR_L2_CLOSED', `session ${s.sessionId} is closed`);
    }
  }

  // Both sides started a handshake at once: the side that opened the session keeps its role, the other answers.
  private yieldOnCollision(kind: HandshakeKind, now: number): void {
    if (this.snap.initiator || this.snap.handshake?.role === 'responder') return;
    this.snap = { ...this.snap, handshake: { kind, role: 'responder' } };
    this.timers.set('handshake', now + this.snap.config.handshakeTimeout);
    this.outbox.push({ type: 'start_handshake', kind, role: 'responder' });
  }

  /** A session message from the peer, already decrypted and authenticated by the frame layer. */
  handleMessage(raw: unknown, now: number): void {
    let message: WireMessage;
    try {
      message = checkWireMessage(raw);
    } catch (err) {
      return this.warn('ERR_L2_BAD_INPUT', (err as Error).message);
    }
    // Without live keys nothing from the peer is trusted; it resends held data after re-establishing.
    if (!RECEIVES.has(this.snap.state)) return;
    if (!this.accept(message, now)) return;
    // Only a message that passed its checks proves the peer alive: a replay must not restore or extend anything.
    if (this.snap.state === 'degraded') this.dispatch({ type: 'link_restored' }, now);
    this.snap = { ...this.snap, expiresAt: now + this.snap.config.ttl };
    this.timers.set('heartbeat', now + quietInterval(this.snap));
  }

  // Handles one checked message; `false` when it was rejected (replayed, stale, duplicate or confused).
  private accept(message: WireMessage, now: number): boolean {
    switch (message.kind) {
      case 'heartbeat':
        return this.onPeerHeartbeat(message.counter);
      case 'heartbeat_ack':
        return this.onHeartbeatAnswer(message.counter);
      case 'data':
        return this.data.receive(message.seq, message.payload);
      case 'ack':
        if (this.data.acknowledge(message.seq, now)) return true;
        this.warn('ERR_L2_BAD_INPUT', `ack ${message.seq} ignored: beyond anything sent`);
        return false;
    }
  }

  /**
   * The transport reports the link down; after `linkLossTimeout` without it coming back the session
   * degrades. Only `established` needs this: every other state already has a timer bounding its wait.
   */
  handleLinkDown(now: number): void {
    if (this.snap.state === 'established' && this.timers.get('linkLoss') === undefined) {
      this.timers.set('linkLoss', now + this.snap.config.linkLossTimeout);
    }
  }

  /** The transport reports the link up: recover at once instead of waiting for a timer. */
  handleLinkUp(now: number): void {
    this.timers.cancel('linkLoss');
    const state = this.snap.state;
    if (state === 'degraded') this.dispatch({ type: 'link_restored' }, now);
    else if (state === 'suspended') this.retry(now);
    else if (state === 'established') this.data.flush(true, now);
  }

  /**
   * The driver moved the session to another transport (QUIC → μTCP). Invisible to the caller: no state
   * change; frames that may have died on the old path are resent on the new one.
   */
  handleTransportChanged(transport: TransportKind, now: number): void {
    const from = this.snap.transport;
    if (transport === from) return;
    this.snap = { ...this.snap, transport };
    this.outbox.push({ type: 'transport_changed', from, to: transport });
    this.timers.cancel('linkLoss');
    if (this.snap.state === 'degraded') this.dispatch({ type: 'link_restored' }, now);
    else if (SEND_POLICY[this.snap.state] === 'transmit') this.data.flush(true, now);
  }

  /** Fires every timer due at `now`, one at a time in priority order. */
  handleTimeout(now: number): void {
    for (let name = this.timers.takeExpired(now); name !== undefined; name = this.timers.takeExpired(now)) {
      this.fire(name, now);
    }
  }

  private fire(name: TimerName, now: number): void {
    const state = this.snap.state;
    switch (name) {
      case 'handshake':
        return this.dispatch({ type: 'handshake_timeout' }, now);
      case 'heartbeat':
        return this.sendHeartbeat(now);
      case 'heartbeatAnswer':
        return this.onHeartbeatMissed(now);
      case 'ack':
        // Outside transmit states the flush on re-establishing resends instead.
        return SEND_POLICY[state] === 'transmit' ? this.data.resend(now) : undefined;
      case 'linkLoss':
        return state === 'established' ? this.dispatch({ type: 'link_lost' }, now) : undefined;
      case 'rotation':
        // Not established (degraded, say): entering established re-arms it at the original due time.
        if (state === 'established') this.dispatch({ type: 'rotate', reason: 'rotation_due', kind: 'rotation' }, now);
        return;
      case 'degraded':
        return this.dispatch({ type: 'degraded_timeout' }, now);
      case 'retry':
        return this.retry(now);
    }
  }

  private retry(now: number): void {
    this.dispatch({ type: 'retry', role: 'initiator', kind: canResume(this.snap, now) ? 'resume' : 'full' }, now);
  }

  private sendHeartbeat(now: number): void {
    const counter = this.heartbeats.probe();
    this.transmit({ kind: 'heartbeat', counter });
    this.timers.set('heartbeatAnswer', now + this.snap.config.heartbeatTimeout);
    this.timers.set('heartbeat', now + quietInterval(this.snap));
  }

  private onHeartbeatMissed(now: number): void {
    const missed = this.heartbeats.expire();
    const { heartbeatTolerance, heartbeatTimeout } = this.snap.config;
    if (this.snap.state !== 'established') return; // Already degraded, or a rotation whose own timeout decides.
    if (missed >= heartbeatTolerance) return this.dispatch({ type: 'heartbeats_missed' }, now);
    const detail = `${missed} of ${heartbeatTolerance} missed`;
    this.warn('ERR_L2_TIMEOUT', `heartbeat not answered within ${heartbeatTimeout} ms (${detail})`);
  }

  private onPeerHeartbeat(counter: number): boolean {
    if (!this.heartbeats.acceptPeer(counter)) {
      this.warn('ERR_L2_REPLAY', `heartbeat ${counter} rejected: counter already seen`);
      return false;
    }
    this.transmit({ kind: 'heartbeat_ack', counter });
    return true;
  }

  private onHeartbeatAnswer(counter: number): boolean {
    if (this.heartbeats.answer(counter) === 'stale') {
      this.warn('ERR_L2_REPLAY', `heartbeat answer ${counter} ignored: not the outstanding probe`);
      return false;
    }
    this.timers.cancel('heartbeatAnswer');
    return true;
  }

  private transmit(message: WireMessage): void {
    this.outbox.push({ type: 'transmit', message });
  }

  private warn(code: L2ErrorCode, message: string): void {
    this.outbox.push({ type: 'warning', code, message: `session ${this.snap.sessionId}: ${message}` });
  }

  private dispatch(event: SessionEvent, now: number): void {
    const result = transition(this.snap, event, now);
    this.snap = result.snapshot;
    if (this.snap.state === 'established') this.heartbeats.clearMisses();
    for (const effect of result.effects) this.apply(effect, now);
    if (this.snap.state === 'failed' && this.snap.failures > this.snap.config.maxRetries) {
      this.dispatch({ type: 'close', reason: 'retries_exhausted' }, now);
    }
  }

  private apply(effect: TransitionEffect, now: number): void {
    switch (effect.type) {
      case 'set_timer':
        return this.timers.set(effect.timer, effect.at);
      case 'cancel_timer':
        return this.timers.cancel(effect.timer);
      case 'flush':
        return this.data.flush(effect.retransmit, now);
      case 'release_queue': {
        const messages = this.data.drain().map((m) => ({ seq: m.seq, data: m.payload }));
        if (messages.length > 0) this.outbox.push({ type: 'unacknowledged', messages, reason: effect.reason });
        return;
      }
      default:
        this.outbox.push(effect);
    }
  }
}
