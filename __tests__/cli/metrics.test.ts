/**
 * Prometheus metrics of real nodes on loopback: every metric is read back from the registry's
 * text exposition after the behaviour that moves it.
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { Registry } from 'prom-client';
import { Identity, L2Error, Node, Session, createMetrics } from '../../ts';
import type { NodeMetrics } from '../../ts';
import { forgedFrame, parseProm, sample, waitFor } from './helpers';

jest.setTimeout(60_000);

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function listen(): Promise<{ node: Node; metrics: NodeMetrics }> {
  const node = await Node.listen({ identity: Identity.generate() });
  const metrics = createMetrics(node);
  cleanup.push(() => node.close());
  return { node, metrics };
}

async function scrape(metrics: NodeMetrics) {
  return parseProm(await metrics.metrics());
}

function nextSession(node: Node): Promise<Session> {
  return new Promise((resolve) => node.once('session', resolve));
}

/** A UDP port with nothing answering QUIC on it. */
async function silentUdpPort(): Promise<string> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  cleanup.push(() => new Promise<void>((r) => sock.close(() => r())));
  return `127.0.0.1:${sock.address().port}`;
}

test('handshakes, sessions by state, bytes and frames, rotations and RTT follow a session through its life', async () => {
  const alice = await listen();
  const bob = await listen();
  const accepted = nextSession(bob.node);
  const s = await alice.node.establish(bob.node.did, { addresses: bob.node.addresses, transport: 'quic' });
  const peer = await accepted;
  await s.send(Buffer.from('ping'));
  expect(String(await peer.receive({ timeout: 20_000 }))).toBe('ping');
  await peer.send(Buffer.alloc(4096, 1));
  await s.receive({ timeout: 20_000 });

  let a = await scrape(alice.metrics);
  let b = await scrape(bob.metrics);
  expect(sample(a, 'l2_handshakes_total', { role: 'initiator', outcome: 'ok' })).toBe(1);
  expect(sample(b, 'l2_handshakes_total', { role: 'responder', outcome: 'ok' })).toBe(1);
  expect(sample(a, 'l2_sessions', { state: 'established' })).toBe(1);
  expect(sample(a, 'l2_sessions', { state: 'degraded' })).toBe(0);
  expect(sample(a, 'l2_session_transitions_total', { from: 'idle', to: 'handshake_initiated' })).toBe(1);
  expect(sample(b, 'l2_bytes_total', { direction: 'out' })).toBeGreaterThan(4096);
  expect(sample(a, 'l2_bytes_total', { direction: 'in' })).toBeGreaterThan(4096);
  expect(sample(a, 'l2_frames_total', { direction: 'out' })).toBeGreaterThan(0);
  expect(sample(b, 'l2_frames_total', { direction: 'in' })).toBeGreaterThan(0);
  expect(sample(a, 'l2_rtt_seconds', { stat: 'mean' })).toBeGreaterThan(0);

  await s.rotate();
  await waitFor('rotation on both sides', async () => sample(await scrape(bob.metrics), 'l2_rotations_total', { outcome: 'ok' }) === 1);
  a = await scrape(alice.metrics);
  expect(sample(a, 'l2_rotations_total', { outcome: 'ok' })).toBe(1);
  expect(sample(a, 'l2_rotations_total', { outcome: 'failed' })).toBe(0);

  const bytesBefore = sample(a, 'l2_bytes_total', { direction: 'out' })!;
  await s.close();
  await waitFor('bob sees the close', () => peer.state === 'closed');
  a = await scrape(alice.metrics);
  b = await scrape(bob.metrics);
  expect(sample(a, 'l2_sessions', { state: 'established' })).toBe(0);
  expect(sample(b, 'l2_sessions', { state: 'established' })).toBe(0);
  // Counters of closed sessions are kept, not lost with them.
  expect(sample(a, 'l2_bytes_total', { direction: 'out' })).toBeGreaterThanOrEqual(bytesBefore);
  expect(sample(a, 'l2_rtt_seconds', { stat: 'mean' })).toBeUndefined();
  expect(sample(b, 'l2_session_transitions_total', { from: 'established', to: 'closed' })).toBe(1);
});

test('a resumed session counts as resumed', async () => {
  const alice = await listen();
  const bob = await listen();
  const first = await alice.node.establish(bob.node.did, { addresses: bob.node.addresses });
  const key = Buffer.alloc(32, 7);
  const stored = first.export(key);
  await first.close();
  const again = await alice.node.resume(bob.node.did, stored, { key, addresses: bob.node.addresses });
  expect(again.resumed).toBe(true);
  const a = await scrape(alice.metrics);
  expect(sample(a, 'l2_handshakes_total', { role: 'initiator', outcome: 'ok' })).toBe(1);
  expect(sample(a, 'l2_handshakes_total', { role: 'initiator', outcome: 'resumed' })).toBe(1);
  await waitFor('bob counts the resumption', async () => sample(await scrape(bob.metrics), 'l2_handshakes_total', { role: 'responder', outcome: 'resumed' }) === 1);
});

