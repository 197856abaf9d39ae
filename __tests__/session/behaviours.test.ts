/**
 * The eleven session behaviours of REQUIREMENTS.md, each on virtual time with two machines talking
 * through the mock transport.
 */
import { FakeClock } from '../../ts/session/clock';
import { createPeerPair, type MockPacket, type MockPeer } from '../../ts/session/mock-peer';
import { MockLink } from '../../ts/session/mock-transport';
import { rotationDueAt } from '../../ts/session/transition';

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const LATENCY = 10;

function establishPair(clock: FakeClock, options: Parameters<typeof createPeerPair>[1] = {}) {
  const pair = createPeerPair(clock, { link: { latency: LATENCY }, ...options });
  pair.alice.driver.input((m, now) => m.establish(now));
  clock.advance(3 * LATENCY);
  expect(pair.alice.machine.state).toBe('established');
  expect(pair.bob.machine.state).toBe('established');
  return pair;
}

const moves = (peer: MockPeer) => peer.audit.map((r) => `${r.from}>${r.to}:${r.reason}`);
const warnings = (peer: MockPeer) => peer.notices.filter((n) => n.type === 'warning');
const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (peer: MockPeer) => peer.received.map((r) => new TextDecoder().decode(r.data));
const sentOf = (peer: MockPeer, kind: MockPacket['kind']) => peer.sent.filter((s) => s.packet.kind === kind);

test('1. new peer: establish → handshake_initiated → response verified → established, keys derived, TTL 24 h', () => {
  const clock = new FakeClock(1000);
  const { alice, bob } = createPeerPair(clock, { link: { latency: LATENCY } });
  alice.driver.input((m, now) => m.establish(now));
  expect(alice.machine.state).toBe('handshake_initiated');
  expect(alice.handshakes).toEqual([{ kind: 'full', role: 'initiator', at: 1000 }]);

  clock.advance(2 * LATENCY); // hello out, reply back: the initiator verifies the response
  expect(alice.machine.state).toBe('established');
  expect(bob.machine.state).toBe('handshake_received'); // the responder waits for key confirmation
  clock.advance(LATENCY);
  expect(bob.machine.state).toBe('established');

  expect(moves(alice)).toEqual(['idle>handshake_initiated:establish', 'handshake_initiated>established:handshake_confirmed']);
  expect(moves(bob)).toEqual(['idle>handshake_received:peer_hello', 'handshake_received>established:handshake_confirmed']);
  expect(alice.machine.snapshot.keyEpoch).toBe(1);
  expect(bob.machine.snapshot.keyEpoch).toBe(1);
  expect(alice.kemCount).toBe(1);
  expect(alice.machine.snapshot.expiresAt).toBe(1020 + 24 * HOUR);
  expect(rotationDueAt(alice.machine.snapshot)).toBe(1020 + 23 * HOUR);
});

test('2. resumption with unchanged keys → established in one round trip, no new KEM', () => {
  const clock = new FakeClock();
  const first = establishPair(clock);
  const aliceStored = first.alice.machine.export();
  const bobStored = first.bob.machine.export();
  first.alice.driver.input((m, now) => m.close(now));
  first.bob.driver.input((m, now) => m.close(now));

  clock.advance(HOUR);
  const { alice, bob } = createPeerPair(clock, { link: { latency: LATENCY }, alice: { stored: aliceStored }, bob: { stored: bobStored } });
  const start = clock.now();
  alice.driver.input((m, now) => m.establish(now));
  clock.advance(2 * LATENCY);
  expect(alice.machine.state).toBe('established');
  expect(clock.now() - start).toBe(2 * LATENCY); // one round trip, well under 100 ms
  clock.advance(LATENCY);
  expect(bob.machine.state).toBe('established');
  expect(alice.handshakes.map((h) => h.kind)).toEqual(['resume']);
  expect(alice.kemCount + bob.kemCount).toBe(0);
  expect(alice.machine.snapshot.keyEpoch).toBe(2);
  // The key age is not reset by a resumption, so rotation stays due 23 h after the original KEM.
  expect(alice.machine.snapshot.kemAt).toBe(aliceStored.kemAt);
});

