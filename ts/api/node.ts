/**
 * The public `Node`: listens on QUIC, μTCP and discovery, establishes sessions to peers named by
 * DIDs, accepts theirs, and keeps the node-wide state (quarantine, audit sink, session table).
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { L2Error, toL2Error } from '../errors';
import { FrameType, Handshake, TicketStore } from '../handshake';
import { Identity, didToPublicKey } from '../identity';
import { attachLogger, checkLogger } from '../logger';
import type { Logger } from '../logger';
import { systemClock } from '../session';
import type { AuditRecord, Clock, SessionConfigInput, TransportKind } from '../session';
import { parseConfig } from '../session';
import { ADMISSION_LIMITS, DialOptions, Link, TransportAddresses, TransportListenOptions, TransportNode } from '../transport';
import type { HandshakeOutcome } from '../transport';
import { address, bytes, finite, options as checkOptions, optionalInt } from '../validate';
import { Channel, nextMessages } from './channel';
import { Connected, ExportedSession, Session, SessionHost } from './session';

/** Addresses of a peer, `ip:port`, as in `node.addresses`. */
export interface PeerAddresses {
  quic?: string;
  tcp?: string;
}

/** What a resolver knows about a DID. */
export interface ResolvedPeer {
  /** 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  addresses?: PeerAddresses;
}

/** Turns DIDs of other methods (did:morpheus, did:libertaria, …) into keys and addresses. */
export interface Resolver {
  /** The peer's key and addresses, or undefined when the DID is unknown. */
  resolve(did: string): ResolvedPeer | undefined | Promise<ResolvedPeer | undefined>;
}

/** Checks addresses given by a caller or a resolver (`ip:port` strings). */
function checkAddresses(v: unknown): PeerAddresses | undefined {
  // `discovery` is allowed so `node.addresses` can be passed as it is.
  const a = checkOptions<PeerAddresses & { discovery?: string }>('addresses', v, ['quic', 'tcp', 'discovery']);
  if (!a) return undefined;
  return {
    quic: a.quic === undefined ? undefined : address('addresses.quic', a.quic),
    tcp: a.tcp === undefined ? undefined : address('addresses.tcp', a.tcp),
  };
}

/** Checks what a resolver says about a peer: a 32-byte key and well-formed addresses (other fields are ignored). */
function checkPeer(peer: unknown): ResolvedPeer {
  const p = (typeof peer === 'object' && peer !== null ? peer : {}) as Partial<ResolvedPeer>;
  const publicKey = bytes('publicKey', p.publicKey);
  if (publicKey.length !== 32) throw new L2Error('ERR_L2_BAD_INPUT', 'a resolved peer needs a 32-byte publicKey');
  return { publicKey, addresses: checkAddresses(p.addresses) };
}

/** A resolver backed by a map, for tests and static configurations. */
export class MemoryResolver implements Resolver {
  readonly #peers = new Map<string, ResolvedPeer>();

  /** Records what `did` resolves to. */
  set(did: string, peer: ResolvedPeer): this {
    if (typeof did !== 'string') throw new L2Error('ERR_L2_BAD_INPUT', 'did must be a string');
    this.#peers.set(did, checkPeer(peer));
    return this;
  }

