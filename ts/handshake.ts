/**
 * The hybrid post-quantum handshake and the frame cipher it yields, driven with bytes (SPEC.md
 * §3–4). Secrets stay in the addon: JS only ever holds handles and public values.
 */
import { native } from './native';
import { guard } from './guard';
import { L2Error, L2ErrorCode, toL2Error } from './errors';
import { Identity, didToPublicKey, nativeIdentity } from './identity';
import { bytes, optionalBytes, optionalNumber, options, time } from './validate';

type NativeHandshake = InstanceType<typeof native.Handshake>;
type NativeTicketStore = InstanceType<typeof native.TicketStore>;
type NativeFrameCipher = InstanceType<typeof native.FrameCipher>;

/** Frame types (authenticated in the header). */
// Frozen: the session layer reads these, so no caller may change them under it.
export const FrameType = Object.freeze({ Data: 1, Heartbeat: 2, HeartbeatAck: 3, Rotate: 4, Close: 5, Ack: 6, Bind: 7 } as const);
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Per-frame outcome in `openBatch`. */
export const FrameStatus = Object.freeze({ Ok: 0, AuthFailed: 1, Replay: 2, UnknownEpoch: 3, Limit: 4 } as const);
export type FrameStatus = (typeof FrameStatus)[keyof typeof FrameStatus];

/** Options of a handshake. */
export interface HandshakeOptions {
  /** Initiator only: who the responder must be (a `did:key` or a 32-byte public key). */
  expectedPeer?: string | Uint8Array;
  /** The transport's channel-binding value (TLS exporter); both sides must use the same. */
  channelBinding?: Uint8Array;
}

/** Usage limits of a frame cipher. */
export interface FrameCipherOptions {
  /** Frames after which `rekeyDue` turns true (default 2^32). */
  rekeyAfter?: number;
  /** Hard counter limit; sealing at it throws `ERR_L2_LIMIT` (default 2^48). */
  maxFrames?: number;
  /** Failed openings after which the receive key is refused (default 2^36). */
  maxAuthFailures?: number;
}

/** One opened frame. */
export interface OpenedFrame {
  frameType: FrameType;
  epoch: number;
  counter: number;
  data: Buffer;
}

/** Frames opened in one call. Plaintexts are back to back in `data`. */
export interface OpenedBatch {
  /** Plaintexts of the frames that opened, back to back. */
  data: Buffer;
  /** End offset of each frame's plaintext in `data`. */
  ends: Uint32Array;
  /** Type of each frame. */
  types: Uint8Array;
  /** `FrameStatus` of each frame. */
  status: Uint8Array;
  /** Input bytes consumed; keep the rest (a partial frame) for the next call. */
  consumed: number;
  /** Set when a malformed header stopped the batch: the byte stream cannot be trusted further. */
  error?: L2Error;
  /** The plaintexts of the frames that opened, as views into `data` (no copy). */
  messages(): Buffer[];
}

function toOptions(opts: HandshakeOptions | undefined) {
  const o = options<HandshakeOptions>('handshake options', opts, ['expectedPeer', 'channelBinding']);
  if (!o) return undefined;
  const peer = typeof o.expectedPeer === 'string' ? didToPublicKey(o.expectedPeer) : optionalBytes('expectedPeer', o.expectedPeer);
  return { expectedPeer: peer, channelBinding: optionalBytes('channelBinding', o.channelBinding) };
}

const FRAME_TYPES = new Set<number>(Object.values(FrameType));

function frameType(t: unknown): FrameType | undefined {
  if (t === undefined || t === null) return undefined;
  if (typeof t !== 'number' || !FRAME_TYPES.has(t)) {
    throw new L2Error('ERR_L2_BAD_INPUT', `frameType must be one of ${[...FRAME_TYPES].join(', ')}, got ${String(t)}`);
  }
  return t as FrameType;
}

const CIPHER_OPTIONS = ['rekeyAfter', 'maxFrames', 'maxAuthFailures'] as const;

const cipherHandles = new WeakMap<FrameCipher, NativeFrameCipher>();
const ticketStores = new WeakMap<TicketStore, NativeTicketStore>();
const handshakeHandles = new WeakMap<Handshake, NativeHandshake>();

/** A responder's resumption tickets: single use, each until its expiry. Secrets stay in Rust. */
export class TicketStore {
  constructor() {
    ticketStores.set(this, new native.TicketStore());
  }