test('an authentication failure counts a failed handshake and a quarantine', async () => {
  const alice = await listen();
  const bob = await listen();
  const carol = Identity.generate();
  // Bob answers at the address, but alice expects carol: bob's signature does not name carol.
  const err = await alice.node.establish(carol.did, { addresses: bob.node.addresses }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(L2Error);
  expect((err as L2Error).code).toBe('ERR_L2_AUTH_FAILED');
  const a = await scrape(alice.metrics);
  expect(sample(a, 'l2_handshakes_total', { role: 'initiator', outcome: 'failed', reason: 'authentication_failed' })).toBe(1);
  expect(sample(a, 'l2_quarantines_total')).toBe(1);
  // Bob's side of the broken handshake never became a session: it counts as refused.
  await waitFor('bob counts the failed inbound handshake', async () => sample(await scrape(bob.metrics), 'l2_handshakes_total', { role: 'responder', outcome: 'failed' }));
});

test('a dial that falls back from QUIC to μTCP counts as a fallback', async () => {
  const alice = await listen();
  const bob = await listen();
  const s = await alice.node.establish(bob.node.did, { addresses: { quic: await silentUdpPort(), tcp: bob.node.addresses.tcp }, quicTimeout: 300 });
  expect(s.link?.transport).toBe('tcp');
  expect(sample(await scrape(alice.metrics), 'l2_fallbacks_total')).toBe(1);
  expect(sample(await scrape(bob.metrics), 'l2_fallbacks_total')).toBe(0);
});

test('dropped input is counted by reason: forged frames and garbage connections', async () => {
  const alice = await listen();
  const bob = await listen();
  const accepted = nextSession(bob.node);
  const s = await alice.node.establish(bob.node.did, { addresses: bob.node.addresses });
  const peer = await accepted;
  for (const reason of ['frame_auth_failed', 'frame_replay', 'frame_unknown_epoch', 'frame_limit']) {
    expect(sample(await scrape(bob.metrics), 'l2_dropped_total', { reason })).toBe(0);
  }

  // Counter 0 bob has seen (a replay); counter 1000 he has not (then the tag fails).
  await s.link!.send([forgedFrame(0)]);
  await s.link!.send([forgedFrame(1000)]);
  await waitFor('bob drops both frames', async () => sample(await scrape(bob.metrics), 'l2_dropped_total', { reason: 'frame_auth_failed' }) === 1);
  expect(sample(await scrape(bob.metrics), 'l2_dropped_total', { reason: 'frame_replay' })).toBe(1);
  expect(peer.stats().framesRejected).toEqual({ auth_failed: 1, replay: 1, unknown_epoch: 0, limit: 0 });
  // The session survives it.
  await s.send(Buffer.from('still here'));
  expect(String(await peer.receive({ timeout: 20_000 }))).toBe('still here');

  const [host, port] = bob.node.addresses.tcp!.split(':');
  const sock = net.connect(Number(port), host);
  sock.on('error', () => undefined);
  sock.end(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  await waitFor('bob drops the bad preamble', async () => (sample(await scrape(bob.metrics), 'l2_dropped_total', { reason: 'bad_preamble' }) ?? 0) >= 1);
  sock.destroy();
});

test('metrics created after sessions opened count their traffic too', async () => {
  const alice = await Node.listen({ identity: Identity.generate() });
  const bob = await Node.listen({ identity: Identity.generate() });
  cleanup.push(() => alice.close(), () => bob.close());
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  await s.send(Buffer.alloc(1000));
  await waitFor('the acknowledgement', () => s.pending === 0);
  const metrics = createMetrics(alice);
  expect(sample(await scrape(metrics), 'l2_bytes_total', { direction: 'out' })).toBeGreaterThan(1000);
});

test('metrics go to the registry given, under the prefix given, and close() removes them', async () => {
  const node = await Node.listen({ identity: Identity.generate() });
  cleanup.push(() => node.close());
  const registry = new Registry();
  const metrics = createMetrics(node, { registry, prefix: 'relay_' });
  expect(metrics.registry).toBe(registry);
  expect(metrics.contentType).toMatch(/^text\/plain/);
  const names = new Set(parseProm(await registry.metrics()).map((s) => s.name));
  for (const n of ['relay_sessions', 'relay_bytes_total', 'relay_frames_total', 'relay_dropped_total', 'relay_fallbacks_total', 'relay_quarantines_total', 'relay_handshakes_total', 'relay_rotations_total']) {
    expect(names).toContain(n);
  }
  // Two nodes can share one registry under different prefixes.
  const other = createMetrics(node, { registry, prefix: 'other_' });
  other.close();
  metrics.close();
  expect(registry.getMetricsAsArray()).toEqual([]);
  expect(node.listenerCount('transition')).toBe(0);
});

test('bad metrics options are ERR_L2_BAD_INPUT', async () => {
  const node = await Node.listen({ identity: Identity.generate() });
  cleanup.push(() => node.close());
  const code = (f: () => unknown) => {
    try {
      f();
      return 'none';
    } catch (e) {
      return (e as L2Error).code;
    }
  };
  expect(code(() => createMetrics(node, { prefix: 'has-dash_' }))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => createMetrics(node, { registry: {} as Registry }))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => createMetrics(node, { colour: 'red' } as never))).toBe('ERR_L2_BAD_INPUT');
  expect(code(() => createMetrics(node.transport as never))).toBe('ERR_L2_BAD_INPUT');
});
