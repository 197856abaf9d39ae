/**
 * Sessions end to end on real sockets (127.0.0.1): the public Node/Session API over QUIC and μTCP,
 * with the Rust handshake, frame cipher and transports underneath. Timings are shortened through
 * the session config; no assertion depends on wall-clock speed.
 */
import * as dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuditRecord, FakeClock, Identity, L2Error, MAX_MESSAGE_LEN, MemoryResolver, Node, Session, StateChange, didToPublicKey } from '../../ts';
import { Link } from '../../ts/transport';
import { closeNodes, listen, nextSession, udpRelay, until } from '../api/helpers';

jest.setTimeout(60_000);

afterEach(closeNodes);

/** Collects `n` messages from a session. */
async function collect(s: Session, n: number, timeout = 20_000): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) out.push(String(await s.receive({ timeout })));
  return out;
}

const seqMessages = (prefix: string, n: number) => Array.from({ length: n }, (_, k) => `${prefix}${k}`);

test('establish over QUIC: handshake, keys, TTL 24 h, messages both ways, audit trail', async () => {
  const records: AuditRecord[] = [];
  const alice = await listen({ audit: (r) => records.push(r) });
  const bob = await listen();
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses, transport: 'quic' });
  const peer = await inbound;
  expect([s.state, s.transport, s.keyEpoch, peer.peerDid]).toEqual(['established', 'quic', 1, alice.did]);
  await s.send(Buffer.from('ping'));
  expect(await collect(peer, 1)).toEqual(['ping']);
  await peer.send(Buffer.from('pong'));
  expect(await collect(s, 1)).toEqual(['pong']);
  expect(records.map((r) => `${r.from}>${r.to}`)).toEqual(['idle>handshake_initiated', 'handshake_initiated>established']);
  expect(records.every((r) => r.peerDid === bob.did && r.sessionId === s.id && r.transport === 'quic')).toBe(true);
  // The audit trail holds no key material: only these fields, none of them bytes.
  expect(Object.keys(records[1]).sort()).toEqual(['from', 'keyEpoch', 'peerDid', 'reason', 'sessionId', 'time', 'to', 'transport']);
});

test('the dialer sends its bind frame with the handshake\'s last message: one link send fewer per establish', async () => {
  const alice = await listen();
  const bob = await listen();
  const inbound = nextSession(bob);
  const send = jest.spyOn(Link.prototype, 'send');
  try {
    const s = await alice.establish(bob.did, { addresses: { tcp: bob.addresses.tcp }, transport: 'tcp' });
    const peer = await inbound;
    // Dialer: the hello, then the confirmation and the sealed bind frame as two messages of one send.
    const dialed = send.mock.calls.filter((_, k) => send.mock.contexts[k] === s.link);
    expect(dialed.map(([messages]) => messages.length)).toEqual([1, 2]);
    expect(s.link!.stats().messagesSent).toBe(3);
    // The responder read both at once: the session is bound and carries data.
    await s.send(Buffer.from('bound'));
    expect(await collect(peer, 1)).toEqual(['bound']);
  } finally {
    send.mockRestore();
  }
});

