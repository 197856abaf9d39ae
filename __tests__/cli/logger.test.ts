/**
 * The injected logger: what a node logs, at which level, through a capturing logger and through
 * real pino; nothing without one; never key material.
 */
import * as dgram from 'node:dgram';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Identity, L2Error, Node, Session } from '../../ts';
import type { Logger } from '../../ts';
import { forgedFrame, waitFor } from './helpers';

jest.setTimeout(60_000);

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
});

interface Line {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
  bindings: Record<string, unknown>;
}

/** A pino-shaped logger that keeps every call. */
function capturing(bindings: Record<string, unknown> = {}, lines: Line[] = []): Logger & { lines: Line[] } {
  const method = (level: string) => (objOrMsg: unknown, msg?: unknown) => {
    const fields = typeof objOrMsg === 'object' && objOrMsg !== null ? (objOrMsg as Record<string, unknown>) : {};
    lines.push({ level, fields, msg: typeof objOrMsg === 'string' ? objOrMsg : String(msg), bindings });
  };
  return {
    lines,
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (more) => capturing({ ...bindings, ...more }, lines),
  };
}

async function listen(identity: Identity, logger?: Logger): Promise<Node> {
  const node = await Node.listen({ identity, logger });
  nodes.push(node);
  return node;
}

function find(lines: Line[], level: string, msg: string | RegExp): Line | undefined {
  return lines.find((l) => l.level === level && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
}

test('a session is logged from handshake to close at sensible levels, with ids and never keys', async () => {
  const aliceId = Identity.generate();
  const bobId = Identity.generate();
  const aliceLog = capturing();
  const bobLog = capturing();
  const alice = await listen(aliceId, aliceLog);
  const bob = await listen(bobId, bobLog);
  expect(find(aliceLog.lines, 'info', 'node listening')?.fields.addresses).toEqual(alice.addresses);

  const accepted = new Promise<Session>((resolve) => bob.once('session', resolve));
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  await accepted;
  const est = find(aliceLog.lines, 'info', 'session established')!;
  expect(est.fields).toMatchObject({ sessionId: s.id, peerDid: bob.did, keyEpoch: 1, resumed: false });
  expect(est.bindings).toEqual({ did: alice.did });
  expect(find(aliceLog.lines, 'debug', 'handshake started')?.fields.role).toBe('initiator');
  await waitFor('bob logs the session', () => find(bobLog.lines, 'info', 'session established'));

  await s.rotate();
  expect(find(aliceLog.lines, 'info', 'keys rotated')?.fields.keyEpoch).toBe(2);
  await s.close();
  expect(find(aliceLog.lines, 'info', 'session closed')?.fields.reason).toBe('closed');
  await waitFor('bob logs the close', () => find(bobLog.lines, 'info', 'session closed'));

  // No secret in any line: not the seeds, not any byte buffer.
  const all = JSON.stringify([...aliceLog.lines, ...bobLog.lines]);
  for (const id of [aliceId, bobId]) {
    const seed = id.exportSeed();
    expect(all).not.toContain(seed.toString('hex'));
    expect(all).not.toContain(seed.toString('base64'));
  }
  expect(all).not.toContain('"type":"Buffer"');
});

test('authentication failures, quarantines, refused connections and session warnings are warnings', async () => {
  const aliceLog = capturing();
  const bobLog = capturing();
  const alice = await listen(Identity.generate(), aliceLog);
  const bob = await listen(Identity.generate(), bobLog);
  const carol = Identity.generate();
  await expect(alice.establish(carol.did, { addresses: bob.addresses })).rejects.toBeInstanceOf(L2Error);
  expect(find(aliceLog.lines, 'warn', 'handshake failed: authentication_failed')?.fields.peerDid).toBe(carol.did);
  expect(find(aliceLog.lines, 'warn', /quarantined/)?.fields.peerDid).toBe(carol.did);
  await waitFor('bob logs the refused inbound handshake', () => bobLog.lines.find((l) => l.level === 'warn' && typeof l.fields.code === 'string'));

  // A forged frame on a live session: the session warns, the logger says so.
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  await s.link!.send([forgedFrame(1000)]);
  const w = await waitFor('bob logs the dropped frame', () => find(bobLog.lines, 'warn', /failed to open/));
  expect(w.fields).toMatchObject({ sessionId: s.id, peerDid: alice.did, code: 'ERR_L2_AUTH_FAILED' });
});

test('a move to μTCP is a warning', async () => {
  const aliceLog = capturing();
  const alice = await listen(Identity.generate(), aliceLog);
  const bob = await listen(Identity.generate());
  // Nothing answers QUIC at this UDP port: the dial falls back to μTCP.
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  try {
    const s = await alice.establish(bob.did, { addresses: { quic: `127.0.0.1:${udp.address().port}`, tcp: bob.addresses.tcp }, quicTimeout: 300 });
    expect(find(aliceLog.lines, 'warn', /QUIC unavailable/)?.fields).toMatchObject({ sessionId: s.id, peerDid: bob.did });
  } finally {
    udp.close();
  }
});

test('a session that goes silent is a warning (degraded); its recovery is info', async () => {
  const aliceLog = capturing();
  const alice = await listen(Identity.generate(), aliceLog);
  const bob = await listen(Identity.generate());
  // A UDP relay in front of bob's QUIC port that can drop everything.
  const [host, port] = bob.addresses.quic!.split(':');
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let client: dgram.RemoteInfo | undefined;
  let dropping = false;
  front.on('message', (m, r) => ((client = r), dropping || back.send(m, Number(port), host)));
  back.on('message', (m) => client && !dropping && front.send(m, client.port, client.address));
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', r));
  try {
    const config = { heartbeatInterval: '300ms', heartbeatTimeout: '150ms', heartbeatTolerance: 2 };
    const s = await alice.establish(bob.did, { addresses: { quic: `127.0.0.1:${front.address().port}` }, transport: 'quic', config });
    dropping = true;
    const degraded = await waitFor('the degraded session', () => find(aliceLog.lines, 'warn', /^session degraded/));
    expect(degraded.fields).toMatchObject({ sessionId: s.id, from: 'established', to: 'degraded' });
    dropping = false;
    await waitFor('the recovery', () => find(aliceLog.lines, 'info', 'session recovered'));
  } finally {
    front.close();
    back.close();
  }
});

test('real pino receives JSON lines at its own levels', async () => {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      out.push(String(chunk));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const alice = await listen(Identity.generate(), logger);
  const bob = await listen(Identity.generate());
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  await s.close();
  const lines = out.join('').trim().split('\n').map((l) => JSON.parse(l));
  const established = lines.find((l) => l.msg === 'session established');
  expect(established).toMatchObject({ level: 30, did: alice.did, sessionId: s.id, peerDid: bob.did });
  // Below the level: the debug "handshake started" line was not written.
  expect(lines.some((l) => l.msg === 'handshake started')).toBe(false);
});

test('without a logger nothing is written anywhere', async () => {
  const writes = [jest.spyOn(process.stdout, 'write'), jest.spyOn(process.stderr, 'write'), ...(['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m))];
  try {
    const alice = await listen(Identity.generate());
    const bob = await listen(Identity.generate());
    const s = await alice.establish(bob.did, { addresses: bob.addresses });
    await s.rotate();
    await s.close();
    await expect(alice.establish(Identity.generate().did, { addresses: bob.addresses })).rejects.toBeInstanceOf(L2Error);
    for (const spy of writes) expect(spy).not.toHaveBeenCalled();
  } finally {
    for (const spy of writes) spy.mockRestore();
  }
});

test('a logger without every method is ERR_L2_BAD_INPUT naming what is missing', async () => {
  const partial = { info: () => undefined, warn: () => undefined } as unknown as Logger;
  await expect(Node.listen({ identity: Identity.generate(), logger: partial })).rejects.toMatchObject({
    code: 'ERR_L2_BAD_INPUT',
    message: expect.stringContaining('trace, debug, error, fatal'),
  });
  await expect(Node.listen({ identity: Identity.generate(), logger: 'verbose' as unknown as Logger })).rejects.toMatchObject({ code: 'ERR_L2_BAD_INPUT' });
});