test('2b. a resumption ticket dies with the TTL: an expired one runs a full handshake', () => {
  const clock = new FakeClock();
  const first = establishPair(clock);
  const stored = first.alice.machine.export();
  clock.advance(25 * HOUR);
  const { alice } = createPeerPair(clock, { link: { latency: LATENCY }, alice: { stored } });
  alice.driver.input((m, now) => m.establish(now));
  expect(alice.handshakes.map((h) => h.kind)).toEqual(['full']);
});

test('3. no answer in 5 s → failed with reason timeout, retry scheduled with exponential backoff', () => {
  const clock = new FakeClock();
  const { alice, link } = createPeerPair(clock, { link: { latency: LATENCY }, alice: { config: { maxRetries: 7 } } });
  link.partition();
  alice.driver.input((m, now) => m.establish(now));
  clock.advance(5 * SECOND - 1);
  expect(alice.machine.state).toBe('handshake_initiated');
  clock.advance(1);
  expect(alice.machine.state).toBe('failed');
  expect(alice.audit.at(-1)?.reason).toBe('timeout');

  clock.advance(10 * 60 * SECOND);
  const records = alice.audit;
  const gaps: number[] = [];
  records.forEach((r, i) => {
    if (r.to === 'failed') {
      expect(r.reason).toBe('timeout');
      const next = records[i + 1];
      if (next?.to === 'handshake_initiated') gaps.push(next.time - r.time);
    }
  });
  expect(gaps).toEqual([1, 2, 4, 8, 16, 30, 30].map((s) => s * SECOND));
  expect(records.at(-1)).toMatchObject({ from: 'failed', to: 'closed', reason: 'retries_exhausted' });
});

test('4. invalid signature → failed, reason authentication_failed, peer quarantined 60 s', () => {
  const clock = new FakeClock();
  const { alice, bob } = createPeerPair(clock, { link: { latency: LATENCY } });
  bob.forgeSignatures = true;
  alice.driver.input((m, now) => m.establish(now));
  clock.advance(2 * LATENCY);
  const failedAt = clock.now();
  expect(alice.machine.state).toBe('failed');
  expect(alice.audit.at(-1)?.reason).toBe('authentication_failed');
  expect(alice.notices).toContainEqual({ type: 'quarantine', peerDid: 'did:key:z6MkBob', until: failedAt + 60 * SECOND });
  // The 1 s backoff is overridden: no attempt before the quarantine ends.
  expect(alice.machine.nextDeadline()).toBe(failedAt + 60 * SECOND);

  alice.inject({ kind: 'hs_hello', handshake: 'full', epoch: 1 });
  expect(alice.machine.state).toBe('failed');
  expect(warnings(alice).map((w) => w.code)).toContain('ERR_L2_QUARANTINED');

  clock.advanceTo(failedAt + 60 * SECOND - 1);
  expect(alice.handshakes).toHaveLength(1);
  clock.advance(1);
  expect(alice.handshakes).toHaveLength(2);
  expect(alice.audit.at(-1)).toMatchObject({ to: 'handshake_initiated', time: failedAt + 60 * SECOND });
  // The ticket died with the authentication failure: the retry is a full handshake.
  expect(alice.handshakes[1]?.kind).toBe('full');
});

test('4b. an authentication failure during resumption kills the ticket: the retry after quarantine is a full handshake', () => {
  const clock = new FakeClock();
  const { alice, bob, link } = establishPair(clock);
  link.partition();
  clock.advance(6 * 60 * SECOND);
  expect(alice.machine.state).toBe('suspended');
  bob.forgeSignatures = true;
  link.heal();
  expect(alice.handshakes.at(-1)?.kind).toBe('resume');
  clock.advance(2 * LATENCY);
  expect(alice.audit.at(-1)).toMatchObject({ to: 'failed', reason: 'authentication_failed' });
  clock.advance(60 * SECOND);
  expect(alice.handshakes.at(-1)).toMatchObject({ kind: 'full', role: 'initiator' });
});

