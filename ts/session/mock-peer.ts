/**
 * A test peer: a `SessionMachine` on a `SessionDriver`, a mock transport endpoint, and a mock crypto
 * port whose handshake messages cross the same link (so latency, loss and partitions hit them too).
 * The mock handshake is hello → reply → confirm: the initiator is done after one round trip, the
 * responder after the confirm (key confirmation before `established`).
 */
import { L2Error } from '../errors';
import type { Clock } from './clock';
import { SessionDriver, type SessionNotice } from './driver';
import { SessionMachine, type SessionMachineOptions } from './machine';
import { MockLink, type MockEndpoint, type MockLinkOptions } from './mock-transport';
import type { HandshakeKind, Role } from './states';
import type { AuditRecord } from './transition';
import type { WireMessage } from './wire';

/** The mock crypto port's messages. `forged` stands for a bad signature or MAC. */
export type MockHandshakeMessage =
  | { readonly kind: 'hs_hello'; readonly handshake: HandshakeKind; readonly epoch: number }
  | { readonly kind: 'hs_reply'; readonly epoch: number; readonly forged: boolean }
  | { readonly kind: 'hs_confirm'; readonly epoch: number };

/** What travels on a mock link between two peers. */
export type MockPacket = WireMessage | MockHandshakeMessage;

/** One side of a two-peer test. */
export class MockPeer {
  /** The driver around the machine. */
  readonly driver: SessionDriver;
  /** Every notice the machine produced, in order. */
  readonly notices: SessionNotice[] = [];
  /** Every handshake the crypto port was asked to run. */
  readonly handshakes: { kind: HandshakeKind; role: Role; at: number }[] = [];
  /** Every packet this peer put on the wire, with its send time. */
  readonly sent: { packet: MockPacket; at: number }[] = [];
  /** When true, this peer's handshake replies fail the initiator's signature check. */
  forgeSignatures = false;
  private endpoint: MockEndpoint<MockPacket> | null = null;
  // The epoch our own hello proposed, and the one the peer's hello proposed (what we answer and confirm).
  private pendingEpoch = 0;
  private answerEpoch = 0;

  /** Creates the machine and its driver on `clock`. */
  constructor(options: SessionMachineOptions, private readonly clock: Clock) {
    this.driver = new SessionDriver(new SessionMachine(options), clock, {
      transmit: (message) => this.put(message),
      startHandshake: (kind, role) => this.startHandshake(kind, role),
      notify: (notice) => void this.notices.push(notice),
    });
  }

  /** The machine under test. */
  get machine(): SessionMachine {
    return this.driver.machine;
  }

  /** Messages delivered to the caller, in order. */
  get received(): { seq: number; data: Uint8Array }[] {
    return this.notices.flatMap((n) => (n.type === 'deliver' ? [{ seq: n.seq, data: n.data }] : []));
  }

  /** The audit trail so far. */
  get audit(): AuditRecord[] {
    return this.notices.flatMap((n) => (n.type === 'audit' ? [n.record] : []));
  }

  /** Full KEMs run by this side (full handshakes and rotations; resumptions run none). */
  get kemCount(): number {
    return this.handshakes.filter((h) => h.kind !== 'resume').length;
  }

  /** Plugs this peer into `endpoint` (also used to switch transports mid-session). */
  attach(endpoint: MockEndpoint<MockPacket>): void {
    this.endpoint = endpoint;
    endpoint.onMessage((packet) => this.onPacket(packet));
    endpoint.onLinkChange((up) => this.driver.input((m, now) => (up ? m.handleLinkUp(now) : m.handleLinkDown(now))));
  }

  /** `send` through the driver; throws what the machine throws. */
  send(data: Uint8Array): number {
    return this.driver.input((m, now) => m.send(data, now));
  }

  /** Injects a packet as if it came from the peer (replay tests). */
  inject(packet: MockPacket): void {
    this.onPacket(packet);
  }

  private startHandshake(kind: HandshakeKind, role: Role): void {
    this.handshakes.push({ kind, role, at: this.clock.now() });
    if (role === 'initiator') {
      this.pendingEpoch = this.machine.snapshot.keyEpoch + 1;
      this.put({ kind: 'hs_hello', handshake: kind, epoch: this.pendingEpoch });
    } else {
      this.put({ kind: 'hs_reply', epoch: this.answerEpoch, forged: this.forgeSignatures });
    }
  }

  private put(packet: MockPacket): void {
    this.sent.push({ packet, at: this.clock.now() });
    this.endpoint?.send(packet);
  }

  private onPacket(packet: MockPacket): void {
    try {
      this.route(packet);
    } catch (err) {
      // Wire input must never crash the peer: a refused hello (quarantine, invalid move) becomes a warning.
      if (!(err instanceof L2Error)) throw err;
      this.notices.push({ type: 'warning', code: err.code, message: err.message });
    }
  }

  private route(packet: MockPacket): void {
    const role = this.machine.snapshot.handshake?.role;
    switch (packet.kind) {
      case 'hs_hello':
        this.answerEpoch = packet.epoch;
        return this.driver.input((m, now) => m.handlePeerHello(packet.handshake, now));
      case 'hs_reply':
        if (role !== 'initiator' || packet.epoch !== this.pendingEpoch) return; // A stale reply to an abandoned attempt.
        if (packet.forged) {
          return this.driver.input((m, now) => m.handleHandshakeResult({ ok: false, reason: 'authentication_failed' }, now));
        }
        // Confirm first, as a real port does: our first data frames must not overtake the confirmation.
        this.put({ kind: 'hs_confirm', epoch: packet.epoch });
        return this.driver.input((m, now) => m.handleHandshakeResult({ ok: true, keyEpoch: packet.epoch }, now));
      case 'hs_confirm':
        if (role !== 'responder' || packet.epoch !== this.answerEpoch) return;
        return this.driver.input((m, now) => m.handleHandshakeResult({ ok: true, keyEpoch: packet.epoch }, now));
      default:
        return this.driver.input((m, now) => m.handleMessage(packet, now));
    }
  }
}

/** Options for `createPeerPair`. */
export interface PeerPairOptions {
  readonly link?: MockLinkOptions;
  readonly alice?: Partial<SessionMachineOptions>;
  readonly bob?: Partial<SessionMachineOptions>;
}

/** Two peers on one link. */
export interface PeerPair {
  readonly alice: MockPeer;
  readonly bob: MockPeer;
  readonly link: MockLink<MockPacket>;
}

/** Alice (who opens the session) and Bob on one mock link. */
export function createPeerPair(clock: Clock, options: PeerPairOptions = {}): PeerPair {
  const link = new MockLink<MockPacket>(clock, options.link);
  const base = { sessionId: 'session-1', transport: link.kind };
  const alice = new MockPeer({ ...base, peerDid: 'did:key:z6MkBob', initiator: true, ...options.alice }, clock);
  const bob = new MockPeer({ ...base, peerDid: 'did:key:z6MkAlice', initiator: false, ...options.bob }, clock);
  alice.attach(link.a);
  bob.attach(link.b);
  return { alice, bob, link };
}