test('resumption with unchanged keys → established in one round trip, no new KEM', async () => {
  const alice = await listen();
  const bob = await listen();
  const firstInbound = nextSession(bob);
  const first = await alice.establish(bob.did, { addresses: bob.addresses });
  await firstInbound;
  const key = randomBytes(32);
  const stored = first.export(key);
  expect(Object.keys(stored).sort()).toEqual(['expiresAt', 'initiator', 'kemAt', 'keyEpoch', 'peerDid', 'sessionId', 'ticket']);
  await first.close();

  const inbound = nextSession(bob);
  const s = await alice.resume(bob.did, stored, { key, addresses: bob.addresses });
  const peer = await inbound;
  expect([s.state, s.resumed, peer.resumed]).toEqual(['established', true, true]);
  // One round trip and no KEM: the dialer sent the 84-byte hello, the 36-byte finish and the 41-byte
  // bind frame, and received one 68-byte answer; a full handshake sends a 1252-byte X-Wing key first.
  const stats = s.link!.stats();
  expect([stats.messagesSent, stats.bytesSent, stats.messagesReceived, stats.bytesReceived]).toEqual([3, 84 + 36 + 41, 1, 68]);
  await s.send(Buffer.from('resumed'));
  expect(await collect(peer, 1)).toEqual(['resumed']);

  // The ticket was single use: the same export falls back to a full handshake, as does a wrong key.
  await s.close();
  const again = await alice.resume(bob.did, stored, { key, addresses: bob.addresses });
  expect([again.state, again.resumed]).toEqual(['established', false]);
  await again.close();
  const wrongKey = await alice.resume(bob.did, again.export(key), { key: randomBytes(32), addresses: bob.addresses });
  expect([wrongKey.state, wrongKey.resumed]).toEqual(['established', false]);
});

test('rotation under load: 10 forced rotations and one TTL-driven one while both directions send, exactly once and in order', async () => {
  const config = { ttl: '3s', rotationWindow: '1500ms', handshakeTimeout: '1s' };
  const alice = await listen({ config });
  const bob = await listen({ config });
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  const peer = await inbound;
  const changes: StateChange[] = [];
  s.on('state', (c) => changes.push(c));
  let stop = false;
  const sent = { a: 0, b: 0 };
  const pump = async (from: Session, key: 'a' | 'b') => {
    while (!stop) {
      await from.send(Buffer.from(`${key}${sent[key]++}`));
      if (sent[key] % 50 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  // Receivers run throughout: with read-side backpressure a receiver that stops reading stops its sender.
  const drain = async (at: Session) => {
    const got: string[] = [];
    for (let m = String(await at.receive({ timeout: 20_000 })); m !== 'end'; m = String(await at.receive({ timeout: 20_000 }))) got.push(m);
    return got;
  };
  const received = Promise.all([drain(peer), drain(s)]);
  const pumps = [pump(s, 'a'), pump(peer, 'b')];
  for (let r = 0; r < 10; r++) {
    await s.rotate();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Keep sending until the key age reaches ttl − rotationWindow and that rotation completes too.
  await until(() => changes.some((c) => c.reason === 'rotation_due') && s.state === 'established');
  stop = true;
  await Promise.all(pumps);
  await Promise.all([s.send(Buffer.from('end')), peer.send(Buffer.from('end'))]);
  const [atBob, atAlice] = await received;
  expect(atBob).toEqual(seqMessages('a', sent.a));
  expect(atAlice).toEqual(seqMessages('b', sent.b));
  expect(changes.filter((c) => c.to === 'rotating' && c.reason === 'requested')).toHaveLength(10);
  expect(changes.filter((c) => c.to === 'rotating' && c.reason === 'rotation_due').length).toBeGreaterThanOrEqual(1);
  expect(s.keyEpoch).toBeGreaterThanOrEqual(12);
  expect(Math.min(sent.a, sent.b)).toBeGreaterThan(1000);
});

test('QUIC made unavailable mid-session → the session continues over μTCP, the caller sees no error', async () => {
  const alice = await listen({ quicIdleTimeout: 1000 });
  const bob = await listen({ quicIdleTimeout: 1000 });
  const relay = await udpRelay(bob.addresses.quic!);
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: { quic: relay.address, tcp: bob.addresses.tcp }, quicTimeout: 500 });
  const peer = await inbound;
  expect(s.transport).toBe('quic');
  const errors: unknown[] = [];
  s.on('error', (e) => errors.push(e));
  const before = seqMessages('m', 20);
  for (const m of before.slice(0, 10)) await s.send(Buffer.from(m));
  relay.close(); // UDP blocked from here on
  for (const m of before.slice(10)) await s.send(Buffer.from(m));
  expect(await collect(peer, 20)).toEqual(before);
  expect([s.transport, peer.transport]).toEqual(['tcp', 'tcp']);
  expect(s.state).toBe('established');
  expect(errors).toEqual([]);
  await peer.send(Buffer.from('back over tcp'));
  expect(await collect(s, 1)).toEqual(['back over tcp']);
});

test('QUIC unreachable at the first dial → the session opens over μTCP and says so on both sides', async () => {
  const alice = await listen();
  const bob = await listen();
  const dead = dgram.createSocket('udp4'); // bound and silent: QUIC never answers
  await new Promise<void>((r) => dead.bind(0, '127.0.0.1', () => r()));
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: { quic: `127.0.0.1:${dead.address().port}`, tcp: bob.addresses.tcp }, quicTimeout: 300 });
  const peer = await inbound;
  dead.close();
  expect([s.transport, peer.transport]).toEqual(['tcp', 'tcp']);
  await s.send(Buffer.from('over tcp'));
  expect(await collect(peer, 1)).toEqual(['over tcp']);
});

