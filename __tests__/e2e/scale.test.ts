/**
 * Volume and concurrency through the whole stack (handshake, frames, session, transport) on
 * real sockets: 256 MiB each way per transport with a hash check at both ends, and 200
 * concurrent sessions between one pair of nodes.
 */
import { createHash } from 'node:crypto';
import { Identity, Node, Session } from '../../ts';

jest.setTimeout(300_000);

const nodes: Node[] = [];
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
});

async function pair(): Promise<[Node, Node]> {
  const a = await Node.listen({ identity: Identity.generate() });
  const b = await Node.listen({ identity: Identity.generate() });
  nodes.push(a, b);
  return [a, b];
}

const MIB = 1024 * 1024;
const TOTAL = Number(process.env.L2_BULK_MIB ?? 256) * MIB;
const CHUNK = 64 * 1024;

async function sendAll(s: Session, seed: number): Promise<string> {
  const hash = createHash('sha256');
  for (let off = 0, k = 0; off < TOTAL; off += CHUNK, k++) {
    const chunk = Buffer.alloc(CHUNK, (seed + k) & 0xff);
    chunk.writeUInt32BE(k, 0);
    hash.update(chunk);
    await s.send(chunk);
  }
  return hash.digest('hex');
}

async function receiveAll(s: Session): Promise<string> {
  const hash = createHash('sha256');
  for (let got = 0; got < TOTAL; ) {
    const m = await s.receive({ timeout: 60_000 });
    hash.update(m);
    got += m.length;
  }
  return hash.digest('hex');
}

test.each(['quic', 'tcp'] as const)('256 MiB each way over %s with a hash check at both ends', async (transport) => {
  const [a, b] = await pair();
  const inbound = new Promise<Session>((resolve) => b.once('session', resolve));
  const s = await a.establish(b.did, { addresses: b.addresses, transport });
  const peer = await inbound;
  expect(s.transport).toBe(transport);
  const [sentA, sentB, atB, atA] = await Promise.all([sendAll(s, 1), sendAll(peer, 2), receiveAll(peer), receiveAll(s)]);
  expect(atB).toBe(sentA);
  expect(atA).toBe(sentB);
});

test('200 concurrent sessions between one pair of nodes, none mixed up', async () => {
  const [a, b] = await pair();
  const echoes: Promise<void>[] = [];
  b.on('session', (s) => {
    echoes.push((async () => {
      for await (const m of s) await s.send(Buffer.concat([Buffer.from(`${s.id}:`), m]));
    })());
  });
  const sessions = await Promise.all(Array.from({ length: 200 }, () => a.establish(b.did, { addresses: b.addresses })));
  expect(new Set(sessions.map((s) => s.id)).size).toBe(200);
  await Promise.all(
    sessions.map(async (s) => {
      for (let k = 0; k < 5; k++) {
        await s.send(Buffer.from(`m${k}`));
        expect(String(await s.receive({ timeout: 30_000 }))).toBe(`${s.id}:m${k}`);
      }
    }),
  );
  expect(b.sessions.length).toBe(200);
  await Promise.all(sessions.map((s) => s.close()));
  await Promise.all(echoes);
});