  /** The peer added under `did`, if any. */
  resolve(did: string): ResolvedPeer | undefined {
    return this.#peers.get(did);
  }
}

/** Where audit records go: a function, or the path of a JSON-lines file. */
export type AuditSink = ((record: AuditRecord) => void) | string;

/** Options of `Node.listen`. */
export interface NodeOptions {
  identity: Identity;
  /** IP address to bind (default 127.0.0.1). */
  host?: string;
  /** Ports; 0 or omitted picks a free one. */
  quicPort?: number;
  tcpPort?: number;
  discoveryPort?: number;
  resolver?: Resolver;
  /** Session configuration for every session of this node (per-session overrides in `establish`). */
  config?: SessionConfigInput;
  audit?: AuditSink;
  /** Time source (tests inject a fake one). */
  clock?: Clock;
  /** QUIC idle timeout in ms: how fast a silent QUIC path is declared dead (default 30 000). */
  quicIdleTimeout?: number;
  /** A pino-compatible logger (`trace` … `fatal`, optional `child`); silent without one. */
  logger?: Logger;
  /** Resource limits against floods (SPEC.md §7); the defaults suit a busy relay. */
  limits?: NodeLimits;
}

/** Resource limits of a node; refusals are counted in `node.transport.stats()`. */
export interface NodeLimits extends Pick<TransportListenOptions, keyof typeof ADMISSION_LIMITS> {
  /** Open sessions, inbound and outbound (default 4096); beyond it `establish` and inbound sessions get `ERR_L2_LIMIT`. */
  maxSessions?: number;
}

/** Options of `node.establish`. */
export interface EstablishOptions {
  addresses?: PeerAddresses;
  transport?: 'auto' | TransportKind;
  config?: SessionConfigInput;
  /** How long QUIC may take before `'auto'` falls back to μTCP, ms (default 1000). */
  quicTimeout?: number;
  /** Aborts the attempt: rejects with `ERR_L2_ABORTED`, and no session is left on either node. */
  signal?: AbortSignal;
}

/** Options of `node.resume`: the key the session was exported with, and how to reach the peer. */
export interface ResumeOptions extends EstablishOptions {
  key: Uint8Array;
}

/** Events of a `Node`. */
export interface NodeEvents {
  /** A peer opened a session with us. */
  session: [Session];
  /** An inbound connection failed its handshake (bad peer, timeout, quarantine); the node keeps serving. */
  warning: [L2Error];
  /** Every state change of every session of this node (the audit record, and the session). */
  transition: [AuditRecord, Session];
  /** A peer was quarantined until `until` (clock ms) after an authentication failure. */
  quarantine: [peerDid: string, until: number];
  /** An inbound connection was dropped before it became a session (also reported as a `warning`). */
  refused: [L2Error];
}

const NODE_OPTIONS = ['identity', 'host', 'quicPort', 'tcpPort', 'discoveryPort', 'resolver', 'config', 'audit', 'clock', 'quicIdleTimeout', 'logger', 'limits'] as const;
const ESTABLISH_OPTIONS = ['addresses', 'transport', 'config', 'quicTimeout', 'signal'] as const;

/** Session ids are 8 random bytes, in hex. */
const SESSION_ID_LEN = 8;
/** Bind frame purposes (SPEC.md §6): a new session, or one that was established coming back. */
const BIND_OPEN = 0;
const BIND_RECONNECT = 1;

interface Route {
  readonly peerKey: Buffer;
  readonly dial: DialOptions;
  readonly handshakeTimeout: number;
  /** A sealed ticket and its key, when the session was resumed from an export. */
  readonly resume?: { readonly ticket: Buffer; readonly key: Uint8Array };
}

/** A peer-to-peer node. */
export class Node extends EventEmitter<NodeEvents> {
  readonly #transport: TransportNode;
  readonly #identity: Identity;
  readonly #resolver?: Resolver;
  readonly #config?: SessionConfigInput;
  readonly #clock: Clock;
  readonly #audit: (record: AuditRecord) => void;
  readonly #quarantined = new Map<string, number>();
  readonly #sessions = new Set<Session>();
  /** The sessions peers opened with us, by `inboundKey`: a reconnecting peer's link finds its session without a scan. */
  readonly #inbound = new Map<string, Session>();
  readonly #routes = new WeakMap<Session, Route>();
  readonly #tickets = new TicketStore();
  readonly #host: SessionHost;
  #closing = false;
  readonly #maxSessions: number;
  readonly #accepting: Promise<void>;

  private constructor(transport: TransportNode, o: NodeOptions) {
    if (!(transport instanceof TransportNode) || !(o?.identity instanceof Identity)) throw new L2Error('ERR_L2_BAD_INPUT', 'a Node comes from Node.listen()');
    super();
    this.#transport = transport;
    this.#identity = o.identity;
    this.#resolver = o.resolver;
    this.#config = o.config;
    this.#clock = o.clock ?? systemClock;
    this.#maxSessions = o.limits?.maxSessions ?? DEFAULT_MAX_SESSIONS;
    const sink = o.audit;
    this.#audit = typeof sink === 'string' ? (r) => fs.appendFileSync(sink, `${JSON.stringify(r)}\n`) : sink ?? (() => undefined);
    this.#host = {
      identity: o.identity,
      clock: this.#clock,
      audit: (record, session) => {
        try {
          this.#audit(record);
        } catch (err) {
          this.emit('warning', new L2Error('ERR_L2_INTERNAL', `audit sink failed: ${String(err)}`));
        }
        this.#tell('transition', record, session);
      },
      quarantine: (peerDid, until) => {
        this.#quarantined.set(peerDid, until);
        this.#tell('quarantine', peerDid, until);
      },
      connect: (session, kind, signal) => this.#connect(session, kind, signal),
      // Best effort: a full ticket store costs a later resumption (it falls back to a full handshake), never a session.
      issueTicket: (handshake, ttl) => {
        const now = this.#clock.now();
        try {
          this.#tickets.insert(handshake, now + ttl, now);
        } catch (err) {
          this.emit('warning', toL2Error(err));
        }
      },
      closed: (session) => {
        this.#sessions.delete(session);
        const key = inboundKey(session.peerDid, session.id);
        if (!session.initiator && this.#inbound.get(key) === session) this.#inbound.delete(key);
      },
    };
    if (o.logger) attachLogger(this, o.logger);
    this.#accepting = this.#acceptLoop();
  }