test('5. quiet for 30 s → heartbeat sent, answered within 2 s, TTL extended', () => {
  const clock = new FakeClock();
  const { alice, bob } = establishPair(clock);
  const establishedAt = alice.audit.at(-1)!.time;
  const ttlBefore = alice.machine.snapshot.expiresAt!;
  clock.advance(establishedAt + 30 * SECOND - clock.now() - 1);
  expect(sentOf(alice, 'heartbeat')).toHaveLength(0);
  clock.advance(1);
  expect(sentOf(alice, 'heartbeat')).toEqual([{ packet: { kind: 'heartbeat', counter: 1 }, at: establishedAt + 30 * SECOND }]);
  clock.advance(2 * SECOND);
  expect(sentOf(bob, 'heartbeat_ack')).toEqual([{ packet: { kind: 'heartbeat_ack', counter: 1 }, at: establishedAt + 30 * SECOND + LATENCY }]);
  const answeredAt = establishedAt + 30 * SECOND + 2 * LATENCY;
  expect(alice.machine.snapshot.expiresAt).toBe(answeredAt + 24 * HOUR);
  expect(alice.machine.snapshot.expiresAt).toBeGreaterThan(ttlBefore);
  expect(warnings(alice)).toEqual([]);
  expect(alice.machine.state).toBe('established');
});

test('5b. an idle pair: one side probes, the other only answers (no crossing heartbeats)', () => {
  const clock = new FakeClock();
  const { alice, bob } = establishPair(clock);
  clock.advance(10 * 60 * SECOND);
  const probes = sentOf(alice, 'heartbeat').length;
  expect(probes).toBeGreaterThanOrEqual(19);
  expect(sentOf(bob, 'heartbeat')).toEqual([]);
  expect(sentOf(bob, 'heartbeat_ack')).toHaveLength(probes);
  expect([alice.machine.state, bob.machine.state]).toEqual(['established', 'established']);
  expect([...warnings(alice), ...warnings(bob)]).toEqual([]);
});

test('6. one missed heartbeat, then a good one → stays established, a warning is logged', () => {
  const clock = new FakeClock();
  const { alice, link } = establishPair(clock);
  const t0 = alice.audit.at(-1)!.time;
  const loseHeartbeatAt = (at: number) => {
    clock.advanceTo(at - 1);
    link.configure({ loss: 1 });
    clock.advance(2 * SECOND + 100);
    link.configure({ loss: 0 });
  };
  loseHeartbeatAt(t0 + 30 * SECOND);
  expect(warnings(alice)).toHaveLength(1);
  expect(warnings(alice)[0]).toMatchObject({ code: 'ERR_L2_TIMEOUT', message: expect.stringContaining('1 of 3 missed') });

  clock.advanceTo(t0 + 60 * SECOND + 2 * SECOND); // the next heartbeat is answered
  expect(sentOf(alice, 'heartbeat')).toHaveLength(2);
  expect(alice.machine.state).toBe('established');
  expect(warnings(alice)).toHaveLength(1);

  // The good answer reset the count: the next miss is again the first of three, not the second.
  loseHeartbeatAt(t0 + 90 * SECOND);
  expect(warnings(alice)[1]).toMatchObject({ message: expect.stringContaining('1 of 3 missed') });
  expect(alice.machine.state).toBe('established');
});

