/**
 * AbortSignal on establish, resume, receive and close, with real nodes on loopback. An aborted call
 * rejects with ERR_L2_ABORTED and leaves no session behind on either node.
 */
import { randomBytes } from 'node:crypto';
import { FakeClock, Identity, Node, Session } from '../../ts';
import { closeNodes, listen, nextSession, pair, rejection, silentTcp, udpRelay, until } from './helpers';

jest.setTimeout(120_000);
afterEach(closeNodes);

/** A handshake timeout far beyond any test, so a rejection can only come from the abort. */
const patient = { config: { handshakeTimeout: '10m' } };

test('establish with an already aborted signal rejects ERR_L2_ABORTED and contacts nobody', async () => {
  const alice = await listen();
  const bob = await listen();
  const code = await rejection(alice.establish(bob.did, { addresses: bob.addresses, signal: AbortSignal.abort() }));
  expect(code).toBe('ERR_L2_ABORTED');
  expect(alice.sessions).toHaveLength(0);
  expect(bob.sessions).toHaveLength(0);
  expect(bob.transport.stats().linksAccepted).toBe(0);
});

test('abort while waiting for the handshake answer (μTCP): rejects at once, drops the link, leaves no timer', async () => {
  // A fake clock that never moves: the handshake cannot time out, and its pending timers can be counted.
  const clock = new FakeClock(1_000_000);
  const alice = await listen({ clock });
  const silent = await silentTcp();
  const controller = new AbortController();
  const attempt = alice.establish(Identity.generate().did, { addresses: { tcp: silent.address }, transport: 'tcp', signal: controller.signal });
  const socket = await silent.connected; // our first handshake message arrived: the handshake is under way
  const dropped = new Promise((r) => socket.once('close', r));
  expect(alice.sessions).toHaveLength(1);
  expect(clock.nextAt()).not.toBeNull(); // the handshake timer
  controller.abort();
  expect(await rejection(attempt)).toBe('ERR_L2_ABORTED');
  expect(alice.sessions).toHaveLength(0);
  expect(clock.nextAt()).toBeNull(); // nothing left scheduled
  await dropped; // the peer sees the connection end
  silent.close();
});

test('abort while QUIC cannot connect: rejects at once with ERR_L2_ABORTED', async () => {
  const alice = await listen(patient);
  const bob = await listen();
  const relay = await udpRelay(bob.addresses.quic!);
  relay.dropping = true;
  const controller = new AbortController();
  const attempt = alice.establish(bob.did, { addresses: { quic: relay.address }, transport: 'quic', signal: controller.signal });
  await until(() => alice.sessions.length === 1 && alice.sessions[0].state === 'handshake_initiated');
  controller.abort();
  expect(await rejection(attempt)).toBe('ERR_L2_ABORTED');
  expect(alice.sessions).toHaveLength(0);
  expect(bob.sessions).toHaveLength(0);
  relay.close();
});

test('aborting at every point of a real handshake leaves no half-open session on either node', async () => {
  const alice = await listen();
  const bobs: Node[] = [];
  const bobSaw: Session[] = [];
  const outcomes = { aborted: 0, established: 0 };
  // Abort after 0..n turns of the event loop: before the dial, during it, during the handshake, after the bind.
  // A fresh peer each time: a source that keeps dropping handshakes gets quarantined by the peer's flood limits.
  // The last rounds abort from bob's 'session' event: bob holds the session already, alice may not yet.
  for (let turns = 0; turns < 40; turns++) {
    const bob = await listen();
    const controller = new AbortController();
    const onBobSession = turns >= 30;
    bob.on('session', (s) => {
      bobSaw.push(s);
      if (onBobSession) controller.abort();
    });
    bobs.push(bob);
    const attempt = alice.establish(bob.did, { addresses: bob.addresses, transport: turns % 2 === 0 ? 'quic' : 'tcp', signal: controller.signal });
    if (onBobSession) await Promise.allSettled([attempt]);
    else for (let k = 0; k < turns; k++) await new Promise((r) => setImmediate(r));
    controller.abort();
    try {
      const s = await attempt;
      outcomes.established++;
      await s.close();
    } catch (err) {
      expect(err).toMatchObject({ name: 'L2Error', code: 'ERR_L2_ABORTED' });
      outcomes.aborted++;
    }
  }
  expect(outcomes.aborted).toBeGreaterThan(0);
  // Sessions bob opened for attempts aborted after their bind frame got a close frame: all end.
  await until(() => alice.sessions.length === 0 && bobs.every((b) => b.sessions.length === 0));
  expect(bobSaw.length).toBeGreaterThanOrEqual(10); // the rounds aborted from bob's side all reached it
  expect(bobSaw.every((s) => s.state === 'closed')).toBe(true);
  // And alice still works.
  const bob = await listen();
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  await s.send(Buffer.from('after the aborts'));
  expect(String(await (await inbound).receive({ timeout: 20_000 }))).toBe('after the aborts');
});

