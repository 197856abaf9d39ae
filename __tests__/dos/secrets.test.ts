/**
 * No key material in anything a node lets out: log lines (a capturing pino-style logger), audit
 * records (JSON-lines sink), warnings, error messages and stacks, and `util.inspect()` of Node,
 * Session, Link, Handshake, FrameCipher, TicketStore and Identity, under normal use, rotation,
 * export/resume, failed authentication, bad input and a flood of bogus handshakes.
 *
 * Secrets the test knows are searched for in every encoding a leak could take (hex, base64,
 * base64url, Buffer/Uint8Array inspection, JSON byte arrays): both identity seeds (identities made
 * from known seeds) and the session export key. Secrets it cannot know (traffic keys, resumption
 * secrets, ephemeral KEM keys stay in Rust) are covered by requiring secret-holding objects to
 * inspect opaquely: no byte dumps and no long hex/base64 runs.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { Handshake, Identity, L2Error, Node, Session, TicketStore } from '../../ts';
import { attack, until } from './helpers';

jest.setTimeout(120_000);

/** Every way `secret`, or any 8 bytes of it, could appear in text. */
function encodings(secret: Buffer): string[] {
  const out = new Set<string>();
  for (let i = 0; i + 8 <= secret.length; i++) {
    const w = secret.subarray(i, i + 8);
    out.add(w.toString('hex'));
    out.add([...w].map((b) => b.toString(16).padStart(2, '0')).join(' ')); // <Buffer 0a 1b …>
    out.add([...w].join(', ')); // Uint8Array(32) [ 10, 27, … ]
    out.add([...w].join(',')); // JSON: {"type":"Buffer","data":[10,27,…]}
  }
  // Base64 of 12-byte windows at each alignment (16 characters each).
  for (let i = 0; i + 12 <= secret.length; i++) {
    out.add(secret.subarray(i, i + 12).toString('base64'));
    out.add(secret.subarray(i, i + 12).toString('base64url'));
  }
  return [...out];
}

function findSecrets(text: string, secrets: Record<string, Buffer>): string[] {
  const lower = text.toLowerCase();
  const hits: string[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    for (const e of encodings(secret)) {
      // Hex is matched case-insensitively; base64 is case-sensitive.
      if (/^[0-9a-f ,]+$/.test(e) ? lower.includes(e) : text.includes(e)) hits.push(`${name} as ${e}`);
    }
  }
  return hits;
}

/** Inspection of an object holding secrets must show no bytes: no Buffer dumps, no long hex or base64 runs (DIDs aside). */
function opaque(text: string): string[] {
  const withoutDids = text.replace(/did:key:z[1-9A-HJ-NP-Za-km-z]+/g, 'did:key:…');
  return [
    ...(withoutDids.match(/<Buffer[^>]*>|Uint8Array\(\d+\) \[[^\]]*\]/g) ?? []),
    ...(withoutDids.match(/[0-9a-fA-F]{32,}/g) ?? []),
    ...(withoutDids.match(/[A-Za-z0-9+/_-]{40,}={0,2}/g) ?? []),
  ];
}