  /** Keeps the ticket of a completed handshake until `expiresAtMs`. */
  insert(handshake: Handshake, expiresAtMs: number, nowMs: number): void {
    const hs = handshakeHandles.get(handshake);
    if (!hs) throw new L2Error('ERR_L2_BAD_INPUT', 'insert expects a Handshake');
    const [expires, now] = [time('expiresAtMs', expiresAtMs), time('nowMs', nowMs)];
    guard(() => ticketStores.get(this)!.insert(hs, expires, now));
  }

  /** Tickets held. */
  get size(): number {
    return ticketStores.get(this)!.size;
  }
}

/** One handshake, initiator or responder. Feed each peer message to `handle`; send its reply. */
export class Handshake {
  readonly #hs: NativeHandshake;

  private constructor(hs: NativeHandshake) {
    if (!(hs instanceof native.Handshake)) throw new L2Error('ERR_L2_BAD_INPUT', 'a Handshake comes from Handshake.initiator(), responder() or the resume starters');
    this.#hs = hs;
    handshakeHandles.set(this, hs);
  }

  /** Starts as initiator; `start()` gives message 1. */
  static initiator(identity: Identity, options?: HandshakeOptions): Handshake {
    const id = nativeIdentity(identity);
    return new Handshake(guard(() => native.Handshake.initiator(id, toOptions(options))));
  }

  /** Starts as responder, waiting for message 1. */
  static responder(identity: Identity, options?: HandshakeOptions): Handshake {
    const id = nativeIdentity(identity);
    return new Handshake(guard(() => native.Handshake.responder(id, toOptions(options))));
  }

  /** Starts a resumption (one round trip, no KEM) from a ticket sealed by `exportTicket(key)`. */
  static resumeInitiator(sealedTicket: Uint8Array, key: Uint8Array, options?: Pick<HandshakeOptions, 'channelBinding'>): Handshake {
    const o = toOptions(options);
    return new Handshake(guard(() => native.Handshake.resumeInitiator(bytes('sealedTicket', sealedTicket), bytes('key', key), o)));
  }

  /**
   * Answers a resume hello with the ticket it names, taken from `store` (single use); pass the same
   * hello to `handle()` next. Unknown or expired tickets throw `ERR_L2_AUTH_FAILED`.
   */
  static resumeResponder(store: TicketStore, hello: Uint8Array, nowMs: number, options?: Pick<HandshakeOptions, 'channelBinding'>): Handshake {
    const s = ticketStores.get(store);
    if (!s) throw new L2Error('ERR_L2_BAD_INPUT', 'resumeResponder expects a TicketStore');
    const now = time('nowMs', nowMs);
    return new Handshake(guard(() => native.Handshake.resumeResponder(s, bytes('hello', hello), now, toOptions(options))));
  }

  /** True for a resumption (no KEM), false for a full handshake. */
  get isResumption(): boolean {
    return this.#hs.isResumption;
  }

