/**
 * The transport API from TypeScript on real sockets (127.0.0.1): QUIC and μTCP links, bulk
 * transfer with a hash check at both ends, channel binding, fallback, discovery, clean close.
 */
import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Identity } from '../../ts';
import { Link, TransportNode } from '../../ts/transport';
import { useNodePair } from './pair';

const root = path.join(__dirname, '..', '..');
const pair = useNodePair();
const connect = pair.connect;

/** Receives until `bytes` have arrived; returns their SHA-256. */
async function drain(link: Link, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  let got = 0;
  while (got < bytes) {
    const batch = await link.recv();
    if (batch.length === 0) throw new Error(`peer closed after ${got} bytes`);
    for (const m of batch) {
      hash.update(m);
      got += m.length;
    }
  }
  return hash.digest('hex');
}

describe.each(['quic', 'tcp'] as const)('over %s', (transport) => {
  test('32 MiB each way in 256 KiB messages arrive intact at both ends', async () => {
    const [x, y] = await connect(transport);
    expect(x.transport).toBe(transport);
    const chunk = 256 * 1024;
    const total = 32 * 1024 * 1024;
    const send = async (link: Link, seed: number) => {
      const hash = createHash('sha256');
      for (let off = 0; off < total; off += chunk * 4) {
        const batch = [0, 1, 2, 3].map((k) => Buffer.alloc(chunk, (seed + off / chunk + k) & 0xff));
        batch.forEach((m) => hash.update(m));
        await link.send(batch);
      }
      return hash.digest('hex');
    };
    const [sentX, sentY, gotAtY, gotAtX] = await Promise.all([send(x, 1), send(y, 7), drain(y, total), drain(x, total)]);
    expect(gotAtY).toBe(sentX);
    expect(gotAtX).toBe(sentY);
    expect(x.stats().bytesSent).toBe(total);
    await Promise.all([x.close(), y.recv().then(() => y.close())]);
  });
});

test('QUIC links of both ends share one channel binding; two connections differ; μTCP has none', async () => {
  const [x1, y1] = await connect('quic');
  const [x2, y2] = await connect('quic');
  expect(x1.channelBinding).toHaveLength(32);
  expect(x1.channelBinding!.equals(y1.channelBinding!)).toBe(true);
  expect(x1.channelBinding!.equals(x2.channelBinding!)).toBe(false);
  const [t1] = await connect('tcp');
  expect(t1.channelBinding).toBeNull();
  for (const l of [x1, y1, x2, y2, t1]) l.abort();
});

test('QUIC refused (nothing listening on UDP) → auto dial falls back to μTCP', async () => {
  const closed = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => closed.bind(0, '127.0.0.1', resolve));
  const deadPort = closed.address().port;
  closed.close();
  const accepted = pair.b.accept();
  const started = Date.now();
  const link = await pair.a.dial({ quic: `127.0.0.1:${deadPort}`, tcp: pair.b.addresses.tcp, transport: 'auto', quicTimeoutMs: 300 });
  expect(link.transport).toBe('tcp');
  expect(Date.now() - started).toBeLessThan(5000);
  const peer = await accepted;
  await link.send([Buffer.from('over tcp')]);
  expect((await peer.recv()).map(String)).toEqual(['over tcp']);
  expect(pair.a.stats().tcpFallbacks).toBeGreaterThan(0);
  link.abort();
  peer.abort();
});

test('discovery answers with the DID, both transports and our observed address', async () => {
  const answer = await pair.a.discover(pair.b.addresses.discovery!);
  expect(answer.did).toBe(pair.b.did);
  expect(answer.quic).toBe(pair.b.addresses.quic);
  expect(answer.tcp).toBe(pair.b.addresses.tcp);
  expect(answer.observed).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(answer.didVerified).toBe(true);
});

test('bad arguments are typed errors', async () => {
  await expect(pair.a.dial({ quic: 'not an address' })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(pair.a.dial({})).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(pair.a.dial({ tcp: pair.b.addresses.tcp, transport: 'carrier-pigeon' as never })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(TransportNode.listen(Identity.generate(), { quicPort: 70000 })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
  await expect(pair.a.discover('127.0.0.1:1', 200)).rejects.toMatchObject({ code: 'ERR_L2_TIMEOUT' });
});

test('a closed node rejects a pending accept with ERR_L2_CLOSED', async () => {
  const n = await TransportNode.listen(Identity.generate());
  const rejected = expect(n.accept()).rejects.toMatchObject({ code: 'ERR_L2_CLOSED' });
  await n.close();
  await rejected;
});

test('after close() nothing keeps the process alive (it exits on its own)', () => {
  // A separate process, so the check is the real one: the event loop empties by itself.
  const script = `
    const { Identity } = require(${JSON.stringify(path.join(root, 'dist'))});
    const { TransportNode } = require(${JSON.stringify(path.join(root, 'dist', 'transport.js'))});
    (async () => {
      const a = await TransportNode.listen(Identity.generate());
      const b = await TransportNode.listen(Identity.generate());
      const accepted = b.accept();
      const link = await a.dial({ quic: b.addresses.quic });
      const peer = await accepted;
      await link.send([Buffer.from('bye')]);
      await peer.recv();
      b.accept().catch(() => {});
      await Promise.all([a.close(), b.close()]);
      console.log('closed');
    })();`;
  const started = Date.now();
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  expect(out.trim()).toBe('closed');
  expect(Date.now() - started).toBeLessThan(20_000);
});
