/**
 * Each admission limit on its own, through the public Node API on loopback: validation of the
 * `limits` option, the session cap (both directions), pending handshakes per node and per source,
 * the per-source token bucket, and quarantine of a source that sends garbage. Every refusal is
 * visible in `node.transport.stats()`.
 */
import * as net from 'node:net';
import { Identity, L2Error, Node, TransportNode } from '../../ts';
import type { NodeLimits } from '../../ts';
import { until } from './helpers';

jest.setTimeout(60_000);

const nodes: Node[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

async function listen(limits?: NodeLimits): Promise<Node> {
  const node = await Node.listen({ identity: Identity.generate(), limits, config: { handshakeTimeout: 2000 } });
  nodes.push(node);
  return node;
}

const addresses = (n: Node) => ({ quic: n.addresses.quic, tcp: n.addresses.tcp });

/** A raw μTCP connection from `source`; `preamble` makes it a link that then says nothing (a half-open handshake). */
function connect(node: Node, source: string, preamble = true): Promise<net.Socket> {
  const [host, port] = node.addresses.tcp!.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port: Number(port), localAddress: source }, () => {
      if (preamble) s.write(Buffer.from([0x4c, 0x32, 0x53, 0x01]));
      resolve(s);
    });
    s.on('error', reject);
    sockets.push(s);
  });
}

/** One garbage first handshake message from `source`; resolves when the node has dropped the connection. */
async function garbage(node: Node, source: string): Promise<void> {
  const s = await connect(node, source);
  s.on('error', () => undefined);
  s.write(Buffer.from([0, 0, 0, 5, 9, 9, 9, 9, 9]));
  await new Promise((r) => s.on('close', r));
}

