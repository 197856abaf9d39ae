/**
 * Hostile input for every export of the package, table-driven: each row is one argument or option of
 * one function, constructor or method, tried with wrong types, sizes and values, null/undefined,
 * detached and shared buffers, huge lengths, NaN/Infinity/negative numbers, bad DIDs and addresses.
 * Each must give an `L2Error` with the row's code (never another exception, never a crash). A
 * completeness check fails when an export, static or method has no row, so new ones cannot be
 * forgotten. After the storm, an established session still exchanges messages.
 */
import * as l2 from '../../ts';
import { crypto, FakeClock, FrameCipher, Handshake, Identity, L2Error, Link, MemoryResolver, Node, Session, TicketStore, TransportNode } from '../../ts';
import type { L2ErrorCode } from '../../ts';
import {
  ABSENT, BAD_ADDRESSES, BAD_DIDS, BAD_VIEWS, Case, NOT_BYTES, NOT_INTEGERS, NOT_OPTIONS, NOT_SIGNALS, NOT_TIMES, WRONG_SIZES,
} from './values';

jest.setTimeout(120_000);

const BAD: readonly L2ErrorCode[] = ['ERR_L2_BAD_INPUT'];

/** A case value made when the case runs (it needs the live objects of beforeAll). */
class Lazy {
  constructor(readonly make: () => unknown) {}
}
const lazy = (make: () => unknown) => new Lazy(make);

/** One argument or option of one callable, and the values to throw at it. */
interface Row {
  /** `fn`, `Class.static`, `Class#method`, `new Class`, `ns.fn`: what the completeness check looks for. */
  readonly target: string;
  readonly arg: string;
  readonly cases: readonly Case[];
  readonly call: (value: unknown) => unknown;
  /** Codes accepted (default ERR_L2_BAD_INPUT); `'tolerated'` rows must not throw anything but an L2Error. */
  readonly codes?: readonly L2ErrorCode[] | 'tolerated';
}

// Live objects the rows use, made in beforeAll.
const ctx = {} as {
  alice: Node;
  bob: Node;
  session: Session;
  peer: Session;
  transport: TransportNode;
  closedTransport: TransportNode;
  link: Link;
};
const seed32 = new Uint8Array(32);
const key32 = new Uint8Array(32);
const nonce12 = new Uint8Array(12);
const kem = crypto.hybrid.keygen();
const mlkem = crypto.mlkem768.keygen();
const ed = crypto.ed25519.keygen();
const x = crypto.x25519.keygen();
const me = Identity.generate();
const [sendCipher, recvCipher] = cipherPair();

function completed(): { i: Handshake; r: Handshake } {
  const i = Handshake.initiator(Identity.generate());
  const r = Handshake.responder(Identity.generate());
  r.handle(i.handle(r.handle(i.start())!)!);
  return { i, r };
}

function cipherPair(): [FrameCipher, FrameCipher] {
  const { i, r } = completed();
  return [i.frameCipher(), r.frameCipher()];
}

/** Bytes argument: not bytes, absent (unless optional), detached/shared, and wrong sizes when fixed. */
function bytesCases(size?: number, optional = false): Case[] {
  return [...NOT_BYTES, ...(optional ? [] : ABSENT), ...BAD_VIEWS(size ?? 16), ...(size ? WRONG_SIZES(size) : [])];
}

/** An options-bag row (unless `bag` is false) plus one row per option. */
function optionRows(target: string, call: (opts: unknown) => unknown, options: Record<string, readonly Case[]>, bag = true): Row[] {
  return [
    ...(bag ? [{ target, arg: 'options', cases: NOT_OPTIONS, call }] : []),
    ...Object.entries(options).map(([name, cases]) => ({ target, arg: `options.${name}`, cases, call: (v: unknown) => call({ [name]: v }) })),
  ];
}

/** Extra junk arguments for calls without parameters: ignored, never a crash. */
const JUNK_ARGS: Case[] = [['junk arguments', [NaN, null, {}, 'x', new Uint8Array(1)]]];
function noArgs(target: string, call: (...args: unknown[]) => unknown): Row {
  return { target, arg: '(none)', cases: JUNK_ARGS, call: (args) => call(...(args as unknown[])), codes: 'tolerated' };
}

const BAD_CONFIGS: Case[] = [
  ['not an object', 'fast'],
  ['unknown key', { speed: 1 }],
  ['NaN duration', { ttl: NaN }],
  ['Infinity duration', { heartbeatInterval: Infinity }],
  ['negative duration', { handshakeTimeout: -1 }],
  ['zero duration', { handshakeTimeout: 0 }],
  ['fractional ms', { handshakeTimeout: 1.5 }],
  ['unknown unit', { ttl: '5 parsecs' }],
  ['overflowing string', { ttl: '1e999s' }],
  ['400-digit string', { ttl: `${'9'.repeat(400)}ms` }],
  ['count NaN', { heartbeatTolerance: NaN }],
  ['count negative', { queueLimit: -1 }],
  ['count fraction', { queueLimit: 2.5 }],
  ['count 2^64', { queueLimit: 2 ** 64 }],
  ['backoff not an object', { backoff: 5 }],
  ['backoff unknown key', { backoff: { start: '1s' } }],
  ['rotation window beyond the TTL', { ttl: '1h', rotationWindow: '2h' }],
  ['__proto__ key', JSON.parse('{"__proto__": {"ttl": 1}}')],
];