test('7. heartbeats missed heartbeatTolerance times → degraded, messages queued, session kept; degraded too long → suspended, queue held, recovery attempted after 60 s', () => {
  const clock = new FakeClock();
  const { alice, link } = establishPair(clock);
  const t0 = alice.audit.at(-1)!.time;
  link.configure({ loss: 1 }); // a silent peer: the transport notices nothing
  clock.advanceTo(t0 + 90 * SECOND + 2 * SECOND - 1);
  expect(alice.machine.state).toBe('established');
  clock.advance(1);
  expect(alice.machine.state).toBe('degraded');
  expect(alice.audit.at(-1)?.reason).toBe('heartbeats_missed');

  const dataBefore = sentOf(alice, 'data').length;
  expect(alice.send(bytes('held 1'))).toBe(1);
  expect(alice.send(bytes('held 2'))).toBe(2);
  expect(sentOf(alice, 'data')).toHaveLength(dataBefore); // queued, not sent
  expect(alice.machine.held).toBe(2);

  const degradedAt = clock.now();
  clock.advanceTo(degradedAt + 5 * 60 * SECOND);
  expect(alice.machine.state).toBe('suspended');
  expect(alice.audit.at(-1)?.reason).toBe('degraded_too_long');
  expect(alice.machine.held).toBe(2);

  clock.advance(60 * SECOND - 1);
  expect(alice.machine.state).toBe('suspended');
  clock.advance(1);
  expect(alice.audit.at(-1)).toMatchObject({ from: 'suspended', to: 'handshake_initiated', reason: 'retry' });
  expect(alice.handshakes.at(-1)?.kind).toBe('resume');
});

/** An established pair whose link then drops everything until alice degrades (3 missed heartbeats). */
function degradedBySilence(clock: FakeClock) {
  const pair = establishPair(clock);
  const t0 = pair.alice.audit.at(-1)!.time;
  pair.link.configure({ loss: 1 });
  clock.advanceTo(t0 + 92 * SECOND);
  expect(pair.alice.machine.state).toBe('degraded');
  return { ...pair, t0 };
}

test('7c. a silent peer that speaks again restores the session; old misses do not count towards the next degrade', () => {
  const clock = new FakeClock();
  const { alice, link, t0 } = degradedBySilence(clock);
  link.configure({ loss: 0 }); // no link notice: only the peer's next heartbeat shows it is back
  clock.advanceTo(t0 + 121 * SECOND);
  expect(alice.audit.at(-1)).toMatchObject({ from: 'degraded', to: 'established', reason: 'link_restored' });
  const warningsBefore = warnings(alice).length;
  link.configure({ loss: 1 }); // one more lost heartbeat: a first miss again, not a fourth
  clock.advance(32 * SECOND);
  expect(alice.machine.state).toBe('established');
  expect(warnings(alice).slice(warningsBefore)[0]).toMatchObject({ message: expect.stringContaining('1 of 3 missed') });
});

test('7d. recovery through the transport\'s link-up also forgets old heartbeat misses', () => {
  const clock = new FakeClock();
  const { alice, link, t0 } = degradedBySilence(clock);
  link.partition();
  link.heal(); // the transport reconnected
  expect(alice.machine.state).toBe('established');
  clock.advanceTo(t0 + 125 * SECOND); // the next probe is still lost
  expect(alice.machine.state).toBe('established');
  expect(warnings(alice).at(-1)).toMatchObject({ message: expect.stringContaining('1 of 3 missed') });
});

test('7b. link lost > 30 s → degraded, session kept', () => {
  const clock = new FakeClock();
  const { alice, bob, link } = establishPair(clock);
  link.partition();
  clock.advance(30 * SECOND - 1);
  expect(alice.machine.state).toBe('established');
  clock.advance(1);
  expect(alice.machine.state).toBe('degraded');
  expect(bob.machine.state).toBe('degraded');
  expect(alice.audit.at(-1)?.reason).toBe('link_lost');
});