  /** This completed handshake's resumption ticket, sealed under a 32-byte key of the caller's. */
  exportTicket(key: Uint8Array): Buffer {
    return guard(() => this.#hs.exportTicket(bytes('key', key)));
  }

  /** Message 1 (initiator only, once). */
  start(): Buffer {
    return guard(() => this.#hs.start());
  }

  /** Handles a peer message; returns the reply to send, or `null`. Any failure ends the handshake. */
  handle(message: Uint8Array): Buffer | null {
    return guard(() => this.#hs.handle(bytes('message', message)));
  }

  /** True once this side has confirmed the keys. */
  get isComplete(): boolean {
    return this.#hs.isComplete;
  }

  /** The peer's authenticated public key, once complete. */
  get peerPublicKey(): Buffer | null {
    return this.#hs.peerPublicKey;
  }

  /** The peer's `did:key`, once complete. */
  get peerDid(): string | null {
    return this.#hs.peerDid;
  }

  /** Public session identifier (16 bytes), equal on both sides. */
  get sessionId(): Buffer | null {
    return this.#hs.sessionId;
  }

  /** Hash of the whole transcript, equal on both sides. */
  get transcriptHash(): Buffer | null {
    return this.#hs.transcriptHash;
  }

  /** Moves the keys into a frame cipher (once: a second cipher would reuse nonces). */
  frameCipher(opts?: FrameCipherOptions): FrameCipher {
    const o = options<FrameCipherOptions>('frame cipher options', opts, CIPHER_OPTIONS);
    for (const k of CIPHER_OPTIONS) optionalNumber(k, o?.[k]);
    return new FrameCipher(guard(() => this.#hs.frameCipher(o)));
  }

  /** Moves the keys into `cipher` as its next epoch (key rotation); returns the new epoch. */
  installInto(cipher: FrameCipher): number {
    const handle = cipher instanceof FrameCipher ? cipherHandles.get(cipher) : undefined;
    if (!handle) throw new L2Error('ERR_L2_BAD_INPUT', 'installInto expects a FrameCipher');
    return guard(() => this.#hs.installInto(handle));
  }
}

/** Seals and opens the frames of one session. Obtained from `Handshake.frameCipher()`. */
export class FrameCipher {
  readonly #c: NativeFrameCipher;

  /** @internal Ciphers come from `Handshake.frameCipher()`. */
  constructor(cipher: NativeFrameCipher) {
    if (!(cipher instanceof native.FrameCipher)) {
      throw new L2Error('ERR_L2_BAD_INPUT', 'a FrameCipher is obtained from Handshake.frameCipher()');
    }
    this.#c = cipher;
    cipherHandles.set(this, cipher);
  }

  /** Seals one message as a frame. */
  seal(data: Uint8Array, type?: FrameType): Buffer {
    return guard(() => this.#c.seal(bytes('data', data), frameType(type)));
  }

  /** Opens one frame; throws `ERR_L2_AUTH_FAILED`, `ERR_L2_REPLAY`, `ERR_L2_LIMIT`, `ERR_L2_BAD_INPUT`. */
  open(frame: Uint8Array): OpenedFrame {
    return guard(() => this.#c.open(bytes('frame', frame))) as OpenedFrame;
  }

  /** Seals each message; returns the frames back to back. */
  sealBatch(messages: Uint8Array[], type?: FrameType): Buffer {
    if (!Array.isArray(messages)) throw new L2Error('ERR_L2_BAD_INPUT', 'messages must be an array of Uint8Array');
    messages.forEach((m, i) => bytes(`messages[${i}]`, m));
    return guard(() => this.#c.sealBatch(messages, frameType(type)));
  }

  /** Seals messages packed back to back in `data` with their `lengths`: fastest for small messages. */
  sealPacked(data: Uint8Array, lengths: Uint32Array, type?: FrameType): Buffer {
    if (!(lengths instanceof Uint32Array)) throw new L2Error('ERR_L2_BAD_INPUT', 'lengths must be a Uint32Array');
    return guard(() => this.#c.sealPacked(bytes('data', data), lengths, frameType(type)));
  }

  /** Opens frames back to back; one status per frame, never throws for a bad frame. */
  openBatch(frames: Uint8Array): OpenedBatch {
    const b = guard(() => this.#c.openBatch(bytes('frames', frames)));
    const error = b.errorCode
      ? toL2Error({ code: b.errorCode as L2ErrorCode, message: b.errorMessage ?? 'malformed frame' })
      : undefined;
    // The addon hands back a buffer as long as the input: the plaintexts, then zeros.
    const data = b.data.subarray(0, b.ends.length > 0 ? b.ends[b.ends.length - 1] : 0);
    return {
      data,
      ends: b.ends,
      types: b.types,
      status: b.status,
      consumed: b.consumed,
      error,
      messages(): Buffer[] {
        const out: Buffer[] = [];
        let start = 0;
        for (let i = 0; i < b.ends.length; i++) {
          const end = b.ends[i];
          if (b.status[i] === FrameStatus.Ok) out.push(data.subarray(start, end));
          start = end;
        }
        return out;
      },
    };
  }

  /** Current key epoch. */
  get epoch(): number {
    return this.#c.epoch;
  }

  /** Counter of the next sealed frame. */
  get sendCounter(): number {
    return this.#c.sendCounter;
  }

  /** True once these keys sealed `rekeyAfter` frames. */
  get rekeyDue(): boolean {
    return this.#c.rekeyDue;
  }

  /** True while the previous epoch's frames are still accepted. */
  get hasPreviousEpoch(): boolean {
    return this.#c.hasPreviousEpoch;
  }

  /** Ends the previous epoch's grace period. */
  retirePreviousEpoch(): void {
    this.#c.retirePreviousEpoch();
  }
}