test('a peer that goes silent → degraded → messages queued → peer returns → queue flushed in order', async () => {
  const config = { heartbeatInterval: '300ms', heartbeatTimeout: '150ms', heartbeatTolerance: 2, linkLossTimeout: '1s' };
  const alice = await listen({ config });
  const bob = await listen({ config });
  const relay = await udpRelay(bob.addresses.quic!);
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: { quic: relay.address }, transport: 'quic' });
  const peer = await inbound;
  const states: string[] = [];
  s.on('state', (c) => states.push(c.to));
  relay.dropping = true;
  await new Promise<void>((resolve) => s.on('state', (c) => c.to === 'degraded' && resolve()));
  const queued = seqMessages('q', 10);
  for (const m of queued) await s.send(Buffer.from(m));
  expect(s.pending).toBeGreaterThanOrEqual(10);
  relay.dropping = false;
  expect(await collect(peer, 10)).toEqual(queued);
  await until(() => s.state === 'established');
  expect(states[0]).toBe('degraded');
  expect(states).toContain('established');
  relay.close();
});

test('authentication failure → ERR_L2_AUTH_FAILED, peer quarantined, then allowed again', async () => {
  const alice = await listen({ config: { quarantine: '1s' } });
  const bob = await listen();
  const impostorDid = Identity.generate().did; // bob's address, someone else's DID
  await expect(alice.establish(impostorDid, { addresses: bob.addresses })).rejects.toMatchObject({ code: 'ERR_L2_AUTH_FAILED' });
  const quarantined = await alice.establish(impostorDid, { addresses: bob.addresses }).catch((e: L2Error) => e);
  expect(quarantined).toMatchObject({ code: 'ERR_L2_QUARANTINED' });
  await new Promise((r) => setTimeout(r, 1100));
  await expect(alice.establish(impostorDid, { addresses: bob.addresses })).rejects.toMatchObject({ code: 'ERR_L2_AUTH_FAILED' });
  // The real bob is unaffected.
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  expect(s.state).toBe('established');
});

test('no answer within handshakeTimeout → ERR_L2_TIMEOUT', async () => {
  const alice = await listen({ config: { handshakeTimeout: '500ms' } });
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  const dead = `127.0.0.1:${silent.address().port}`;
  await expect(alice.establish(Identity.generate().did, { addresses: { quic: dead }, transport: 'quic' })).rejects.toMatchObject({ code: 'ERR_L2_TIMEOUT' });
  silent.close();
});