test('8. link restored → re-establish, queued messages flushed in order, none lost or duplicated', () => {
  const clock = new FakeClock();
  const { alice, bob, link } = establishPair(clock);
  for (let i = 1; i <= 5; i++) alice.send(bytes(`m${i}`));
  clock.advance(100);
  for (let i = 6; i <= 8; i++) alice.send(bytes(`m${i}`));
  link.partition(); // m6..m8 die in flight
  clock.advance(31 * SECOND);
  expect(alice.machine.state).toBe('degraded');
  for (let i = 9; i <= 12; i++) alice.send(bytes(`m${i}`));
  bob.send(bytes('b1'));

  link.heal();
  expect(alice.audit.at(-1)).toMatchObject({ from: 'degraded', to: 'established', reason: 'link_restored' });
  clock.advance(100);
  expect(texts(bob)).toEqual(Array.from({ length: 12 }, (_, i) => `m${i + 1}`));
  expect(bob.received.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  expect(texts(alice)).toEqual(['b1']);
  expect(alice.machine.held).toBe(0); // every message acknowledged
  expect(bob.machine.held).toBe(0);
});

test('8b. link restored after suspension → resumed session, queued messages flushed in order, none lost or duplicated', () => {
  const clock = new FakeClock();
  const { alice, bob, link } = establishPair(clock);
  alice.send(bytes('m1'));
  clock.advance(100);
  link.partition();
  clock.advance(6 * 60 * SECOND);
  expect(alice.machine.state).toBe('suspended');
  expect(bob.machine.state).toBe('suspended');
  alice.send(bytes('m2'));
  alice.send(bytes('m3'));

  link.heal(); // both sides retry at once: the opener keeps the initiator role, the other answers
  clock.advance(100);
  expect(alice.machine.state).toBe('established');
  expect(bob.machine.state).toBe('established');
  expect(texts(bob)).toEqual(['m1', 'm2', 'm3']);
  expect(alice.kemCount + bob.kemCount).toBe(2); // only the original handshake ran a KEM on each side
  expect(alice.machine.held).toBe(0);
});

function trafficBothWays(clock: FakeClock, alice: MockPeer, bob: MockPeer, until: number, every: number): { a: string[]; b: string[] } {
  const sent = { a: [] as string[], b: [] as string[] };
  while (clock.now() < until) {
    const a = `a${sent.a.length + 1}`;
    const b = `b${sent.b.length + 1}`;
    alice.send(bytes(a));
    bob.send(bytes(b));
    sent.a.push(a);
    sent.b.push(b);
    clock.advance(every);
  }
  return sent;
}

test('9. session age reaches TTL − rotationWindow → new ephemeral keys, re-handshake inside the session, no message lost, duplicated or reordered while traffic flows in both directions', () => {
  const clock = new FakeClock();
  const config = { ttl: '10m', rotationWindow: '1m' };
  const { alice, bob } = establishPair(clock, { alice: { config }, bob: { config } });
  const t0 = alice.audit.at(-1)!.time;

  const part1 = trafficBothWays(clock, alice, bob, t0 + 2 * 60 * SECOND, 50);
  alice.driver.input((m, now) => m.rotate(now)); // asked for, mid-traffic
  const part2 = trafficBothWays(clock, alice, bob, t0 + 4 * 60 * SECOND, 50);
  bob.driver.input((m, now) => m.rotate(now)); // the other side may ask too
  const part3 = trafficBothWays(clock, alice, bob, t0 + 25 * 60 * SECOND, 100);
  clock.advance(SECOND);

  const rotations = moves(alice).filter((m) => m.startsWith('established>rotating'));
  expect(rotations.filter((m) => m.endsWith('rotation_due')).length).toBeGreaterThanOrEqual(2);
  expect(rotations).toContain('established>rotating:requested');
  expect(rotations).toContain('established>rotating:peer_requested');
  expect(alice.machine.snapshot.keyEpoch).toBe(1 + rotations.length);
  expect(bob.machine.snapshot.keyEpoch).toBe(alice.machine.snapshot.keyEpoch);
  // Data kept flowing during rotations rather than waiting for them.
  const rotatingSpans = alice.audit.filter((r) => r.to === 'rotating').map((r) => r.time);
  expect(sentOf(alice, 'data').some((s) => rotatingSpans.some((t) => s.at >= t && s.at < t + 2 * LATENCY))).toBe(true);

  expect(texts(bob)).toEqual([...part1.a, ...part2.a, ...part3.a]);
  expect(texts(alice)).toEqual([...part1.b, ...part2.b, ...part3.b]);
  expect(moves(alice).some((m) => /degraded|failed|suspended/.test(m))).toBe(false);
});

test('10. QUIC fails (UDP blocked) → the session continues over μTCP, invisibly to the caller', () => {
  const clock = new FakeClock();
  const { alice, bob, link: quic } = establishPair(clock);
  const tcp = new MockLink<MockPacket>(clock, { latency: 2 * LATENCY, kind: 'tcp' });
  const auditBefore = [alice.audit.length, bob.audit.length];

  const part1 = trafficBothWays(clock, alice, bob, clock.now() + 5 * SECOND, 100);
  quic.partition(); // UDP blocked: frames in flight die with it
  const part2 = trafficBothWays(clock, alice, bob, clock.now() + SECOND, 100);
  alice.attach(tcp.a); // the node's transport layer falls back to μTCP
  bob.attach(tcp.b);
  alice.driver.input((m, now) => m.handleTransportChanged('tcp', now));
  bob.driver.input((m, now) => m.handleTransportChanged('tcp', now));
  const part3 = trafficBothWays(clock, alice, bob, clock.now() + 60 * SECOND, 100);
  clock.advance(SECOND);

  expect([alice.audit.length, bob.audit.length]).toEqual(auditBefore); // no state change at all
  expect(warnings(alice)).toEqual([]);
  expect(warnings(bob)).toEqual([]);
  expect(texts(bob)).toEqual([...part1.a, ...part2.a, ...part3.a]);
  expect(texts(alice)).toEqual([...part1.b, ...part2.b, ...part3.b]);
  expect(alice.machine.snapshot.transport).toBe('tcp');
  expect(alice.notices).toContainEqual({ type: 'transport_changed', from: 'quic', to: 'tcp' });
  alice.driver.input((m, now) => m.rotate(now));
  expect(alice.audit.at(-1)?.transport).toBe('tcp');
});

test('11. monotonic counters: a replayed heartbeat or frame is rejected', () => {
  const clock = new FakeClock();
  const { alice, bob } = establishPair(clock);
  alice.send(bytes('once'));
  clock.advanceTo(alice.audit.at(-1)!.time + 30 * SECOND + 100); // heartbeat 1 sent and answered
  expect(sentOf(bob, 'heartbeat_ack').map((s) => s.packet)).toContainEqual({ kind: 'heartbeat_ack', counter: 1 });
  const acksBefore = sentOf(bob, 'heartbeat_ack').length;
  clock.advance(SECOND);
  const ttlBefore = bob.machine.snapshot.expiresAt;

  bob.inject({ kind: 'heartbeat', counter: 1 }); // replayed
  bob.inject({ kind: 'heartbeat', counter: 0 }); // older still
  expect(sentOf(bob, 'heartbeat_ack')).toHaveLength(acksBefore);
  expect(warnings(bob).map((w) => w.code)).toEqual(['ERR_L2_REPLAY', 'ERR_L2_REPLAY']);
  expect(bob.machine.snapshot.expiresAt).toBe(ttlBefore); // a replay keeps nothing alive

  bob.inject({ kind: 'data', seq: 1, payload: bytes('replayed') });
  expect(texts(bob)).toEqual(['once']);

  alice.inject({ kind: 'heartbeat_ack', counter: 1 }); // an answer replayed to the prober
  expect(warnings(alice).map((w) => w.code)).toEqual(['ERR_L2_REPLAY']);

  bob.inject({ kind: 'heartbeat', counter: 2 }); // a fresh counter still works
  expect(sentOf(bob, 'heartbeat_ack')).toHaveLength(acksBefore + 1);
});