const rows: Row[] = [
  // ── crypto primitives ──
  { target: 'crypto.mlkem768.keygen', arg: 'seed', cases: bytesCases(64, true), call: (v) => crypto.mlkem768.keygen(v as Uint8Array) },
  { target: 'crypto.mlkem768.encapsulate', arg: 'encapsulationKey', cases: bytesCases(1184), call: (v) => crypto.mlkem768.encapsulate(v as Uint8Array) },
  { target: 'crypto.mlkem768.encapsulate', arg: 'm', cases: bytesCases(32, true), call: (v) => crypto.mlkem768.encapsulate(mlkem.encapsulationKey, v as Uint8Array) },
  { target: 'crypto.mlkem768.decapsulate', arg: 'ciphertext', cases: bytesCases(1088), call: (v) => crypto.mlkem768.decapsulate(v as Uint8Array, mlkem.decapsulationKey) },
  { target: 'crypto.mlkem768.decapsulate', arg: 'decapsulationKey', cases: bytesCases(2400), call: (v) => crypto.mlkem768.decapsulate(new Uint8Array(1088), v as Uint8Array) },
  { target: 'crypto.x25519.keygen', arg: 'seed', cases: bytesCases(32, true), call: (v) => crypto.x25519.keygen(v as Uint8Array) },
  { target: 'crypto.x25519.sharedSecret', arg: 'secretKey', cases: bytesCases(32), call: (v) => crypto.x25519.sharedSecret(v as Uint8Array, x.publicKey) },
  { target: 'crypto.x25519.sharedSecret', arg: 'publicKey', cases: [...bytesCases(32), ['all-zero (low order) key', new Uint8Array(32)]], call: (v) => crypto.x25519.sharedSecret(x.secretKey, v as Uint8Array) },
  { target: 'crypto.ed25519.keygen', arg: 'seed', cases: bytesCases(32, true), call: (v) => crypto.ed25519.keygen(v as Uint8Array) },
  { target: 'crypto.ed25519.sign', arg: 'secretKey', cases: bytesCases(32), call: (v) => crypto.ed25519.sign(v as Uint8Array, new Uint8Array(1)) },
  { target: 'crypto.ed25519.sign', arg: 'message', cases: bytesCases(), call: (v) => crypto.ed25519.sign(ed.secretKey, v as Uint8Array) },
  { target: 'crypto.ed25519.verify', arg: 'publicKey', cases: bytesCases(32), call: (v) => crypto.ed25519.verify(v as Uint8Array, new Uint8Array(1), new Uint8Array(64)) },
  { target: 'crypto.ed25519.verify', arg: 'message', cases: bytesCases(), call: (v) => crypto.ed25519.verify(ed.publicKey, v as Uint8Array, new Uint8Array(64)) },
  { target: 'crypto.ed25519.verify', arg: 'signature', cases: bytesCases(64), call: (v) => crypto.ed25519.verify(ed.publicKey, new Uint8Array(1), v as Uint8Array) },
  { target: 'crypto.aead.seal', arg: 'key', cases: bytesCases(32), call: (v) => crypto.aead.seal(v as Uint8Array, nonce12, new Uint8Array(1)) },
  { target: 'crypto.aead.seal', arg: 'nonce', cases: bytesCases(12), call: (v) => crypto.aead.seal(key32, v as Uint8Array, new Uint8Array(1)) },
  { target: 'crypto.aead.seal', arg: 'plaintext', cases: bytesCases(), call: (v) => crypto.aead.seal(key32, nonce12, v as Uint8Array) },
  { target: 'crypto.aead.seal', arg: 'aad', cases: bytesCases(undefined, true), call: (v) => crypto.aead.seal(key32, nonce12, new Uint8Array(1), v as Uint8Array) },
  { target: 'crypto.aead.open', arg: 'key', cases: bytesCases(32), call: (v) => crypto.aead.open(v as Uint8Array, nonce12, new Uint8Array(16)) },
  { target: 'crypto.aead.open', arg: 'nonce', cases: bytesCases(12), call: (v) => crypto.aead.open(key32, v as Uint8Array, new Uint8Array(16)) },
  { target: 'crypto.aead.open', arg: 'sealed', cases: [...bytesCases(), ['shorter than a tag', new Uint8Array(15)]], call: (v) => crypto.aead.open(key32, nonce12, v as Uint8Array), codes: ['ERR_L2_BAD_INPUT', 'ERR_L2_AUTH_FAILED'] },
  { target: 'crypto.aead.open', arg: 'aad', cases: bytesCases(undefined, true), call: (v) => crypto.aead.open(key32, nonce12, new Uint8Array(16), v as Uint8Array), codes: ['ERR_L2_BAD_INPUT'] },
  { target: 'crypto.hybrid.keygen', arg: 'seed', cases: bytesCases(32, true), call: (v) => crypto.hybrid.keygen(v as Uint8Array) },
  { target: 'crypto.hybrid.encapsulate', arg: 'publicKey', cases: bytesCases(1216), call: (v) => crypto.hybrid.encapsulate(v as Uint8Array) },
  { target: 'crypto.hybrid.encapsulate', arg: 'eseed', cases: bytesCases(64, true), call: (v) => crypto.hybrid.encapsulate(kem.publicKey, v as Uint8Array) },
  { target: 'crypto.hybrid.decapsulate', arg: 'ciphertext', cases: bytesCases(1120), call: (v) => crypto.hybrid.decapsulate(v as Uint8Array, kem.secretKey) },
  { target: 'crypto.hybrid.decapsulate', arg: 'secretKey', cases: bytesCases(32), call: (v) => crypto.hybrid.decapsulate(new Uint8Array(1120), v as Uint8Array) },
  { target: 'crypto.blake3', arg: 'data', cases: bytesCases(), call: (v) => crypto.blake3(v as Uint8Array) },
  ...optionRows('crypto.blake3', (o) => crypto.blake3(new Uint8Array(1), o as never), {
    length: [...NOT_INTEGERS, ['zero', 0], ['2^32 + 32 (would wrap)', 2 ** 32 + 32], ['over 1 MiB', (1 << 20) + 1]],
    key: bytesCases(32, true),
    context: [['number', 5], ['object', {}], ['bytes', new Uint8Array(1)]],
  }),
  { target: 'crypto.blake3', arg: 'options.key with options.context', cases: [['both modes', { key: key32, context: 'c' }]], call: (v) => crypto.blake3(new Uint8Array(1), v as never) },

  // ── identities and DIDs ──
  noArgs('Identity.generate', (...a) => (Identity.generate as (...x: unknown[]) => Identity)(...a).did),
  { target: 'Identity.fromSeed', arg: 'seed', cases: bytesCases(32), call: (v) => Identity.fromSeed(v as Uint8Array) },
  { target: 'new Identity', arg: 'handle', cases: [['number', 42], ['object', {}], ['another Identity', me]], call: (v) => new (Identity as unknown as new (h: unknown) => Identity)(v) },
  noArgs('Identity#exportSeed', (...a) => (me.exportSeed as (...x: unknown[]) => Buffer)(...a)),
  noArgs('Identity#toJSON', (...a) => (me.toJSON as (...x: unknown[]) => unknown)(...a)),
  { target: 'didFromPublicKey', arg: 'publicKey', cases: bytesCases(32), call: (v) => l2.didFromPublicKey(v as Uint8Array) },
  { target: 'didToPublicKey', arg: 'did', cases: BAD_DIDS, call: (v) => l2.didToPublicKey(v as string) },

  // ── handshake, frames, tickets ──
  { target: 'Handshake.initiator', arg: 'identity', cases: [...ABSENT, ['object', {}], ['DID string', me.did], ['public key', me.publicKey]], call: (v) => Handshake.initiator(v as Identity) },
  ...optionRows('Handshake.initiator', (o) => Handshake.initiator(me, o as never), {
    expectedPeer: [...BAD_DIDS.filter(([, v]) => typeof v === 'string'), ['number', 5], ['31 bytes', new Uint8Array(31)], ...BAD_VIEWS(32)],
    channelBinding: [...NOT_BYTES, ...BAD_VIEWS(32), ['256 bytes', new Uint8Array(256)]],
  }),
  { target: 'Handshake.responder', arg: 'identity', cases: [...ABSENT, ['object', {}], ['number', 1]], call: (v) => Handshake.responder(v as Identity) },
  ...optionRows('Handshake.responder', (o) => Handshake.responder(me, o as never), { channelBinding: [...NOT_BYTES, ...BAD_VIEWS(32)] }),
  { target: 'Handshake.resumeInitiator', arg: 'sealedTicket', cases: [...bytesCases(93)], call: (v) => Handshake.resumeInitiator(v as Uint8Array, key32), codes: ['ERR_L2_BAD_INPUT', 'ERR_L2_AUTH_FAILED'] },
  { target: 'Handshake.resumeInitiator', arg: 'key', cases: bytesCases(32), call: (v) => Handshake.resumeInitiator(new Uint8Array(93), v as Uint8Array), codes: ['ERR_L2_BAD_INPUT', 'ERR_L2_AUTH_FAILED'] },
  ...optionRows('Handshake.resumeInitiator', (o) => Handshake.resumeInitiator(completed().i.exportTicket(key32), key32, o as never), { channelBinding: [...NOT_BYTES, ...BAD_VIEWS(32)] }),
  { target: 'Handshake.resumeResponder', arg: 'store', cases: [...ABSENT, ['object', {}], ['Handshake', completed().r]], call: (v) => Handshake.resumeResponder(v as TicketStore, new Uint8Array(84), 0) },
  { target: 'Handshake.resumeResponder', arg: 'hello', cases: [...bytesCases(84), ['a full hello', Handshake.initiator(me).start()]], call: (v) => Handshake.resumeResponder(new TicketStore(), v as Uint8Array, 0), codes: ['ERR_L2_BAD_INPUT', 'ERR_L2_AUTH_FAILED', 'ERR_L2_UNSUPPORTED'] },
  { target: 'Handshake.resumeResponder', arg: 'nowMs', cases: [...NOT_TIMES, ['negative', -1]], call: (v) => Handshake.resumeResponder(new TicketStore(), new Uint8Array(84), v as number) },
  ...optionRows('Handshake.resumeResponder', (o) => Handshake.resumeResponder(new TicketStore(), new Uint8Array(84), 0, o as never), { channelBinding: [...NOT_BYTES, ...BAD_VIEWS(32)] }),
  { target: 'new Handshake', arg: 'handle', cases: [['number', 42], ['object', {}], ['FrameCipher', sendCipher]], call: (v) => new (Handshake as unknown as new (h: unknown) => Handshake)(v) },
  { target: 'Handshake#exportTicket', arg: 'key', cases: bytesCases(32), call: (v) => completed().i.exportTicket(v as Uint8Array) },
  { target: 'Handshake#exportTicket', arg: '(state)', cases: [['before completion', key32]], call: (v) => Handshake.initiator(me).exportTicket(v as Uint8Array), codes: ['ERR_L2_INVALID_STATE'] },
  noArgs('Handshake#start', (...a) => (Handshake.initiator(me).start as (...x: unknown[]) => Buffer)(...a)),
  { target: 'Handshake#start', arg: '(state)', cases: [['responder', undefined], ['twice', 'twice']], call: (v) => (v === 'twice' ? ((h) => (h.start(), h.start()))(Handshake.initiator(me)) : Handshake.responder(me).start()), codes: ['ERR_L2_INVALID_STATE'] },
  { target: 'Handshake#handle', arg: 'message', cases: [...bytesCases(1252), ['5000 bytes', new Uint8Array(5000)], ['all-zero hello', new Uint8Array(1252)]], call: (v) => Handshake.responder(me).handle(v as Uint8Array), codes: ['ERR_L2_BAD_INPUT', 'ERR_L2_UNSUPPORTED', 'ERR_L2_AUTH_FAILED'] },
  ...optionRows('Handshake#frameCipher', (o) => completed().i.frameCipher(o as never), {
    rekeyAfter: [...NOT_INTEGERS, ['zero', 0]],
    maxFrames: [...NOT_INTEGERS, ['zero', 0]],
    maxAuthFailures: [...NOT_INTEGERS, ['zero', 0]],
  }),
  { target: 'Handshake#frameCipher', arg: '(state)', cases: [['keys already taken', undefined]], call: () => ((h) => (h.frameCipher(), h.frameCipher()))(completed().i), codes: ['ERR_L2_INVALID_STATE'] },
  { target: 'Handshake#installInto', arg: 'cipher', cases: [...ABSENT, ['object', {}], ['Handshake', completed().r]], call: (v) => completed().i.installInto(v as FrameCipher) },
  { target: 'new FrameCipher', arg: 'handle', cases: [...ABSENT, ['object', {}], ['number', 3]], call: (v) => new FrameCipher(v as never) },
  { target: 'FrameCipher#seal', arg: 'data', cases: [...bytesCases(), ['16 MiB + 1', new Uint8Array((1 << 24) + 1)]], call: (v) => sendCipher.seal(v as Uint8Array) },
  { target: 'FrameCipher#seal', arg: 'type', cases: [['0', 0], ['8', 8], ['NaN', NaN], ['1.5', 1.5], ['string', '1'], ['-1', -1]], call: (v) => sendCipher.seal(new Uint8Array(1), v as never) },
  { target: 'FrameCipher#open', arg: 'frame', cases: [...bytesCases(), ['3 bytes', new Uint8Array(3)], ['header announcing 2^32 - 1 bytes', Buffer.from('0101000fffffffff0000000000000000', 'hex')]], call: (v) => recvCipher.open(v as Uint8Array) },
  { target: 'FrameCipher#sealBatch', arg: 'messages', cases: [...ABSENT, ['Uint8Array', new Uint8Array(4)], ['array with a number', [new Uint8Array(1), 5]], ['array with a detached view', [BAD_VIEWS(4)[0][1]]], ['array with a shared view', [BAD_VIEWS(4)[1][1]]], ['object', { length: 1, 0: new Uint8Array(1) }]], call: (v) => sendCipher.sealBatch(v as Uint8Array[]) },
  { target: 'FrameCipher#sealBatch', arg: 'type', cases: [['0', 0], ['NaN', NaN], ['string', '1']], call: (v) => sendCipher.sealBatch([new Uint8Array(1)], v as never) },
  { target: 'FrameCipher#sealPacked', arg: 'data', cases: bytesCases(), call: (v) => sendCipher.sealPacked(v as Uint8Array, new Uint32Array([1])) },
  { target: 'FrameCipher#sealPacked', arg: 'lengths', cases: [...ABSENT, ['array', [4]], ['Int32Array', new Int32Array([4])], ['lengths past the data', new Uint32Array([5])], ['length 2^32 - 1', new Uint32Array([2 ** 32 - 1])], ['lengths summing past 2^32', new Uint32Array([2 ** 31, 2 ** 31, 4])], ['shared', new Uint32Array(new SharedArrayBuffer(4))]], call: (v) => sendCipher.sealPacked(new Uint8Array(4), v as Uint32Array) },
  { target: 'FrameCipher#sealPacked', arg: 'type', cases: [['9', 9], ['NaN', NaN]], call: (v) => sendCipher.sealPacked(new Uint8Array(1), new Uint32Array([1]), v as never) },
  { target: 'FrameCipher#openBatch', arg: 'frames', cases: [...bytesCases(), ['malformed header', Buffer.from('ff'.repeat(32), 'hex')]], call: (v) => {
    const batch = recvCipher.openBatch(v as Uint8Array);
    if (batch.error) throw batch.error; // a malformed header is reported in the batch, as an L2Error
    return batch;
  }, codes: ['ERR_L2_BAD_INPUT', 'ERR_L2_UNSUPPORTED'] },
  noArgs('FrameCipher#retirePreviousEpoch', (...a) => (cipherPair()[1].retirePreviousEpoch as (...x: unknown[]) => void)(...a)),
  noArgs('new TicketStore', (...a) => new (TicketStore as unknown as new (...x: unknown[]) => TicketStore)(...a)),
  { target: 'TicketStore#insert', arg: 'handshake', cases: [...ABSENT, ['object', {}], ['FrameCipher', sendCipher]], call: (v) => new TicketStore().insert(v as Handshake, 1000, 0) },
  { target: 'TicketStore#insert', arg: 'expiresAtMs', cases: [...NOT_TIMES, ['negative', -1]], call: (v) => new TicketStore().insert(completed().r, v as number, 0) },
  { target: 'TicketStore#insert', arg: 'nowMs', cases: [...NOT_TIMES, ['negative', -1]], call: (v) => new TicketStore().insert(completed().r, 1000, v as number) },

  // ── transport ──
  { target: 'TransportNode.listen', arg: 'identity', cases: [...ABSENT, ['object', {}], ['DID', me.did]], call: (v) => TransportNode.listen(v as Identity) },
  ...optionRows('TransportNode.listen', (o) => TransportNode.listen(me, o as never), {
    host: [['empty', ''], ['not an IP', 'not-an-ip'], ['IP with port', '127.0.0.1:80'], ['number', 127], ['bad IPv4', '256.0.0.1']],
    quicPort: [...NOT_INTEGERS, ['65536', 65536]],
    tcpPort: [...NOT_INTEGERS, ['65536', 65536]],
    discoveryPort: [...NOT_INTEGERS, ['65536', 65536]],
    maxMessageLen: [...NOT_INTEGERS, ['zero', 0], ['2^32', 2 ** 32]],
    quicIdleTimeoutMs: [...NOT_INTEGERS, ['299', 299]],
  }),
  { target: 'new TransportNode', arg: 'handle', cases: [['number', 1], ['object', {}]], call: (v) => new (TransportNode as unknown as new (h: unknown) => TransportNode)(v) },
  ...optionRows('TransportNode#dial', (o) => ctx.transport.dial(o as never), {
    quic: BAD_ADDRESSES,
    tcp: BAD_ADDRESSES,
    transport: [['udp', 'udp'], ['number', 1], ['object', {}]],
    quicTimeoutMs: NOT_INTEGERS,
    tcpTimeoutMs: NOT_INTEGERS,
  }),
  { target: 'TransportNode#dial', arg: 'options (no address)', cases: [...ABSENT, ['empty', {}]], call: (v) => ctx.transport.dial(v as never) },
  noArgs('TransportNode#accept', (...a) => (ctx.closedTransport.accept as (...x: unknown[]) => Promise<Link>)(...a)),
  // Admission accounting (in flight from the DoS work): rows as soon as the methods exist.
  ...(typeof (TransportNode.prototype as unknown as Admission).acceptHandshaking === 'function'
    ? [noArgs('TransportNode#acceptHandshaking', (...a) => (ctx.closedTransport as unknown as Admission).acceptHandshaking(...a))]
    : []),
  { target: 'TransportNode#discover', arg: 'address', cases: [...BAD_ADDRESSES, ...ABSENT], call: (v) => ctx.transport.discover(v as string, 1000) },
  { target: 'TransportNode#discover', arg: 'timeoutMs', cases: NOT_INTEGERS.filter(([, v]) => v !== 0), call: (v) => ctx.transport.discover(ctx.bob.addresses.discovery!, v as number) },
  noArgs('TransportNode#stats', (...a) => (ctx.transport.stats as (...x: unknown[]) => unknown)(...a)),
  noArgs('TransportNode#close', (...a) => (ctx.closedTransport.close as (...x: unknown[]) => Promise<void>)(...a)),
  { target: 'new Link', arg: 'handle', cases: [...ABSENT, ['number', 1], ['object', {}], ['TransportNode', {}]], call: (v) => new Link(v as never) },
  { target: 'Link#send', arg: 'messages', cases: [...ABSENT, ['Uint8Array', new Uint8Array(4)], ['array with a string', ['x']], ['array with a shared view', [BAD_VIEWS(4)[1][1]]], ['array with a detached view', [BAD_VIEWS(4)[0][1]]]], call: (v) => ctx.link.send(v as Uint8Array[]) },
  { target: 'Link#recv', arg: 'max', cases: [...NOT_INTEGERS, ['zero', 0], ['2^21', 2 ** 21]], call: (v) => ctx.link.recv(v as number) },
  ...(typeof (Link.prototype as unknown as Admission).settleHandshake === 'function'
    ? [{ target: 'Link#settleHandshake', arg: 'outcome', cases: [...ABSENT, ['unknown', 'great'], ['number', 1]] as Case[], call: (v: unknown) => (ctx.link as unknown as Admission).settleHandshake(v) }]
    : []),
  noArgs('Link#stats', (...a) => (ctx.link.stats as (...x: unknown[]) => unknown)(...a)),
  noArgs('Link#close', (...a) => (ctx.link.close as (...x: unknown[]) => Promise<void>)(...a)),
  noArgs('Link#abort', (...a) => (ctx.link.abort as (...x: unknown[]) => void)(...a)),

  // ── nodes ──
  { target: 'Node.listen', arg: 'options', cases: [...ABSENT, ...NOT_OPTIONS], call: (v) => Node.listen(v as never) },
  ...optionRows('Node.listen', (o) => Node.listen({ identity: me, ...(o as object) }), {
    identity: [...ABSENT.slice(1), ['object', {}], ['DID', me.did], ['seed', seed32]],
    host: [['empty', ''], ['not an IP', 'localhost'], ['number', 127]],
    quicPort: [...NOT_INTEGERS, ['65536', 65536]],
    tcpPort: [...NOT_INTEGERS, ['65536', 65536]],
    discoveryPort: [...NOT_INTEGERS, ['65536', 65536]],
    resolver: [['number', 5], ['object without resolve', {}], ['resolve not a function', { resolve: 5 }], ['null', null]],
    config: BAD_CONFIGS,
    audit: [['number', 5], ['object', {}], ['bytes', new Uint8Array(1)]],
    clock: [['number', 5], ['object', {}], ['now not a function', { now: 5, schedule: () => () => undefined }], ['null', null]],
    quicIdleTimeout: [...NOT_INTEGERS, ['299', 299]],
    logger: [['number', 5], ['string', 'debug'], ['object without levels', {}]],
    limits: [['string', 'x'], ['unknown key', { bogus: 1 }], ['maxSessions NaN', { maxSessions: NaN }], ['maxSessions negative', { maxSessions: -1 }], ['handshakeRatePerSource 0', { handshakeRatePerSource: 0 }]],
  }, false),
  { target: 'new Node', arg: 'transport', cases: [...ABSENT, ['object', {}]], call: (v) => new (Node as unknown as new (t: unknown, o: unknown) => Node)(v, { identity: me }) },
  { target: 'Node#establish', arg: 'peerDid', cases: BAD_DIDS, call: (v) => ctx.alice.establish(v as string, { addresses: ctx.bob.addresses }) },
  ...optionRows('Node#establish', (o) => ctx.alice.establish(ctx.bob.did, o as never), {
    addresses: [['string', '127.0.0.1:1'], ['empty', {}], ['unknown key', { udp: '127.0.0.1:1' }], ...BAD_ADDRESSES.map(([l, v]) => [`quic ${l}`, { quic: v }] as Case), ...BAD_ADDRESSES.slice(0, 4).map(([l, v]) => [`tcp ${l}`, { tcp: v }] as Case)],
    transport: [['udp', 'udp'], ['number', 1], ['object', {}]],
    config: BAD_CONFIGS,
    quicTimeout: [...NOT_INTEGERS, ['zero', 0]],
    signal: NOT_SIGNALS,
  }),
  { target: 'Node#resume', arg: 'peerDid', cases: BAD_DIDS, call: (v) => ctx.alice.resume(v as string, exported(), { key: key32, addresses: ctx.bob.addresses }) },
  { target: 'Node#resume', arg: 'stored', cases: [
    ...ABSENT, ['string', 'ticket'], ['empty object', {}],
    ['another peer', lazy(() => ({ ...exportedSession, peerDid: me.did }))],
    ['ticket not base64', lazy(() => ({ ...exportedSession, ticket: '!!!' }))],
    ['ticket of 1 MB', lazy(() => ({ ...exportedSession, ticket: 'A'.repeat(1 << 20) }))],
    ['ticket a number', lazy(() => ({ ...exportedSession, ticket: 5 }))],
    ['session id not hex', lazy(() => ({ ...exportedSession, sessionId: 'zz'.repeat(8) }))],
    ['keyEpoch NaN', lazy(() => ({ ...exportedSession, keyEpoch: NaN }))],
    ['kemAt Infinity', lazy(() => ({ ...exportedSession, kemAt: Infinity }))],
    ['expiresAt a string', lazy(() => ({ ...exportedSession, expiresAt: 'tomorrow' }))],
    ['initiator false', lazy(() => ({ ...exportedSession, initiator: false }))],
  ], call: (v) => ctx.alice.resume(ctx.bob.did, v as never, { key: key32, addresses: ctx.bob.addresses }) },
  { target: 'Node#resume', arg: 'options', cases: [...ABSENT, ...NOT_OPTIONS], call: (v) => ctx.alice.resume(ctx.bob.did, exported(), v as never) },
  { target: 'Node#resume', arg: 'options.key', cases: bytesCases(32), call: (v) => ctx.alice.resume(ctx.bob.did, exported(), { key: v as Uint8Array, addresses: ctx.bob.addresses }) },
  { target: 'Node#resume', arg: 'options.signal', cases: NOT_SIGNALS, call: (v) => ctx.alice.resume(ctx.bob.did, exported(), { key: key32, addresses: ctx.bob.addresses, signal: v as AbortSignal }) },
  { target: 'Node#tick', arg: 'now', cases: NOT_TIMES.filter(([, v]) => v !== null), call: (v) => ctx.alice.tick(v as number) },
  noArgs('Node#close', (...a) => (Node.prototype.close as (...x: unknown[]) => Promise<void>).apply(closedNode, a)),
  noArgs('new MemoryResolver', (...a) => new (MemoryResolver as unknown as new (...x: unknown[]) => MemoryResolver)(...a)),
  { target: 'MemoryResolver#set', arg: 'did', cases: [['number', 5], ['object', {}], ...ABSENT], call: (v) => new MemoryResolver().set(v as string, { publicKey: me.publicKey }) },
  { target: 'MemoryResolver#set', arg: 'peer', cases: [
    ...ABSENT, ['string', 'x'], ['no key', {}], ['key of 31 bytes', { publicKey: new Uint8Array(31) }], ['key a string', { publicKey: 'k'.repeat(32) }],
    ['shared key', { publicKey: BAD_VIEWS(32)[1][1] }], ['addresses a string', { publicKey: me.publicKey, addresses: '127.0.0.1:1' }],
    ['bad quic address', { publicKey: me.publicKey, addresses: { quic: 'x' } }], ['unknown address key', { publicKey: me.publicKey, addresses: { udp: '127.0.0.1:1' } }],
  ], call: (v) => new MemoryResolver().set('did:example:1', v as never) },
  { target: 'MemoryResolver#resolve', arg: 'did', cases: [['number', 5], ['object', {}], ...ABSENT], call: (v) => new MemoryResolver().resolve(v as string), codes: 'tolerated' },
  { target: 'Node#establish', arg: '(resolver answers)', cases: [
    ['a throwing resolver', () => { throw new TypeError('resolver bug'); }],
    ['a rejecting resolver', () => Promise.reject(new Error('offline'))],
    ['a key that is a string', () => ({ publicKey: 'x' })],
    ['a 31-byte key', () => ({ publicKey: new Uint8Array(31) })],
    ['a malformed address', () => ({ publicKey: me.publicKey, addresses: { tcp: 'nowhere' } })],
    ['a number', () => 42],
  ], call: async (resolve) => {
    const node = await Node.listen({ identity: Identity.generate(), resolver: { resolve: resolve as never } });
    try {
      await node.establish('did:example:peer');
    } finally {
      await node.close();
    }
  } },

  // ── sessions ──
  { target: 'Session#send', arg: 'data', cases: [...bytesCases(), ['MAX_MESSAGE_LEN + 1', new Uint8Array(l2.MAX_MESSAGE_LEN + 1)]], call: (v) => ctx.session.send(v as Uint8Array) },
  ...optionRows('Session#receive', (o) => ctx.session.receive(o as never), {
    timeout: [...NOT_INTEGERS, ['2^31', 2 ** 31]],
    signal: NOT_SIGNALS,
  }),
  ...optionRows('Session#close', (o) => ctx.session.close(o as never), { signal: NOT_SIGNALS }),
  ...optionRows('Session#stream', (o) => ctx.session.stream(o as never), {
    signal: NOT_SIGNALS,
    readableHighWaterMark: [...NOT_INTEGERS, ['zero', 0], ['2^31', 2 ** 31]],
    writableHighWaterMark: [...NOT_INTEGERS, ['zero', 0]],
  }),
  { target: 'Session#stream', arg: 'write(chunk)', cases: [...NOT_BYTES.filter(([l]) => l !== 'string'), ...ABSENT, ...BAD_VIEWS(8)], call: (v) => {
    const stream = ctx.session.stream();
    try {
      return stream.write(v as never);
    } finally {
      stream.destroy();
    }
  } },
  { target: 'Session#export', arg: 'key', cases: bytesCases(32), call: (v) => ctx.session.export(v as Uint8Array) },
  { target: 'Session#export', arg: '(side)', cases: [['the answering side', key32]], call: (v) => ctx.peer.export(v as Uint8Array), codes: ['ERR_L2_INVALID_STATE'] },
  { target: 'Session#tick', arg: 'now', cases: NOT_TIMES, call: (v) => ctx.session.tick(v as number) },
  noArgs('Session#rotate', (...a) => (ctx.session.rotate as (...x: unknown[]) => Promise<void>).apply(ctx.session, a)),
  noArgs('Session#stats', (...a) => (ctx.session.stats as (...x: unknown[]) => unknown).apply(ctx.session, a)),
  noArgs('Session#acknowledged', (...a) => (ctx.session.acknowledged as (...x: unknown[]) => Promise<void>).apply(ctx.session, a)),
  { target: 'Session#open', arg: '(state)', cases: [['an established session', undefined]], call: () => ctx.session.open(), codes: ['ERR_L2_INVALID_STATE'] },
  { target: 'Session#acceptConnection', arg: 'connected', cases: [...ABSENT, ['object', {}], ['fake channel', { channel: {}, handshake: {} }]], call: (v) => ctx.peer.acceptConnection(v as never, 'quic') },
  { target: 'new Session', arg: 'host', cases: [...ABSENT, ['object', {}]], call: (v) => new Session(v as never, { id: '0011223344556677', peerDid: me.did, peerKey: Buffer.from(me.publicKey), initiator: true, transport: 'quic' }) },
  { target: 'new Session', arg: 'init', cases: [...ABSENT, ['object', {}], ['bad transport', { id: '0011223344556677', peerDid: me.did, peerKey: Buffer.from(me.publicKey), initiator: true, transport: 'udp' }]], call: (v) => new Session(sessionHost(), v as never) },

  // ── configuration, clocks, errors, metrics ──
  { target: 'parseConfig', arg: 'input', cases: [...BAD_CONFIGS, ['null', null], ['array', []], ['Map', new Map()]], call: (v) => l2.parseConfig(v) },
  { target: 'new FakeClock', arg: 'start', cases: NOT_TIMES.filter(([, v]) => v !== null), call: (v) => new FakeClock(v as number) },
  noArgs('FakeClock#now', (...a) => (new FakeClock().now as (...x: unknown[]) => number)(...a)),
  noArgs('FakeClock#nextAt', (...a) => (FakeClock.prototype.nextAt as (...x: unknown[]) => unknown).apply(new FakeClock(), a)),
  { target: 'FakeClock#schedule', arg: 'at', cases: NOT_TIMES, call: (v) => new FakeClock().schedule(v as number, () => undefined) },
  { target: 'FakeClock#schedule', arg: 'callback', cases: [...ABSENT, ['string', 'code'], ['object', {}]], call: (v) => new FakeClock().schedule(1, v as never) },
  { target: 'FakeClock#advance', arg: 'ms', cases: [...NOT_TIMES, ['negative', -1]], call: (v) => new FakeClock().advance(v as number) },
  { target: 'FakeClock#advanceTo', arg: 'target', cases: NOT_TIMES, call: (v) => new FakeClock().advanceTo(v as number) },
  { target: 'FakeClock#takeDue', arg: 'target', cases: NOT_TIMES, call: (v) => (new FakeClock() as unknown as { takeDue(t: unknown): unknown }).takeDue(v), codes: 'tolerated' },
  noArgs('systemClock.now', (...a) => (l2.systemClock.now as (...x: unknown[]) => number)(...a)),
  { target: 'systemClock.schedule', arg: 'at', cases: NOT_TIMES, call: (v) => l2.systemClock.schedule(v as number, () => undefined) },
  { target: 'systemClock.schedule', arg: 'callback', cases: [...ABSENT, ['string', 'code'], ['object', {}]], call: (v) => l2.systemClock.schedule(1, v as never) },
  { target: 'new L2Error', arg: 'code', cases: [['unknown code', 'ERR_OOPS'], ['number', 5], ...ABSENT], call: (v) => new L2Error(v as L2ErrorCode, 'message') },
  { target: 'new L2Error', arg: 'message', cases: [['number', 5], ['object', {}], ['symbol', Symbol('m')]], call: (v) => new L2Error('ERR_L2_BAD_INPUT', v as string) },
  { target: 'createMetrics', arg: 'node', cases: [...ABSENT, ['object', {}], ['TransportNode', 'transport']], call: (v) => l2.createMetrics((v === 'transport' ? ctx.transport : v) as Node) },
  ...optionRows('createMetrics', (o) => l2.createMetrics(ctx.alice, o as never), {
    registry: [['number', 5], ['object', {}]],
    prefix: [['number', 5], ['with a space', 'l2 '], ['empty', ''], ['starting with a digit', '9x']],
  }),
];