test('resume with an aborted signal rejects ERR_L2_ABORTED; the unused ticket still resumes afterwards', async () => {
  const { alice, bob, a } = await pair(patient);
  const key = randomBytes(32);
  const stored = a.export(key);
  await a.close();
  expect(await rejection(alice.resume(bob.did, stored, { key, addresses: bob.addresses, signal: AbortSignal.abort() }))).toBe('ERR_L2_ABORTED');
  // Abort while the resume hello waits for an answer that never comes.
  const silent = await silentTcp();
  const controller = new AbortController();
  const attempt = alice.resume(bob.did, stored, { key, addresses: { tcp: silent.address }, transport: 'tcp', signal: controller.signal });
  await silent.connected;
  controller.abort();
  expect(await rejection(attempt)).toBe('ERR_L2_ABORTED');
  silent.close();
  expect(alice.sessions).toHaveLength(0);
  const resumed = await alice.resume(bob.did, stored, { key, addresses: bob.addresses });
  expect(resumed.resumed).toBe(true);
});

test('receive({ signal }): a pending receive rejects ERR_L2_ABORTED and the next message goes to the next receive', async () => {
  const { a, b } = await pair();
  const controller = new AbortController();
  const pending = b.receive({ signal: controller.signal });
  controller.abort();
  expect(await rejection(pending)).toBe('ERR_L2_ABORTED');
  expect(await rejection(b.receive({ signal: AbortSignal.abort() }))).toBe('ERR_L2_ABORTED');
  await a.send(Buffer.from('kept'));
  expect(String(await b.receive({ timeout: 20_000 }))).toBe('kept');
});

test('close({ signal }): a close waiting on a vanished peer is made immediate; both nodes end up without the session', async () => {
  const alice = await listen();
  // bob gives up on a silent dialer quickly, so its side of the session ends too.
  const bob = await listen({
    quicIdleTimeout: 500,
    config: { heartbeatInterval: '200ms', heartbeatTimeout: '100ms', heartbeatTolerance: 1, linkLossTimeout: '100ms', degradedTimeout: '200ms', suspendedRetry: '100ms', handshakeTimeout: '200ms', backoff: { initial: '50ms', max: '100ms' }, maxRetries: 0 },
  });
  const relay = await udpRelay(bob.addresses.quic!);
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: { quic: relay.address }, transport: 'quic' });
  await inbound;
  relay.dropping = true; // bob vanishes: a graceful close would wait for the transport's linger
  await s.send(Buffer.from('never acknowledged'));
  let settled = false;
  const controller = new AbortController();
  const closing = s.close({ signal: controller.signal }).finally(() => (settled = true));
  await new Promise((r) => setImmediate(r));
  expect(settled).toBe(false);
  controller.abort();
  expect(await rejection(closing)).toBe('ERR_L2_ABORTED');
  expect(s.state).toBe('closed');
  expect(alice.sessions).toHaveLength(0);
  await until(() => bob.sessions.length === 0);
  relay.close();
});

test('close({ signal }) resolves normally when nothing aborts, and an already aborted signal closes at once', async () => {
  const { alice, bob, a, b } = await pair();
  const controller = new AbortController();
  await a.close({ signal: controller.signal });
  controller.abort(); // after the close: nothing left to abort
  expect(a.state).toBe('closed');
  await until(() => b.state === 'closed');
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  const peer = await inbound;
  expect(await rejection(s.close({ signal: AbortSignal.abort() }))).toBe('ERR_L2_ABORTED');
  expect(s.state).toBe('closed');
  // The close frame was queued before the link was dropped; whether or not it got out, bob's session ends.
  expect(['closed', 'established', 'degraded']).toContain(peer.state);
  expect(await rejection(a.close({ signal: 'x' } as never))).toBe('ERR_L2_BAD_INPUT');
});