test('bad arguments to the session API are typed errors', async () => {
  const alice = await listen();
  await expect(alice.establish(42 as never)).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(alice.establish('did:web:example.com', { addresses: { tcp: '127.0.0.1:1' } })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(alice.establish(Identity.generate().did)).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(alice.establish(Identity.generate().did, { addresses: { tcp: '127.0.0.1:1' }, config: { ttl: 'forever' } })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(Node.listen({ identity: 'me' as never })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(Node.listen({ identity: Identity.generate(), config: { heartbeatInterval: -1 } })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
});

test('a rotation the peer never answers rejects rotate() with ERR_L2_ROTATION', async () => {
  const alice = await listen({ config: { handshakeTimeout: '500ms' } });
  const bob = await listen();
  const relay = await udpRelay(bob.addresses.quic!);
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: { quic: relay.address }, transport: 'quic' });
  await inbound;
  relay.dropping = true;
  await expect(s.rotate()).rejects.toMatchObject({ code: 'ERR_L2_ROTATION' });
  relay.close();
});

test('audit records go to a JSON-lines file: one per transition, no key material', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'l2-audit-')), 'audit.jsonl');
  const alice = await listen({ audit: file });
  const bob = await listen();
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  await s.rotate();
  await s.close();
  const records = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
  expect(records.map((r) => r.to)).toEqual(['handshake_initiated', 'established', 'rotating', 'established', 'closed']);
  expect(records.map((r) => r.keyEpoch)).toEqual([0, 1, 1, 2, 2]);
  // Identifiers only: the session id (8 bytes hex) and DIDs; no 32-byte value in any encoding.
  const text = fs.readFileSync(file, 'utf8');
  expect(text).not.toMatch(/[0-9a-f]{40,}/i);
  expect(text.replace(/did:key:z[1-9A-HJ-NP-Za-km-z]+/g, '')).not.toMatch(/[A-Za-z0-9+/]{40,}/);
});