test('logs, audit records, errors and inspect() output carry no key material', async () => {
  const seedA = randomBytes(32);
  const seedB = randomBytes(32);
  const exportKey = randomBytes(32);
  const secrets = { seedA, seedB, exportKey };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2-dos-secrets-'));
  const auditFile = path.join(dir, 'audit.jsonl');
  const logged: string[] = [];
  const log = (level: string) => (...args: unknown[]) => logged.push(`${level} ${inspect(args, { depth: 20 })} ${safeJson(args)}`);
  const logger = { trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), fatal: log('fatal') };
  const texts: string[] = [];
  const errorText = (err: unknown) => {
    const e = err as Error;
    texts.push(`${e.message}\n${e.stack}\n${inspect(e, { depth: 20 })}`);
  };
  const inspected: Record<string, string> = {};

  const a = await Node.listen({ identity: Identity.fromSeed(seedA), audit: auditFile, logger });
  const b = await Node.listen({ identity: Identity.fromSeed(seedB), audit: auditFile, logger });
  for (const n of [a, b]) n.on('warning', errorText);
  try {
    const bAddresses = { quic: b.addresses.quic, tcp: b.addresses.tcp };
    // Normal use over both transports, with a key rotation and a resumption.
    const inbound = new Promise<Session>((r) => b.once('session', r));
    const s = await a.establish(b.did, { addresses: bAddresses, transport: 'quic' });
    const sb = await inbound;
    sb.on('error', errorText);
    s.on('error', errorText);
    await s.send(Buffer.from('hello'));
    expect(String(await sb.receive({ timeout: 10_000 }))).toBe('hello');
    await s.rotate();
    Object.assign(inspected, { nodeA: inspect(a, { depth: 6 }), session: inspect(s, { depth: 6 }), link: inspect(s.link, { depth: 6 }), stats: inspect(s.stats(), { depth: 6 }) });
    const stored = s.export(exportKey);
    texts.push(JSON.stringify({ ...stored, ticket: undefined })); // the sealed ticket itself is ciphertext
    await s.close();
    const resumed = await a.resume(b.did, stored, { key: exportKey, addresses: bAddresses });
    inspected.resumed = inspect(resumed, { depth: 6 });
    await resumed.close();
    const overTcp = await a.establish(b.did, { addresses: bAddresses, transport: 'tcp' });
    await overTcp.close();

    // Failures: a peer with another key at B's address, a wrong export key, bad input.
    await a.establish(Identity.generate().did, { addresses: bAddresses, transport: 'tcp' }).then(
      () => { throw new Error('establish with the wrong peer key succeeded'); },
      errorText,
    );
    await a.resume(b.did, stored, { key: randomBytes(32), addresses: bAddresses }).then((x) => x.close(), errorText);
    for (const bad of [() => Identity.fromSeed(seedA.subarray(0, 31)), () => s.export(exportKey.subarray(0, 31)), () => Handshake.resumeInitiator(Buffer.from(stored.ticket, 'base64'), seedA.subarray(1))]) {
      try {
        bad();
      } catch (err) {
        expect(err).toBeInstanceOf(L2Error);
        errorText(err);
      }
    }

    // A short flood of bogus first messages: refusals, warnings and quarantines get logged.
    await attack('flood', { tcp: b.addresses.tcp, quic: b.addresses.quic, victimKey: Identity.fromSeed(seedB).publicKey.toString('hex'), sources: ['127.0.0.2', '127.0.0.3', '127.0.0.4'], durationMs: 3000, concurrency: 2 });
    await until('bogus handshakes to be counted', () => b.transport.stats().dropped.bad_handshake > 0);

    // The secret-holding objects themselves.
    const hsI = Handshake.initiator(Identity.fromSeed(seedA), { expectedPeer: Identity.fromSeed(seedB).publicKey });
    const hsR = Handshake.responder(Identity.fromSeed(seedB));
    hsR.handle(hsI.handle(hsR.handle(hsI.start())!)!);
    const store = new TicketStore();
    store.insert(hsR, Date.now() + 60_000, Date.now());
    Object.assign(inspected, {
      handshake: inspect(hsI, { depth: 6, showHidden: true }),
      frameCipher: inspect(hsI.frameCipher(), { depth: 6, showHidden: true }),
      ticketStore: inspect(store, { depth: 6, showHidden: true }),
      identity: inspect(Identity.fromSeed(seedA), { depth: 6, showHidden: true }),
      identityJson: JSON.stringify(Identity.fromSeed(seedA)),
      nodeB: inspect(b, { depth: 6 }),
      transport: inspect(b.transport, { depth: 6, showHidden: true }),
      transportStats: inspect(b.transport.stats(), { depth: 6 }),
    });
  } finally {
    await a.close();
    await b.close();
  }

  const audit = fs.readFileSync(auditFile, 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  expect(audit.split('\n').length).toBeGreaterThan(5);
  expect(logged.length).toBeGreaterThan(5);
  expect(texts.length).toBeGreaterThan(4);
  const everything = [audit, ...logged, ...texts, ...Object.values(inspected)].join('\n');
  expect(findSecrets(everything, secrets)).toEqual([]);
  for (const [what, text] of Object.entries(inspected)) expect({ what, runs: opaque(text) }).toEqual({ what, runs: [] });
  // The search itself works: it finds a secret that is there, in any of its encodings.
  expect(findSecrets(inspect(seedA), secrets)).not.toEqual([]);
  expect(findSecrets(`x${exportKey.subarray(5).toString('base64url')}`, secrets)).not.toEqual([]);
  expect(opaque(inspect(randomBytes(32)))).not.toEqual([]);
});

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}