  // Observers (metrics, logger, callers) run inside a session's step: one that throws must not break it.
  #tell<K extends 'transition' | 'quarantine' | 'refused'>(event: K, ...args: NodeEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: NodeEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.emit('warning', new L2Error('ERR_L2_INTERNAL', `a '${event}' listener threw: ${String(err)}`));
    }
  }

  /** Binds QUIC, μTCP and discovery and starts accepting sessions. */
  static async listen(opts: NodeOptions): Promise<Node> {
    const o = checkOptions<NodeOptions>('Node.listen options', opts, NODE_OPTIONS);
    if (!o || !(o.identity instanceof Identity)) throw new L2Error('ERR_L2_BAD_INPUT', 'Node.listen needs an identity (Identity.generate())');
    if (o.config !== undefined) parseConfig(o.config);
    if (typeof o.audit !== 'undefined' && typeof o.audit !== 'function' && typeof o.audit !== 'string') {
      throw new L2Error('ERR_L2_BAD_INPUT', 'audit must be a function or a file path');
    }
    if (o.logger !== undefined) checkLogger(o.logger);
    if (o.resolver !== undefined && typeof (o.resolver as Partial<Resolver> | null)?.resolve !== 'function') {
      throw new L2Error('ERR_L2_BAD_INPUT', 'resolver must be an object with a resolve(did) method');
    }
    if (o.clock !== undefined && (typeof (o.clock as Partial<Clock> | null)?.now !== 'function' || typeof o.clock?.schedule !== 'function')) {
      throw new L2Error('ERR_L2_BAD_INPUT', 'clock must have now() and schedule(at, callback)');
    }
    const transport = await TransportNode.listen(o.identity, {
      host: o.host,
      quicPort: o.quicPort,
      tcpPort: o.tcpPort,
      discoveryPort: o.discoveryPort,
      quicIdleTimeoutMs: optionalInt('quicIdleTimeout', o.quicIdleTimeout, 300, 86_400_000),
      ...admissionLimits(o.limits),
    });
    return new Node(transport, o);
  }

  /** This node's DID. */
  get did(): string {
    return this.#identity.did;
  }

  /** Listening addresses (`ip:port`). */
  get addresses(): TransportAddresses {
    return this.#transport.addresses;
  }

  /** Open sessions. */
  get sessions(): readonly Session[] {
    return [...this.#sessions];
  }

  /** The underlying transport node (stats, discovery). */
  get transport(): TransportNode {
    return this.#transport;
  }

  /**
   * Opens a session to `peerDid`; resolves when it is `established`, rejects with `L2Error`
   * (`ERR_L2_TIMEOUT`, `ERR_L2_AUTH_FAILED`, `ERR_L2_QUARANTINED`, …) when it fails.
   */
  async establish(peerDid: string, opts?: EstablishOptions): Promise<Session> {
    const o = checkOptions<EstablishOptions>('establish options', opts, ESTABLISH_OPTIONS) ?? {};
    return this.#open(peerDid, o);
  }

  /**
   * Resumes an exported session (`session.export(key)`): one round trip, no new KEM, while the
   * ticket lives (one TTL); a full handshake otherwise. Resolves when established.
   */
  async resume(peerDid: string, stored: ExportedSession, opts: ResumeOptions): Promise<Session> {
    const o = checkOptions<ResumeOptions>('resume options', opts, [...ESTABLISH_OPTIONS, 'key']);
    if (!o || !(o.key instanceof Uint8Array) || bytes('key', o.key).length !== 32) throw new L2Error('ERR_L2_BAD_INPUT', 'resume needs the 32-byte key the session was exported with');
    // A sealed ticket is 93 bytes (SPEC.md §3.5): anything far larger is not one.
    if (typeof stored !== 'object' || stored === null || typeof stored.ticket !== 'string' || !/^[A-Za-z0-9+/]{1,1024}={0,2}$/.test(stored.ticket) || stored.peerDid !== peerDid || !/^[0-9a-f]{16}$/.test(String(stored.sessionId))) {
      throw new L2Error('ERR_L2_BAD_INPUT', `stored session is not an export of a session with ${String(peerDid)}`);
    }
    const { ticket, ...state } = stored;
    // The rest of the export feeds the session's clock arithmetic: numbers only, or nothing works.
    if (state.initiator !== true || !Number.isSafeInteger(state.keyEpoch) || state.keyEpoch < 1 || !Number.isFinite(state.kemAt) || !Number.isFinite(state.expiresAt)) {
      throw new L2Error('ERR_L2_BAD_INPUT', 'stored session has bad fields (initiator, keyEpoch, kemAt, expiresAt)');
    }
    return this.#open(peerDid, o, { state, ticket: Buffer.from(ticket, 'base64'), key: o.key });
  }

  async #open(peerDid: string, o: EstablishOptions, resume?: { state: Omit<ExportedSession, 'ticket'>; ticket: Buffer; key: Uint8Array }): Promise<Session> {
    const signal = o.signal;
    if (signal !== undefined && !(signal instanceof AbortSignal)) throw new L2Error('ERR_L2_BAD_INPUT', 'signal must be an AbortSignal');
    const aborted = () => new L2Error('ERR_L2_ABORTED', `establishing a session with ${peerDid} was aborted`);
    if (signal?.aborted) throw aborted();
    if (this.#closing) throw new L2Error('ERR_L2_CLOSED', 'the node is closed');
    if (typeof peerDid !== 'string') throw new L2Error('ERR_L2_BAD_INPUT', 'peerDid must be a DID string');
    this.#checkQuarantine(peerDid);
    if (this.#sessions.size >= this.#maxSessions) throw new L2Error('ERR_L2_LIMIT', `this node already holds its maximum of ${this.#maxSessions} sessions`);
    const peer = await this.#resolve(peerDid);
    if (signal?.aborted) throw aborted();
    const addresses = checkAddresses(o.addresses) ?? peer.addresses;
    optionalInt('quicTimeout', o.quicTimeout, 1, 86_400_000); // the transport's own bound
    if (o.config !== undefined) parseConfig(o.config);
    if (!addresses?.quic && !addresses?.tcp) throw new L2Error('ERR_L2_BAD_INPUT', `no address for ${peerDid}: pass addresses or a resolver that knows them`);
    const transport = o.transport ?? 'auto';
    if (!['auto', 'quic', 'tcp'].includes(transport)) throw new L2Error('ERR_L2_BAD_INPUT', `transport must be 'auto', 'quic' or 'tcp'`);
    const config = { ...this.#config, ...o.config };
    const session = new Session(this.#host, {
      id: resume?.state.sessionId ?? randomBytes(SESSION_ID_LEN).toString('hex'),
      peerDid,
      peerKey: Buffer.from(peer.publicKey),
      initiator: true,
      transport: transport === 'tcp' ? 'tcp' : 'quic',
      config,
      stored: resume?.state,
    });
    this.#routes.set(session, {
      peerKey: Buffer.from(peer.publicKey),
      dial: { quic: addresses.quic, tcp: addresses.tcp, transport, quicTimeoutMs: o.quicTimeout },
      handshakeTimeout: parseConfig(config).handshakeTimeout,
      resume: resume && { ticket: resume.ticket, key: resume.key },
    });
    this.#sessions.add(session);
    // Closing the session cancels its handshake (see #handshakeOn), so nothing is left behind.
    const onAbort = () => void session.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await session.open();
      if (signal?.aborted) throw aborted();
    } catch (err) {
      await session.close();
      throw signal?.aborted ? aborted() : toL2Error(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return session;
  }

  /** Fires every session timer due at `now`, for callers who drive time themselves. */
  tick(now?: number): void {
    const at = now === undefined ? this.#clock.now() : finite('now', now);
    for (const s of this.#sessions) s.tick(at);
  }

  /** Closes every session and the transports; afterwards nothing keeps the process alive. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await Promise.all([...this.#sessions].map((s) => s.close()));
    await this.#transport.close();
    await this.#accepting;
  }

  #checkQuarantine(peerDid: string): void {
    const until = this.#quarantined.get(peerDid);
    if (until !== undefined && this.#clock.now() < until) {
      throw new L2Error('ERR_L2_QUARANTINED', `${peerDid} is quarantined for ${Math.ceil((until - this.#clock.now()) / 1000)} s after an authentication failure`);
    }
  }

  async #resolve(did: string): Promise<ResolvedPeer> {
    let found: unknown;
    try {
      found = await this.#resolver?.resolve(did);
    } catch (err) {
      // The resolver is the caller's code: its failure is reported, not let through untyped.
      throw err instanceof L2Error ? err : new L2Error('ERR_L2_BAD_INPUT', `the resolver failed for ${did}: ${String(err)}`, { cause: err });
    }
    if (found) return checkPeer(found);
    if (did.startsWith('did:key:')) return { publicKey: didToPublicKey(did) };
    throw new L2Error('ERR_L2_BAD_INPUT', `cannot resolve ${did}: only did:key works without a resolver`);
  }


  // Initiator: dial (QUIC, then μTCP) and run the handshake on the new link. A resumption that fails
  // (the peer no longer holds the ticket and drops the link, or the key is wrong) falls back to a
  // full handshake.
  async #connect(session: Session, kind: 'full' | 'resume', signal: AbortSignal): Promise<Connected> {
    const route = this.#routes.get(session);
    if (!route) throw new L2Error('ERR_L2_INVALID_STATE', 'session has no route');
    if (kind === 'resume' && route.resume) {
      const { ticket, key } = route.resume;
      const resumed = await this.#handshakeOn(session, route, (cb) => Handshake.resumeInitiator(ticket, key, { channelBinding: cb }), signal).catch((err) => {
        if (toL2Error(err).code === 'ERR_L2_TIMEOUT' || signal.aborted) throw err; // a silent peer or a closed session: no second attempt
        return null;
      });
      if (resumed) return resumed;
    }
    return this.#handshakeOn(session, route, (cb) => Handshake.initiator(this.#identity, { expectedPeer: route.peerKey, channelBinding: cb }), signal);
  }

  // The handshake, then the bind frame naming the session (SPEC.md §6).
  // `signal` (the session closing) drops the link, but only before the bind frame: until then the peer
  // holds no session for it. After the bind the session closes it with a close frame instead.
  async #handshakeOn(session: Session, route: Route, start: (channelBinding: Buffer | undefined) => Handshake, signal: AbortSignal): Promise<Connected> {
    const link = await this.#transport.dial(route.dial);
    const onAbort = () => link.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal.aborted) throw new L2Error('ERR_L2_ABORTED', `session ${session.id} closed during its handshake`);
      const handshake = start(link.channelBinding ?? undefined);
      await link.send([handshake.start()]);
      const [reply] = await nextMessages(link, route.handshakeTimeout);
      const confirm = handshake.handle(reply)!;
      const channel = new Channel(link, handshake.frameCipher());
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) throw new L2Error('ERR_L2_ABORTED', `session ${session.id} closed during its handshake`);
      const purpose = session.wasEstablished ? BIND_RECONNECT : BIND_OPEN;
      channel.enqueue(FrameType.Bind, 1 + SESSION_ID_LEN, (out, at) => {
        out[at] = purpose;
        out.write(session.id, at + 1, 'hex');
      });
      // The bind frame leaves with the handshake's last message: one send here, one read at the peer.
      await channel.sendFirst([confirm]);
      return { channel, handshake, frames: [], leftover: [] };
    } catch (err) {
      link.abort();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let link: Link;
      try {
        link = await this.#transport.acceptHandshaking();
      } catch {
        return; // closed
      }
      void this.#answer(link).then(() => link.settleHandshake('done'), (err) => {
        const e = toL2Error(err);
        link.settleHandshake(handshakeOutcome(e)); // before abort(), which releases the slot uncounted
        link.abort();
        this.#tell('refused', e);
        this.emit('warning', e);
      });
    }
  }

  // Responder: the handshake on an inbound link, then a new session or a known one coming back.
  async #answer(link: Link): Promise<void> {
    const timeout = parseConfig(this.#config).handshakeTimeout;
    const channelBinding = link.channelBinding ?? undefined;
    const [hello] = await nextMessages(link, timeout);
    // Type byte 4 is a resume hello (SPEC.md §3.5); anything else goes to the full handshake.
    const handshake = hello[0] === 4
      ? Handshake.resumeResponder(this.#tickets, hello, this.#clock.now(), { channelBinding })
      : Handshake.responder(this.#identity, { channelBinding });
    await link.send([handshake.handle(hello)!]);
    const [confirm, ...rest] = await nextMessages(link, timeout);
    handshake.handle(confirm);
    const peerDid = handshake.peerDid!;
    this.#checkQuarantine(peerDid);
    const channel = new Channel(link, handshake.frameCipher());
    const [first, ...leftover] = rest.length > 0 ? rest : await nextMessages(link, timeout);
    const [bind, ...frames] = channel.open(first).opened;
    if (bind?.type !== FrameType.Bind || bind.payload.length !== 1 + SESSION_ID_LEN || bind.payload[0] > BIND_RECONNECT) {
      throw new L2Error('ERR_L2_BAD_INPUT', `${peerDid} did not bind the link to a session`);
    }
    const id = bind.payload.subarray(1).toString('hex');
    const connected: Connected = { channel, handshake, frames, leftover };
    const known = this.#inbound.get(inboundKey(peerDid, id));
    // A resumption or a fresh open starts a new session: sequence numbers start over on both sides.
    if (known && (handshake.isResumption || bind.payload[0] === BIND_OPEN)) await known.close();
    else if (known) return known.acceptConnection(connected, link.transport);
    if (bind.payload[0] === BIND_RECONNECT && !handshake.isResumption) {
      return refuse(channel, `${peerDid} reconnected session ${id}, which this node no longer holds`);
    }
    if (this.#sessions.size >= this.#maxSessions) {
      link.settleHandshake('session_limit');
      return refuse(channel, `${peerDid} opened a session beyond this node's maximum of ${this.#maxSessions}`, 'ERR_L2_LIMIT');
    }
    const session = new Session(this.#host, {
      id,
      peerDid,
      peerKey: handshake.peerPublicKey!,
      initiator: false,
      transport: link.transport,
      config: this.#config,
    });
    this.#sessions.add(session);
    this.#inbound.set(inboundKey(peerDid, id), session);
    session.acceptConnection(connected, link.transport);
    this.emit('session', session);
  }
}

/** Tells the dialer its session is gone (a close frame, so it stops resending), then drops the link. */
async function refuse(channel: Channel, reason: string, code: 'ERR_L2_CLOSED' | 'ERR_L2_LIMIT' = 'ERR_L2_CLOSED'): Promise<never> {
  channel.enqueue(FrameType.Close, 0, () => undefined);
  await channel.close();
  throw new L2Error(code, reason);
}

const DEFAULT_MAX_SESSIONS = 4096;

/** Session ids are the dialer's choice: an inbound session is known by its peer and its id together. */
function inboundKey(peerDid: string, id: string): string {
  return `${peerDid} ${id}`;
}

/** Validates `limits` and picks out the transport's admission limits. */
function admissionLimits(limits: NodeLimits | undefined): Pick<TransportListenOptions, keyof typeof ADMISSION_LIMITS> {
  const keys = Object.keys(ADMISSION_LIMITS) as (keyof typeof ADMISSION_LIMITS)[];
  const l = checkOptions<NodeLimits>('limits', limits, [...keys, 'maxSessions']);
  if (!l) return {};
  optionalInt('limits.maxSessions', l.maxSessions, 1, 1 << 24);
  const picked: Pick<TransportListenOptions, keyof typeof ADMISSION_LIMITS> = {};
  for (const k of keys) {
    const [min, max] = ADMISSION_LIMITS[k];
    picked[k] = optionalInt(`limits.${k}`, l[k], min, max);
  }
  return picked;
}

/**
 * How a failed inbound handshake counts against its source IP: a closed link (node shutting
 * down, session gone) is no abuse; anything else — garbage, a wrong key, silence until the
 * timeout — is a strike.
 */
function handshakeOutcome(err: L2Error): HandshakeOutcome {
  return err.code === 'ERR_L2_CLOSED' ? 'done' : 'bad_handshake';
}