test('receive() honours timeout and AbortSignal; async iteration ends at close', async () => {
  const alice = await listen();
  const bob = await listen();
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  const peer = await inbound;
  await expect(s.receive({ timeout: 50 })).rejects.toMatchObject({ code: 'ERR_L2_TIMEOUT' });
  await expect(s.receive({ timeout: -1 })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(s.receive({ signal: 'stop' as never })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  const abort = new AbortController();
  const pending = s.receive({ signal: abort.signal });
  abort.abort();
  await expect(pending).rejects.toMatchObject({ code: 'ERR_L2_ABORTED' });
  const got: string[] = [];
  const reading = (async () => {
    for await (const m of peer) got.push(String(m));
  })();
  for (const m of ['x', 'y', 'z']) await s.send(Buffer.from(m));
  await until(() => got.length === 3);
  await s.close();
  await reading;
  expect(got).toEqual(['x', 'y', 'z']);
  await expect(s.send(Buffer.from('late'))).rejects.toMatchObject({ code: 'ERR_L2_CLOSED' });
});

test('a resolver turns other DID methods into keys and addresses; a wrong key fails authentication', async () => {
  const bob = await listen();
  const resolver = new MemoryResolver().set('did:libertaria:bob', { publicKey: didToPublicKey(bob.did), addresses: bob.addresses });
  const alice = await listen({ resolver });
  const s = await alice.establish('did:libertaria:bob');
  expect([s.peerDid, s.state]).toEqual(['did:libertaria:bob', 'established']);
  resolver.set('did:libertaria:eve', { publicKey: Identity.generate().publicKey, addresses: bob.addresses });
  await expect(alice.establish('did:libertaria:eve')).rejects.toMatchObject({ code: 'ERR_L2_AUTH_FAILED' });
  await expect(alice.establish('did:libertaria:nobody')).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
});

test('node.tick() drives session timers for callers with their own clock', async () => {
  const clock = new FakeClock(1_000_000);
  const alice = await listen({ clock, config: { handshakeTimeout: '2s' } });
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  let settled = false;
  const pending = alice.establish(Identity.generate().did, { addresses: { quic: `127.0.0.1:${silent.address().port}` }, transport: 'quic' });
  pending.catch(() => undefined).finally(() => (settled = true));
  await new Promise((r) => setTimeout(r, 2500)); // real time passes; the injected clock does not
  expect(settled).toBe(false);
  alice.tick(clock.now() + 2001);
  await expect(pending).rejects.toMatchObject({ code: 'ERR_L2_TIMEOUT' });
  silent.close();
});

test('oversized messages are refused with ERR_L2_BAD_INPUT; the largest allowed one arrives', async () => {
  const alice = await listen();
  const bob = await listen();
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  const peer = await inbound;
  await expect(s.send(Buffer.alloc(MAX_MESSAGE_LEN + 1))).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(s.send('text' as never)).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  const largest = Buffer.alloc(MAX_MESSAGE_LEN, 0x5a);
  await s.send(largest);
  await s.send(Buffer.from('after'));
  expect((await peer.receive({ timeout: 10_000 })).equals(largest)).toBe(true);
  expect(String(await peer.receive({ timeout: 10_000 }))).toBe('after');
});

test('a receiver that stops reading holds its sender back (no unbounded buffering), then gets everything in order', async () => {
  const config = { queueLimit: 16 };
  const alice = await listen({ config });
  const bob = await listen({ config });
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  const peer = await inbound;
  let resolved = 0;
  const sends = seqMessages('m', 100).map((m) => s.send(Buffer.from(m)).then(() => resolved++));
  await new Promise((r) => setTimeout(r, 500));
  // Bob's application read nothing: at most the inbox (16) plus the window (16) went through.
  expect(resolved).toBeLessThanOrEqual(40);
  expect(s.pending).toBeLessThanOrEqual(16);
  expect(await collect(peer, 100)).toEqual(seqMessages('m', 100));
  await Promise.all(sends);
});

test('rotate() outside established rejects cleanly; a throwing listener becomes a warning, not a crash', async () => {
  const alice = await listen();
  const bob = await listen();
  const relay = await udpRelay(bob.addresses.quic!);
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: { quic: relay.address }, transport: 'quic', config: { heartbeatInterval: '200ms', heartbeatTimeout: '100ms', heartbeatTolerance: 1 } });
  await inbound;
  const warnings: string[] = [];
  s.on('warning', (w) => warnings.push(w.message));
  s.on('state', () => {
    throw new Error('listener bug');
  });
  relay.dropping = true;
  await until(() => s.state === 'degraded');
  await expect(s.rotate()).rejects.toMatchObject({ code: 'ERR_L2_INVALID_STATE' });
  expect(warnings.some((w) => w.includes("'state' listener threw"))).toBe(true);
  await s.close(); // would surface an orphaned rotate() waiter as an unhandled rejection
  relay.close();
});

test('resuming after a crash while the peer still holds the old session starts both sides afresh', async () => {
  const identity = Identity.generate();
  const bob = await listen();
  const bobSessions: Session[] = [];
  bob.on('session', (x) => bobSessions.push(x));
  const alice1 = await Node.listen({ identity });
  const first = await alice1.establish(bob.did, { addresses: bob.addresses });
  for (const m of ['a1', 'a2', 'a3']) await first.send(Buffer.from(m));
  await new Promise((r) => setTimeout(r, 100));
  expect(await collect(bobSessions[0], 3)).toEqual(['a1', 'a2', 'a3']);
  const key = randomBytes(32);
  const stored = first.export(key);
  first.link!.abort(); // the process dies: no close frame reaches bob
  await alice1.close();
  expect(bobSessions[0].state).not.toBe('closed');

  const alice2 = await listen({ identity });
  const s = await alice2.resume(bob.did, stored, { key, addresses: bob.addresses });
  expect(s.resumed).toBe(true);
  await s.send(Buffer.from('after resume'));
  await new Promise((r) => setTimeout(r, 100));
  expect(bobSessions).toHaveLength(2);
  expect(bobSessions[0].state).toBe('closed');
  expect(await collect(bobSessions[1], 1)).toEqual(['after resume']);
});