/** The admission-accounting methods of TransportNode and Link. */
interface Admission {
  acceptHandshaking(...args: unknown[]): Promise<Link>;
  settleHandshake(outcome: unknown): void;
}

/** Exports that are values, not callables. Those the library reads itself are frozen, so no caller can change them under it. */
const CONSTANTS = { L2_ERROR_CODES: 'frozen', FrameType: 'frozen', FrameStatus: 'frozen', systemClock: 'frozen', LOG_LEVELS: 'frozen', MAX_MESSAGE_LEN: 'primitive', crypto: 'namespace (its functions have rows)' } as const;

let closedNode: Node;
let exportedSession: l2.ExportedSession;
function exported(): l2.ExportedSession {
  return exportedSession;
}
function sessionHost(): never {
  return { identity: me, clock: l2.systemClock, audit() {}, quarantine() {}, connect: () => Promise.reject(new Error('no')), issueTicket() {}, closed() {} } as never;
}

beforeAll(async () => {
  ctx.alice = await Node.listen({ identity: Identity.generate() });
  ctx.bob = await Node.listen({ identity: Identity.generate() });
  closedNode = await Node.listen({ identity: Identity.generate() });
  await closedNode.close();
  const inbound = new Promise<Session>((r) => ctx.bob.once('session', r));
  ctx.session = await ctx.alice.establish(ctx.bob.did, { addresses: ctx.bob.addresses });
  ctx.peer = await inbound;
  exportedSession = ctx.session.export(key32);
  ctx.transport = await TransportNode.listen(Identity.generate());
  ctx.closedTransport = await TransportNode.listen(Identity.generate());
  await ctx.closedTransport.close();
  ctx.link = await ctx.transport.dial({ tcp: ctx.bob.addresses.tcp, transport: 'tcp' });
});

