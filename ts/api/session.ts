/**
 * The public `Session`: a `SessionMachine` (ts/session) driven on a clock, wired to the real crypto
 * (handshakes, frame cipher) and transport (a `Channel` over a QUIC or μTCP link). The machine decides;
 * this class only moves bytes and results between it and the Rust core.
 */
import { EventEmitter } from 'node:events';
import { L2Error, toL2Error } from '../errors';
import type { L2ErrorCode } from '../errors';
import { FrameStatus, FrameType, Handshake } from '../handshake';
import { Identity } from '../identity';
import { SessionDriver, SessionMachine } from '../session';
import type { AuditRecord, Clock, HandshakeKind, Role, SessionConfigInput, SessionNotice, SessionState, StoredSession, TransportKind, WireMessage } from '../session';
import { Channel, SEND_HIGH_WATER } from './channel';
import { Inbox } from './inbox';
import { SessionStream, checkStreamOptions } from './stream';
import type { SessionStreamOptions } from './stream';
import { bytes, finite, options as checkOptions } from '../validate';
import type { ReceiveOptions } from './inbox';
import type { InboundFrame } from './channel';
import { frameTypeOf, payloadLength, readPayload, writePayload } from './frames';

/** A `state` event: one transition of the session. */
export interface StateChange {
  readonly from: SessionState;
  readonly to: SessionState;
  readonly reason: string;
}

/** A `warning` event: something the session survived (a missed heartbeat, a replayed frame…). */
export interface SessionWarning {
  readonly code: string;
  readonly message: string;
}

/** Events of a `Session`. */
export interface SessionEvents {
  state: [StateChange];
  message: [Buffer];
  warning: [SessionWarning];
  /** The session ended abnormally (retries exhausted, peer gone); emitted only while someone listens. */
  error: [L2Error];
  /** At close: messages the peer never acknowledged (a sent one may still have arrived). */
  unacknowledged: [Buffer[]];
  close: [];
}

/** A fresh link with a completed full handshake, ready to carry the session. */
export interface Connected {
  readonly channel: Channel;
  readonly handshake: Handshake;
  /** Frames already opened (those after the bind frame in its message). */
  readonly frames: InboundFrame[];
  /** Transport messages that arrived with them, not opened yet. */
  readonly leftover: Buffer[];
}

/** What a session needs from its node. */
export interface SessionHost {
  readonly identity: Identity;
  readonly clock: Clock;
  /** Records a transition of `session` (audit sink, then the node's observers). */
  audit(record: AuditRecord, session: Session): void;
  quarantine(peerDid: string, until: number): void;
  /**
   * Dials the peer and runs a handshake (initiator side only): a resumption when asked and possible,
   * else a full one. `signal` (the session closing) drops the link while the handshake is under way.
   */
  connect(session: Session, kind: 'full' | 'resume', signal: AbortSignal): Promise<Connected>;
  /** Responder side: keeps the ticket of a completed handshake so the peer can resume later. */
  issueTicket(handshake: Handshake, ttl: number): void;
  closed(session: Session): void;
}

/** Options of a session. */
export interface SessionInit {
  readonly id: string;
  readonly peerDid: string;
  readonly peerKey: Buffer;
  readonly initiator: boolean;
  readonly transport: TransportKind;
  readonly config?: SessionConfigInput;
  /** An exported session to resume. */
  readonly stored?: StoredSession;
}

/** An exported session: its non-secret state and its resumption ticket sealed under the caller's key. */
export interface ExportedSession extends StoredSession {
  /** Base64 of the sealed ticket (ChaCha20-Poly1305 under the key given to `export`). */
  readonly ticket: string;
}

/** What `send()` returns when it has nothing to wait for. */
const SETTLED: Promise<void> = Promise.resolve();

/** Why a failed handshake failed, for the machine. */
function failureReason(err: unknown): 'authentication_failed' | 'protocol_error' {
  return toL2Error(err).code === 'ERR_L2_AUTH_FAILED' ? 'authentication_failed' : 'protocol_error';
}

/**
 * Largest message `send()` takes: one data frame (8-byte sequence number, 32 bytes of frame
 * overhead) must fit one transport message (1 MiB).
 */
export const MAX_MESSAGE_LEN = 1024 * 1024 - 64;

/** Why a sealed frame was dropped: forged or corrupted, replayed, of an epoch no longer (or not yet) held, past its key's limit. */
export type FrameDropReason = 'auth_failed' | 'replay' | 'unknown_epoch' | 'limit';