test.each<[string, unknown]>([
  ['not an object', 5],
  ['an unknown limit', { maxSockets: 3 }],
  ['zero sessions', { maxSessions: 0 }],
  ['a fractional rate', { handshakeRatePerSource: 1.5 }],
  ['a negative retry threshold', { retryThreshold: -1 }],
  ['a zero quarantine', { quarantineMs: 0 }],
  ['a string burst', { handshakeBurstPerSource: '10' }],
  ['a huge per-source cap', { maxPendingHandshakesPerSource: 2 ** 40 }],
])('limits with %s are ERR_L2_BAD_INPUT', async (_, limits) => {
  const err = await Node.listen({ identity: Identity.generate(), limits: limits as NodeLimits }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(L2Error);
  expect((err as L2Error).code).toBe('ERR_L2_BAD_INPUT');
  const direct = await TransportNode.listen(Identity.generate(), { quarantineStrikes: 0 }).catch((e: unknown) => e);
  expect((direct as L2Error).code).toBe('ERR_L2_BAD_INPUT');
});

test('maxSessions: inbound sessions beyond it are refused and counted, outbound establish gets ERR_L2_LIMIT', async () => {
  const b = await listen({ maxSessions: 2 });
  const a = await listen();
  await a.establish(b.did, { addresses: addresses(b), transport: 'tcp' });
  await a.establish(b.did, { addresses: addresses(b), transport: 'tcp' });
  await until('two sessions on b', () => b.sessions.length === 2);
  // The dialer's handshake completes; the full node then closes the session with a close frame.
  const third = await a.establish(b.did, { addresses: addresses(b), transport: 'tcp' });
  await until('the refused session to close', () => third.state === 'closed');
  expect(b.transport.stats().dropped.session_limit).toBe(1);
  expect(b.sessions.length).toBe(2);
  // A full node is not the peer's fault: no strike, no quarantine.
  expect(b.transport.stats().quarantines).toBe(0);

  const c = await listen({ maxSessions: 1 });
  await c.establish(a.did, { addresses: addresses(a), transport: 'tcp' });
  const err = await c.establish(a.did, { addresses: addresses(a), transport: 'tcp' }).catch((e: unknown) => e);
  expect((err as L2Error).code).toBe('ERR_L2_LIMIT');
});

test('pending handshakes per source: a source holding its quota of silent links is refused more; others are not', async () => {
  const b = await listen({ maxPendingHandshakesPerSource: 2 });
  await connect(b, '127.0.0.6');
  await connect(b, '127.0.0.6');
  await until('two pending handshakes', () => b.transport.stats().pendingHandshakes === 2);
  const third = await connect(b, '127.0.0.6');
  await new Promise((r) => third.on('close', r));
  expect(b.transport.stats().dropped.source_handshake_limit).toBe(1);
  // Another source, and a real handshake, still get in.
  const a = await listen();
  await a.establish(b.did, { addresses: addresses(b), transport: 'tcp' });
  // Silent links run out of time (handshakeTimeout) and release their slots, with a strike each.
  await until('the silent links to time out', () => b.transport.stats().pendingHandshakes === 0);
  expect(b.transport.stats().dropped.bad_handshake).toBe(2);
});

test('pending handshakes per node: beyond the cap new connections are refused and counted', async () => {
  const b = await listen({ maxPendingHandshakes: 3 });
  for (const source of ['127.0.0.7', '127.0.0.8', '127.0.0.9']) await connect(b, source);
  await until('three pending handshakes', () => b.transport.stats().pendingHandshakes === 3);
  const fourth = await connect(b, '127.0.0.10');
  await new Promise((r) => fourth.on('close', r));
  expect(b.transport.stats().dropped.handshake_limit).toBe(1);
});

test('token bucket: a source over its burst is refused until it refills; attempts while refused count as strikes', async () => {
  const b = await listen({ handshakeBurstPerSource: 3, handshakeRatePerSource: 1, quarantineStrikes: 1000 });
  for (let i = 0; i < 3; i++) await garbage(b, '127.0.0.11');
  await garbage(b, '127.0.0.11');
  expect(b.transport.stats().dropped.rate_limited).toBe(1);
  expect(b.transport.stats().dropped.bad_handshake).toBe(3);
  // Other sources have their own buckets.
  const a = await listen();
  await a.establish(b.did, { addresses: addresses(b), transport: 'tcp' });
  // One token a second: the source gets one more attempt after a pause.
  await new Promise((r) => setTimeout(r, 1500));
  await garbage(b, '127.0.0.11');
  expect(b.transport.stats().dropped.bad_handshake).toBe(4);
});

test('quarantine: a source sending garbage is refused for the quarantine period, longer on repeat; others are unaffected', async () => {
  const b = await listen({ quarantineStrikes: 2, quarantineMs: 1500 });
  await garbage(b, '127.0.0.12');
  await garbage(b, '127.0.0.12');
  await until('the source to be quarantined', () => b.transport.stats().quarantinedSources === 1);
  const refused = b.transport.stats().dropped.quarantined;
  await garbage(b, '127.0.0.12');
  expect(b.transport.stats().dropped.quarantined).toBe(refused + 1);
  expect(b.transport.stats().dropped.bad_handshake).toBe(2);
  const a = await listen();
  await a.establish(b.did, { addresses: addresses(b), transport: 'tcp' });
  // After the quarantine the source is heard again; two more strikes quarantine it for twice as long.
  await until('the quarantine to end', () => b.transport.stats().quarantinedSources === 0);
  await garbage(b, '127.0.0.12');
  await garbage(b, '127.0.0.12');
  expect(b.transport.stats().quarantines).toBe(2);
  await new Promise((r) => setTimeout(r, 2000)); // longer than the first quarantine
  expect(b.transport.stats().quarantinedSources).toBe(1);
});

test('QUIC: a client whose source is out of tokens is sent a Retry first, then refused once its address is proven', async () => {
  const b = await listen({ handshakeBurstPerSource: 1, handshakeRatePerSource: 1, retryThreshold: 1000 });
  const a = await listen();
  await a.establish(b.did, { addresses: addresses(b), transport: 'quic' });
  expect(b.transport.stats().retriesSent).toBe(0); // not under load: no Retry
  const err = await a.establish(b.did, { addresses: addresses(b), transport: 'quic' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(L2Error);
  const stats = b.transport.stats();
  expect(stats.retriesSent).toBeGreaterThanOrEqual(1);
  expect(stats.dropped.rate_limited).toBeGreaterThanOrEqual(1);
});