afterAll(async () => {
  ctx.link?.abort();
  await ctx.transport?.close();
  await ctx.alice?.close();
  await ctx.bob?.close();
});

/** What a call gave: an L2Error's code, 'no error', or a description of anything else thrown (a failure). */
async function outcome(call: () => unknown): Promise<string> {
  try {
    const result = await call();
    // Something that should have been refused came to life: release it.
    if (result instanceof Node || result instanceof TransportNode) await result.close();
    return 'no error';
  } catch (err) {
    if (!(err instanceof L2Error)) return `not an L2Error: ${String(err)}`;
    // Messages are ours and name the argument; never napi-rs's internals.
    expect(err.message).not.toMatch(/\$name|TypedArray info|napi/);
    return err.code;
  }
}

describe.each(rows.map((r) => [`${r.target} (${r.arg})`, r] as const))('%s', (_name, row) => {
  test.each(row.cases.map(([label, value]) => [label, value] as const))('%s', async (_label, value) => {
    const got = await outcome(() => row.call(value instanceof Lazy ? value.make() : value));
    if (row.codes === 'tolerated') expect(got).toMatch(/^(no error|ERR_L2_[A-Z_]+)$/);
    else expect(row.codes ?? BAD).toContain(got);
  });
});

test('every export, constructor, static and method has a row (or is a frozen constant)', () => {
  const covered = new Set(rows.map((r) => r.target));
  const missing: string[] = [];
  const want = (name: string) => covered.has(name) || missing.push(name);
  const skip = new Set(['constructor', 'length', 'name', 'prototype']);
  const methods = (prefix: string, obj: object) => {
    for (const key of Object.getOwnPropertyNames(obj)) {
      const d = Object.getOwnPropertyDescriptor(obj, key)!;
      // Getters take no input; only callables need rows.
      if (!skip.has(key) && typeof d.value === 'function') want(`${prefix}${key}`);
    }
  };
  for (const [name, value] of Object.entries(l2)) {
    if (name in CONSTANTS) continue;
    if (typeof value !== 'function') {
      missing.push(`${name} (not a function: add a row or list it as a constant)`);
      continue;
    }
    if (/^[A-Z]/.test(name)) {
      want(`new ${name}`);
      methods(`${name}.`, value);
      methods(`${name}#`, value.prototype);
    } else want(name);
  }
  for (const [ns, members] of Object.entries(crypto)) {
    if (typeof members === 'function') {
      if (ns === 'blake3') want('crypto.blake3');
      else expect(members).toBe((l2 as Record<string, unknown>)[ns]); // the classes, covered above
    } else methods(`crypto.${ns}.`, members);
  }
  methods('systemClock.', l2.systemClock);
  expect(missing).toEqual([]);
});

test.each(Object.entries(CONSTANTS).filter(([, kind]) => kind === 'frozen').map(([name]) => name))('%s is frozen', (name) => {
  expect(Object.isFrozen((l2 as Record<string, unknown>)[name])).toBe(true);
});

test('after the storm the process is alive and the established session still exchanges messages', async () => {
  expect(ctx.session.state).toBe('established');
  await ctx.session.send(Buffer.from('still here'));
  expect(String(await ctx.peer.receive({ timeout: 20_000 }))).toBe('still here');
  await ctx.peer.send(Buffer.from('and back'));
  expect(String(await ctx.session.receive({ timeout: 20_000 }))).toBe('and back');
  // The frame ciphers the rows hammered still work too.
  expect(recvCipher.open(sendCipher.seal(Buffer.from('frames too'))).data.toString()).toBe('frames too');
});