const FRAME_DROP_REASONS: Readonly<Record<number, FrameDropReason>> = {
  [FrameStatus.AuthFailed]: 'auth_failed',
  [FrameStatus.Replay]: 'replay',
  [FrameStatus.UnknownEpoch]: 'unknown_epoch',
  [FrameStatus.Limit]: 'limit',
};

/** Traffic of a session over every link it has used, and its current path. */
export interface SessionStats {
  /** The transport of the current link, or null while the session has none. */
  readonly transport: TransportKind | null;
  /** Transport payload bytes (sealed frames). */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Transport messages (μTCP frames or QUIC messages), each a batch of sealed frames. */
  readonly messagesSent: number;
  readonly messagesReceived: number;
  /** Sealed frames that failed to open and were dropped, by reason. */
  readonly framesRejected: Readonly<Record<FrameDropReason, number>>;
  /** QUIC's smoothed RTT estimate of the current link, ms (μTCP has none). */
  readonly rttMs?: number;
}

/** Options of `session.close()`. */
export interface CloseOptions {
  /** Makes the close immediate: the link is dropped at once and `close()` rejects with `ERR_L2_ABORTED`. */
  signal?: AbortSignal;
}

/** The error a caller waiting on a session sees when it fails or closes instead. */
function failureCode(record: AuditRecord): L2ErrorCode {
  if (record.from === 'rotating' && record.to === 'failed') return 'ERR_L2_ROTATION';
  if (record.reason === 'timeout') return 'ERR_L2_TIMEOUT';
  if (record.reason === 'authentication_failed') return 'ERR_L2_AUTH_FAILED';
  return 'ERR_L2_CLOSED';
}

/** An authenticated, encrypted session with one peer. */
export class Session extends EventEmitter<SessionEvents> {
  readonly id: string;
  readonly peerDid: string;
  readonly initiator: boolean;
  readonly #host: SessionHost;
  readonly #peerKey: Buffer;
  readonly #machine: SessionMachine;
  readonly #driver: SessionDriver;
  #channel: Channel | null = null;
  #lastHandshake: Handshake | null = null;
  #wasEstablished = false;
  #roomWaiters: (() => void)[] = [];
  /** Settles once the link is released after close. */
  #released: Promise<void> = Promise.resolve();
  /** The ack not yet sealed: later acks (cumulative) update it instead of adding frames. */
  #ackSlot: { channel: Channel; seq: number; open: boolean } | null = null;
  #epochs = 0;
  /** Counters of the links this session has left behind (stats() adds the current one). */
  readonly #traffic = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0 };
  readonly #rejected: Record<FrameDropReason, number> = { auth_failed: 0, replay: 0, unknown_epoch: 0, limit: 0 };
  #rotation: { handshake: Handshake; role: Role } | null = null;
  #peerRotationHello: Buffer | null = null;
  #reconnecting = false;
  /** Dials under way, each aborted if the session closes first (which cancels its handshake). */
  readonly #dials = new Set<AbortController>();
  /** The channel being released by close (an aborted close drops it). */
  #releasing: Channel | null = null;
  #stream: SessionStream | null = null;
  readonly #inbox = new Inbox();
  readonly #stateWaiters = new Set<{ want: (s: SessionState) => boolean; resolve(): void; reject(e: L2Error): void }>();

  /** @internal Sessions come from `Node.establish()` and the node's `session` event. */
  constructor(host: SessionHost, init: SessionInit) {
    if (typeof host?.connect !== 'function' || typeof host.clock?.schedule !== 'function' || typeof init?.id !== 'string' || typeof init.peerDid !== 'string' || !(init.peerKey instanceof Uint8Array) || (init.transport !== 'quic' && init.transport !== 'tcp')) {
      throw new L2Error('ERR_L2_BAD_INPUT', 'sessions come from node.establish(), node.resume() and the session event of a node');
    }
    super();
    this.id = init.id;
    this.peerDid = init.peerDid;
    this.initiator = init.initiator;
    this.#host = host;
    this.#peerKey = init.peerKey;
    this.#machine = new SessionMachine({
      sessionId: init.id,
      peerDid: init.peerDid,
      initiator: init.initiator,
      transport: init.transport,
      config: init.config,
      stored: init.stored,
    });
    this.#epochs = init.stored?.keyEpoch ?? 0;
    this.#driver = new SessionDriver(this.#machine, host.clock, {
      transmit: (m) => this.#transmit(m),
      startHandshake: (kind, role) => this.#startHandshake(kind, role),
      notify: (n) => this.#notify(n),
    });
  }

  /** Current state (SPEC-018). */
  get state(): SessionState {
    return this.#machine.state;
  }

  /** Key epoch: 1 after the first handshake, +1 per rotation or re-keyed reconnection. */
  get keyEpoch(): number {
    return this.#machine.snapshot.keyEpoch;
  }

  /** The transport carrying the session now. */
  get transport(): TransportKind {
    return this.#machine.snapshot.transport;
  }

  /** True when the last handshake of this session was a resumption (no KEM). */
  get resumed(): boolean {
    return this.#lastHandshake?.isResumption ?? false;
  }

  /**
   * Exports the session for a later `node.resume()`: its non-secret state plus the resumption ticket
   * sealed under `key` (32 bytes, yours to keep). Only the dialing side can resume.
   */
  export(key: Uint8Array): ExportedSession {
    if (!this.initiator) throw new L2Error('ERR_L2_INVALID_STATE', 'only the side that dialed can resume a session');
    const handshake = this.#lastHandshake;
    if (!handshake) throw new L2Error('ERR_L2_INVALID_STATE', `session ${this.id} has no keys to export`);
    return { ...this.#machine.export(), ticket: handshake.exportTicket(key).toString('base64') };
  }

  /** Messages queued or sent and not yet acknowledged by the peer. */
  get pending(): number {
    return this.#machine.held;
  }

  /** @internal True once the session was established: a new link then reconnects it rather than opening it. */
  get wasEstablished(): boolean {
    return this.#wasEstablished;
  }

  /** The link under the session (tests and metrics). */
  get link(): Channel['link'] | null {
    return this.#channel?.link ?? null;
  }

  /** Traffic counters over the session's whole life, and the current link's RTT. */
  stats(): SessionStats {
    const t = this.#traffic;
    const link = this.#channel?.link.stats();
    return {
      transport: this.#channel?.link.transport ?? null,
      bytesSent: t.bytesSent + (link?.bytesSent ?? 0),
      bytesReceived: t.bytesReceived + (link?.bytesReceived ?? 0),
      messagesSent: t.messagesSent + (link?.messagesSent ?? 0),
      messagesReceived: t.messagesReceived + (link?.messagesReceived ?? 0),
      framesRejected: { ...this.#rejected },
      rttMs: link?.rttMs ?? undefined,
    };
  }

  // Folds the counters of a link the session stops using into its totals.
  #retire(channel: Channel | null): void {
    if (!channel) return;
    const s = channel.link.stats();
    this.#traffic.bytesSent += s.bytesSent;
    this.#traffic.bytesReceived += s.bytesReceived;
    this.#traffic.messagesSent += s.messagesSent;
    this.#traffic.messagesReceived += s.messagesReceived;
  }

  /**
   * Sends `data` (at most `MAX_MESSAGE_LEN` bytes; delivered exactly once, in order). Queued while
   * the session is degraded or suspended; throws `ERR_L2_LIMIT` when the queue is full, `ERR_L2_CLOSED`
   * after close.
   */
  send(data: Uint8Array): Promise<void> {
    // Not async: a send with room (the common case) returns a settled promise without creating one.
    try {
      bytes('send(data): data', data);
      if (data.length > MAX_MESSAGE_LEN) {
        throw new L2Error('ERR_L2_BAD_INPUT', `send(data): ${data.length} bytes exceed the ${MAX_MESSAGE_LEN}-byte message limit; split it`);
      }
      if (!this.#windowFull()) return this.#queue(data);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queueWhenRoom(data);
  }

  // A full window on a live session (established, or rotating its keys) means the peer has not
  // acknowledged yet: wait for room. Degraded or suspended, the bounded queue applies and a full one
  // throws ERR_L2_LIMIT.
  #windowFull(): boolean {
    return (this.state === 'established' || this.state === 'rotating') && this.#machine.held >= this.#machine.config.queueLimit;
  }

  async #queueWhenRoom(data: Uint8Array): Promise<void> {
    while (this.#windowFull()) await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    return this.#queue(data);
  }

  #queue(data: Uint8Array): Promise<void> {
    this.#driver.input((m, now) => {
      m.send(data, now);
      // The frame counter reached rekeyAfter (SPEC.md §4.3): rotate before the hard limit.
      if (m.state === 'established' && this.#channel?.rekeyDue) m.rotate(now);
    });
    // Resolves at once while little is buffered, so bursts leave as batches; waits for the link beyond that.
    const channel = this.#channel;
    return channel && channel.backlog >= SEND_HIGH_WATER ? channel.flush() : SETTLED;
  }

  /** The next message; rejects with `ERR_L2_TIMEOUT` after `timeout` ms, `ERR_L2_ABORTED` on `signal`, `ERR_L2_CLOSED` once closed and drained. */
  receive(options?: ReceiveOptions): Promise<Buffer> {
    try {
      return this.#inbox.take(options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Yields messages until the session closes. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      try {
        yield await this.receive();
      } catch (err) {
        if (toL2Error(err).code === 'ERR_L2_CLOSED') return;
        throw err;
      }
    }
  }

  /** Rotates the keys now; resolves when the session is established under the new epoch. */
  async rotate(): Promise<void> {
    const before = this.keyEpoch;
    this.#driver.input((m, now) => m.rotate(now)); // throws (no waiter left behind) unless established
    await this.#until((s) => s === 'established' && this.keyEpoch > before);
  }

  /**
   * Closes the session: tells the peer, flushes what was sent, releases the link (which waits while
   * the peer's flow control holds data back). `signal` makes it immediate: the session closes either
   * way, but on abort the link is dropped at once and `close()` rejects with `ERR_L2_ABORTED`.
   */
  async close(options?: CloseOptions): Promise<void> {
    const signal = checkOptions<CloseOptions>('close options', options, ['signal'])?.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new L2Error('ERR_L2_BAD_INPUT', 'signal must be an AbortSignal');
    if (this.state !== 'closed') {
      this.#channel?.enqueue(FrameType.Close, 0, () => undefined);
      this.#driver.input((m, now) => m.close(now, 'closed'));
    }
    if (!signal) return this.#released;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#releasing?.abort();
        reject(new L2Error('ERR_L2_ABORTED', `close of session ${this.id} aborted: link dropped`));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void this.#released.then(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /**
   * A `Duplex` over this session's messages (ts/api/stream.ts): a byte stream with backpressure both
   * ways; `end()` sends an end marker (a half close) and the session stays open until `close()`. One
   * stream at a time; it reads through `receive()`, so it gets nothing while `message` listeners take
   * the messages. Throws `ERR_L2_INVALID_STATE` while another stream of the session is open.
   */
  stream(options?: SessionStreamOptions): SessionStream {
    const o = checkStreamOptions(options);
    if (this.#stream && !this.#stream.destroyed) throw new L2Error('ERR_L2_INVALID_STATE', `session ${this.id} already has an open stream`);
    this.#stream = new SessionStream(this, MAX_MESSAGE_LEN, o);
    return this.#stream;
  }

  /** @internal Resolves once the peer acknowledged every message sent so far; `ERR_L2_CLOSED` if the session closes first. */
  async acknowledged(): Promise<void> {
    for (;;) {
      // Closed first: closing hands held messages back, which would look like "all acknowledged".
      if (this.state === 'closed') throw new L2Error('ERR_L2_CLOSED', `session ${this.id} closed before the peer acknowledged everything`);
      if (this.#machine.held === 0) return;
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }


  /** Fires the session's timers due at `now` (`node.tick()`). */
  tick(now: number): void {
    finite('now', now);
    this.#driver.input((m) => m.handleTimeout(now));
  }

  /** @internal Resolves when `want(state)` holds; rejects if the session closes first. */
  #until(want: (s: SessionState) => boolean): Promise<void> {
    if (want(this.state)) return Promise.resolve();
    return new Promise((resolve, reject) => this.#stateWaiters.add({ want, resolve, reject }));
  }

  /** @internal Opens the session as initiator; resolves when established, rejects with the failure. */
  async open(): Promise<void> {
    this.#driver.input((m, now) => m.establish(now));
    await this.#until((s) => s === 'established');
  }

  /**
   * @internal A full handshake completed on a new link: the first one of a session we answered, or
   * the peer reconnecting (say over μTCP after QUIC died).
   */
  acceptConnection(connected: Connected, transport: TransportKind): void {
    if (!(connected?.channel instanceof Channel) || !(connected.handshake instanceof Handshake) || (transport !== 'quic' && transport !== 'tcp')) {
      throw new L2Error('ERR_L2_BAD_INPUT', 'acceptConnection takes a link the node connected');
    }
    if (!this.initiator) this.#host.issueTicket(connected.handshake, this.#machine.config.ttl);
    this.#driver.input((m, now) => {
      switch (m.state) {
        case 'idle':
        case 'handshake_initiated':
        case 'handshake_received':
        case 'suspended':
        case 'failed':
          m.handlePeerHello(connected.handshake.isResumption ? 'resume' : 'full', now);
          m.handleTransportChanged(transport, now);
          this.#attach(connected);
          return m.handleHandshakeResult({ ok: true, keyEpoch: ++this.#epochs }, now);
        case 'rotating':
          // The rotation's messages died with the old link; this handshake's fresh keys complete it.
          this.#attach(connected);
          m.handleHandshakeResult({ ok: true, keyEpoch: ++this.#epochs }, now);
          return m.handleTransportChanged(transport, now);
        default:
          this.#attach(connected);
          m.handleTransportChanged(transport, now);
          return m.handleLinkUp(now);
      }
    });
  }

  #attach(connected: Connected): void {
    const old = this.#channel;
    this.#channel = connected.channel;
    this.#lastHandshake = connected.handshake;
    this.#rotation = null;
    this.#retire(old);
    old?.abort();
    const channel = connected.channel;
    const onFrames = (frames: InboundFrame[]) => channel === this.#channel && this.#onFrames(frames);
    const onRejected = (statuses: FrameStatus[]) => {
      for (const s of statuses) this.#rejected[FRAME_DROP_REASONS[s]]++;
      this.#emitSafe('warning', { code: 'ERR_L2_AUTH_FAILED', message: `session ${this.id}: ${statuses.length} frames failed to open (forged, replayed or stale) and were dropped` });
    };
    void channel.readLoop(connected.frames, connected.leftover, onFrames, onRejected, () => this.#inboxRoom()).then(() => this.#onLinkEnded(channel));
  }

  #transmit(message: WireMessage): void {
    // Without a channel the message is dropped: data stays held in the machine and is resent.
    const channel = this.#channel;
    if (!channel) return;
    if (message.kind === 'ack') return this.#ack(channel, message.seq);
    channel.enqueue(frameTypeOf(message), payloadLength(message), (out, at) => writePayload(message, out, at));
  }

  #ack(channel: Channel, seq: number): void {
    const slot = this.#ackSlot;
    if (slot && slot.open && slot.channel === channel) {
      slot.seq = Math.max(slot.seq, seq);
      return;
    }
    const next = { channel, seq, open: true };
    this.#ackSlot = next;
    channel.enqueue(FrameType.Ack, payloadLength({ kind: 'ack', seq }), (out, at) => {
      next.open = false;
      writePayload({ kind: 'ack', seq: next.seq }, out, at);
    });
  }

  #wakeSenders(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
  }

  #startHandshake(kind: HandshakeKind, role: Role): void {
    if (kind === 'rotation') return this.#startRotation(role);
    // A full handshake or a resumption (SPEC.md §3.5) happens on a new link.
    // Answered by the node's accept path (acceptConnection). A session we did not dial cannot dial
    // either: it waits for the peer to come back. The reconnect loop, when running, dials already.
    if (role === 'responder' || !this.initiator || this.#reconnecting) return;
    this.#dial(kind).then(
      (connected) =>
        this.#driver.input((m, now) => {
          if (m.state === 'closed') return release(connected.channel);
          if (m.state !== 'handshake_initiated') return connected.channel.abort();
          // The dial may have fallen back from QUIC to μTCP.
          m.handleTransportChanged(connected.channel.link.transport, now);
          this.#attach(connected);
          m.handleHandshakeResult({ ok: true, keyEpoch: ++this.#epochs }, now);
        }),
      (err) => {
        const e = toL2Error(err);
        // Transport failures are left to the machine's handshake timer (reason `timeout`).
        if (e.code !== 'ERR_L2_AUTH_FAILED' && e.code !== 'ERR_L2_BAD_INPUT' && e.code !== 'ERR_L2_UNSUPPORTED') return;
        this.#driver.input((m, now) => {
          if (m.state === 'handshake_initiated') m.handleHandshakeResult({ ok: false, reason: failureReason(e) }, now);
        });
      },
    );
  }

  #startRotation(role: Role): void {
    const channel = this.#channel;
    if (!channel) return; // The machine's handshake timer will fail the rotation.
    const options = { channelBinding: channel.link.channelBinding ?? undefined };
    try {
      if (role === 'initiator') {
        const handshake = Handshake.initiator(this.#host.identity, { ...options, expectedPeer: this.#peerKey });
        const hello = handshake.start();
        this.#rotation = { handshake, role };
        channel.enqueue(FrameType.Rotate, hello.length, (out, at) => out.set(hello, at));
      } else {
        const hello = this.#peerRotationHello;
        this.#peerRotationHello = null;
        if (!hello) return;
        const handshake = Handshake.responder(this.#host.identity, options);
        const reply = handshake.handle(hello)!;
        this.#rotation = { handshake, role };
        channel.enqueue(FrameType.Rotate, reply.length, (out, at) => out.set(reply, at));
      }
    } catch (err) {
      this.#rotation = null;
      this.#driver.input((m, now) => m.handleHandshakeResult({ ok: false, reason: failureReason(err) }, now));
    }
  }

  #onFrames(frames: InboundFrame[]): void {
    this.#driver.input((m, now) => this.#handleFrames(m, frames, now));
    if (this.#roomWaiters.length > 0) this.#wakeSenders();
  }

  #handleFrames(m: SessionMachine, frames: InboundFrame[], now: number): void {
    for (const f of frames) {
      if (m.state === 'closed') return;
      if (f.type === FrameType.Rotate) this.#onRotationMessage(m, f.payload, now);
      else if (f.type === FrameType.Close) m.close(now, 'peer_closed');
      else {
        const message = readPayload(f.type, f.payload);
        if (message) m.handleMessage(message, now);
      }
    }
  }

  // Rotation messages travel in Rotate frames under the current keys; their first byte is the handshake message type.
  #onRotationMessage(m: SessionMachine, payload: Buffer, now: number): void {
    const channel = this.#channel!;
    const rotation = this.#rotation;
    try {
      if (payload[0] === 1) {
        this.#peerRotationHello = Buffer.from(payload);
        m.handlePeerHello('rotation', now);
      } else if (payload[0] === 2 && rotation?.role === 'initiator' && m.state === 'rotating') {
        const confirm = rotation.handshake.handle(payload)!;
        channel.enqueue(FrameType.Rotate, confirm.length, (out, at) => out.set(confirm, at));
        this.#finishRotation(m, channel, rotation.handshake, now);
      } else if (payload[0] === 3 && rotation?.role === 'responder' && m.state === 'rotating') {
        rotation.handshake.handle(payload);
        // The initiator pinned our key; we pin theirs: the session's keys stay bound to its peer.
        if (!rotation.handshake.peerPublicKey?.equals(this.#peerKey)) {
          throw new L2Error('ERR_L2_AUTH_FAILED', `session ${this.id}: rotation signed by another identity`);
        }
        this.#finishRotation(m, channel, rotation.handshake, now);
      }
    } catch (err) {
      const e = toL2Error(err);
      if (e.code === 'ERR_L2_INVALID_STATE' || e.code === 'ERR_L2_QUARANTINED') return this.#warn(e);
      this.#rotation = null;
      if (m.state === 'rotating') m.handleHandshakeResult({ ok: false, reason: failureReason(e) }, now);
    }
  }

  #finishRotation(m: SessionMachine, channel: Channel, handshake: Handshake, now: number): void {
    this.#rotation = null;
    this.#lastHandshake = handshake;
    channel.install(handshake, 2 * m.config.handshakeTimeout);
    if (!this.initiator) this.#host.issueTicket(handshake, m.config.ttl);
    m.handleHandshakeResult({ ok: true, keyEpoch: ++this.#epochs }, now);
  }

  #onLinkEnded(channel: Channel): void {
    if (channel !== this.#channel || this.state === 'closed') return;
    this.#retire(channel);
    this.#channel = null;
    this.#driver.input((m, now) => m.handleLinkDown(now));
    if (this.initiator) void this.#reconnect();
  }

  // The dialing side brings the link back (QUIC first, then μTCP); the machine resends what was unacknowledged.
  async #reconnect(): Promise<void> {
    if (this.#reconnecting) return;
    this.#reconnecting = true;
    try {
      for (let delay = 250; !this.#isClosed() && this.#channel === null; delay = Math.min(delay * 2, 8000)) {
        try {
          const connected = await this.#dial('full');
          if (this.#isClosed()) return release(connected.channel);
          if (this.#channel !== null) {
            connected.channel.abort();
            return;
          }
          try {
            this.acceptConnection(connected, connected.channel.link.transport);
          } catch (err) {
            connected.channel.abort();
            throw err;
          }
          return;
        } catch {
          await new Promise((r) => setTimeout(r, delay).unref());
        }
      }
    } finally {
      this.#reconnecting = false;
    }
  }

  // Per dial rather than per session: a session that closes with no dial under way aborts nothing.
  async #dial(kind: 'full' | 'resume'): Promise<Connected> {
    const dial = new AbortController();
    this.#dials.add(dial);
    try {
      return await this.#host.connect(this, kind, dial.signal);
    } finally {
      this.#dials.delete(dial);
    }
  }

  #isClosed(): boolean {
    return this.#machine.state === 'closed';
  }

  #notify(n: SessionNotice): void {
    switch (n.type) {
      case 'deliver':
        return this.#deliver(Buffer.from(n.data));
      case 'audit':
        return this.#onTransition(n.record);
      case 'warning':
        return this.#warn(new L2Error(n.code, n.message));
      case 'quarantine':
        return this.#host.quarantine(n.peerDid, n.until);
      case 'unacknowledged':
        return void this.emit('unacknowledged', n.messages.map((m) => Buffer.from(m.data)));
      case 'transport_changed':
        return;
    }
  }

  // With `message` listeners the message is theirs; otherwise it waits in the inbox for receive().
  #deliver(data: Buffer): void {
    if (this.listenerCount('message') > 0) this.#emitSafe('message', data);
    else this.#inbox.push(data);
  }

  #warn(e: L2Error): void {
    this.#emitSafe('warning', { code: e.code, message: e.message });
  }

  /**
   * Emits without letting a listener's exception escape into the driver (where it would leave the
   * machine's outputs half drained, or crash the process from a timer); it becomes a warning.
   */
  #emitSafe<K extends keyof SessionEvents>(event: K, ...args: SessionEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: SessionEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      if (event === 'warning') return;
      this.#emitSafe('warning', { code: 'ERR_L2_INTERNAL', message: `a '${String(event)}' listener threw: ${String(err)}` });
    }
  }

  /** Resolves when the inbox has room again; undefined while it has (read side backpressure). */
  #inboxRoom(): Promise<void> | undefined {
    return this.#inbox.size >= this.#machine.config.queueLimit ? this.#inbox.drained(this.#machine.config.queueLimit / 2) : undefined;
  }

  #onTransition(record: AuditRecord): void {
    if (record.from === 'rotating') this.#rotation = null;
    if (record.to === 'established') this.#wasEstablished = true;
    this.#host.audit(record, this);
    this.#wakeSenders();
    this.#emitSafe('state', { from: record.from, to: record.to, reason: record.reason });
    for (const w of [...this.#stateWaiters]) {
      if (w.want(record.to)) {
        this.#stateWaiters.delete(w);
        w.resolve();
      } else if (record.to === 'failed' || record.to === 'closed') {
        this.#stateWaiters.delete(w);
        w.reject(new L2Error(failureCode(record), `session ${this.id}: ${record.from} → ${record.to} (${record.reason})`));
      }
    }
    if (record.to === 'closed') {
      // Closed here: the stream ends quietly, as a destroyed socket does; any other end is its error.
      if (record.reason === 'closed') this.#stream?.destroy();
      if (record.reason !== 'closed' && record.reason !== 'peer_closed' && this.listenerCount('error') > 0) {
        this.#emitSafe('error', new L2Error('ERR_L2_CLOSED', `session ${this.id} ended: ${record.reason}`));
      }
      this.#onClosed();
    }
  }

  #onClosed(): void {
    const channel = this.#channel;
    this.#retire(channel);
    this.#channel = null;
    this.#releasing = channel;
    for (const dial of this.#dials) dial.abort();
    this.#released = channel?.close() ?? Promise.resolve();
    this.#inbox.close(() => new L2Error('ERR_L2_CLOSED', `session ${this.id} is closed`));
    this.#host.closed(this);
    this.#emitSafe('close');
  }
}

/**
 * A link whose handshake completed after its session closed: the peer bound a session to it, so it
 * gets a close frame (its session ends too) before the link is released, rather than a bare drop.
 */
function release(channel: Channel): void {
  channel.enqueue(FrameType.Close, 0, () => undefined);
  void channel.close();
}
