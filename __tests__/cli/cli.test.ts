/**
 * The `l2s` command end to end, as real processes on loopback (bin/l2s.js over the compiled
 * dist/): keygen → listen → connect → message → status → metrics over HTTP, discovery, and the
 * error paths (one line, non-zero exit).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Identity } from '../../ts';
import { parseProm, sample, waitFor } from './helpers';

jest.setTimeout(90_000);

const BIN = path.join(__dirname, '..', '..', 'bin', 'l2s.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2s-'));
const children = new Set<ChildProcess>();

beforeAll(() => {
  // The command runs the compiled package (npm install / npm run build:ts writes dist/).
  if (!fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js'))) throw new Error('dist/cli/main.js is missing: run npm run build:ts');
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A running `l2s` process with its output so far. */
interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number>;
}

function start(args: string[], env: NodeJS.ProcessEnv = process.env): Running {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? -1 : 0));
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Runs `l2s` to completion (bounded), with stdin closed at once. */
async function run(args: string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = start(args, env);
  r.child.stdin!.end();
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  const code = await r.exited;
  clearTimeout(timer);
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}

/** A failed run: non-zero, and stderr is exactly one line `l2s: …`. */
function expectOneLineFailure(r: { code: number; stderr: string }, code: number, reason: RegExp): void {
  expect(r.code).toBe(code);
  expect(r.stderr).toMatch(/^l2s: [^\n]+\n$/);
  expect(r.stderr).toMatch(reason);
}

function get(url: string): Promise<{ status: number; body: string; type?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, type: res.headers['content-type'] }));
      })
      .on('error', reject);
  });
}

/** A loopback TCP port nobody listens on (UDP on the same number is just as unlikely to answer). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('keygen', () => {
  test('writes an identity file with mode 0600 and refuses to overwrite it without --force', async () => {
    const first = await run(['keygen', '--out', 'k.json', '--json']);
    expect(first.code).toBe(0);
    const { did, file } = JSON.parse(first.stdout);
    expect(did).toMatch(/^did:key:z6Mk/);
    expect(file).toBe('k.json');
    const full = path.join(dir, 'k.json');
    expect(fs.statSync(full).mode & 0o777).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(full, 'utf8')).did).toBe(did);

    expectOneLineFailure(await run(['keygen', '--out', 'k.json']), 1, /already exists; use --force/);
    expect(JSON.parse(fs.readFileSync(full, 'utf8')).did).toBe(did);

    // --force replaces it, and a loosened mode does not survive the replacement.
    fs.chmodSync(full, 0o644);
    const second = await run(['keygen', '--out', 'k.json', '--force']);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^did:key:z6Mk\S+\nwritten to k.json/);
    expect(JSON.parse(fs.readFileSync(full, 'utf8')).did).not.toBe(did);
    expect(fs.statSync(full).mode & 0o777).toBe(0o600);
  });
});

describe('listen, connect, status and metrics', () => {
  let listener: Running;
  let listening: { did: string; addresses: { quic: string; tcp: string; discovery: string }; control: string; metrics: string };
  let clientDid: string;

  beforeAll(async () => {
    expect((await run(['keygen', '--out', 'server.json'])).code).toBe(0);
    clientDid = JSON.parse((await run(['keygen', '--out', 'client.json', '--json'])).stdout).did;
    listener = start(['listen', '--identity', 'server.json', '--echo', '--metrics', '0', '--json']);
    const first = await waitFor('the listener to start', () => /^[^\n]*\n/.exec(listener.stdout())?.[0], 60_000);
    listening = JSON.parse(first);
  });

  afterAll(async () => {
    listener.child.kill('SIGTERM');
    expect(await listener.exited).toBe(0);
    // A clean shutdown removes the control socket.
    expect(fs.existsSync(path.join(dir, 'server.json.sock'))).toBe(false);
  });

  test('listen prints its DID, addresses, control socket and metrics URL', () => {
    expect(listening.did).toBe(JSON.parse(fs.readFileSync(path.join(dir, 'server.json'), 'utf8')).did);
    expect(listening.addresses.quic).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(listening.addresses.tcp).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(listening.control).toBe('server.json.sock');
    expect(listening.metrics).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(fs.statSync(path.join(dir, 'server.json.sock')).mode & 0o777).toBe(0o600);
  });

  test('connect pipes a line to the listener and its echo back; status shows the session; metrics moved', async () => {
    const { quic, tcp } = listening.addresses;
    const client = start(['connect', listening.did, '--address', `quic=${quic},tcp=${tcp}`, '--identity', 'client.json']);
    client.child.stdin!.write('hello over l2s\n');
    await waitFor('the echo', () => client.stdout() === 'hello over l2s\n');
    expect(client.stderr()).toMatch(/^connected to did:key:\S+ over QUIC \(session [0-9a-f]{16}\)\n$/);

    // The listener printed the message as a JSON event.
    const events = () => listener.stdout().trim().split('\n').map((l) => JSON.parse(l));
    const message = await waitFor('the listener to print the message', () => events().find((e) => e.event === 'message'));
    expect(Buffer.from(message.data, 'base64').toString()).toBe('hello over l2s\n');
    expect(message.peerDid).toBe(clientDid);

    const json = await run(['status', '--identity', 'server.json', '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.did).toBe(listening.did);
    expect(doc.sessions).toHaveLength(1);
    const row = doc.sessions[0];
    expect(row).toMatchObject({ id: message.sessionId, peerDid: clientDid, role: 'responder', state: 'established', transport: 'quic', keyEpoch: 1 });
    expect(row.bytesIn).toBeGreaterThan(0);
    expect(row.bytesOut).toBeGreaterThan(0);
    expect(typeof row.rttMs).toBe('number');

    const table = await run(['status', '--identity', 'server.json']);
    expect(table.code).toBe(0);
    const [head, header, line] = table.stdout.split('\n');
    expect(head).toBe(`${listening.did}  1 session`);
    expect(header.split(/\s{2,}/)).toEqual(['SESSION', 'PEER', 'DIR', 'STATE', 'TRANSPORT', 'EPOCH', 'RTT', 'BYTES IN', 'BYTES OUT']);
    expect(line.split(/\s{2,}/).slice(0, 6)).toEqual([row.id, clientDid, 'in', 'established', 'quic', '1']);

    const scraped = await get(listening.metrics);
    expect(scraped.status).toBe(200);
    expect(scraped.type).toMatch(/^text\/plain/);
    const samples = parseProm(scraped.body);
    expect(sample(samples, 'l2_handshakes_total', { role: 'responder', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(sample(samples, 'l2_bytes_total', { direction: 'in' })).toBeGreaterThan(0);
    expect(sample(samples, 'l2_frames_total', { direction: 'in' })).toBeGreaterThan(0);
    expect(sample(samples, 'l2_sessions', { state: 'established' })).toBe(1);
    expect((await get(listening.metrics.replace('/metrics', '/nope'))).status).toBe(404);

    // The listener logs to stderr as pino-style JSON lines, with ids and never its seed.
    const logs = listener.stderr().trim().split('\n').map((l) => JSON.parse(l));
    expect(logs.find((l) => l.msg === 'session established')).toMatchObject({ level: 30, did: listening.did, sessionId: row.id, peerDid: clientDid });
    const seed = JSON.parse(fs.readFileSync(path.join(dir, 'server.json'), 'utf8')).seed;
    expect(listener.stderr() + listener.stdout()).not.toContain(seed);

    // End of stdin: everything acknowledged, the session closed, exit 0.
    client.child.stdin!.end();
    expect(await client.exited).toBe(0);
    await waitFor('the listener to see the close', () => events().find((e) => e.event === 'close' && e.sessionId === row.id));
    const after = JSON.parse((await run(['status', '--control', path.join(dir, 'server.json.sock'), '--json'])).stdout);
    expect(after.sessions).toEqual([]);
  });

  test('connect --json reports the session and messages as JSON lines', async () => {
    const { tcp } = listening.addresses;
    const client = start(['connect', listening.did, '--address', `tcp=${tcp}`, '--transport', 'tcp', '--json']);
    client.child.stdin!.write('binary\u0000ok');
    const lines = () => client.stdout().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const echoed = await waitFor('the echo as JSON', () => lines().find((e) => e.event === 'message'));
    expect(Buffer.from(echoed.data, 'base64').toString()).toBe('binary\u0000ok');
    expect(lines()[0]).toMatchObject({ event: 'established', peerDid: listening.did, transport: 'tcp' });
    client.child.stdin!.end();
    expect(await client.exited).toBe(0);
  });

  test('Ctrl-C on connect closes the session properly (the listener sees the close) and exits 130', async () => {
    const client = start(['connect', listening.did, '--address', `quic=${listening.addresses.quic}`, '--json']);
    const established = await waitFor('the session', () => client.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.event === 'established'));
    client.child.kill('SIGINT');
    expect(await client.exited).toBe(130);
    const events = () => listener.stdout().trim().split('\n').map((l) => JSON.parse(l));
    await waitFor('the listener to see the close', () => events().find((e) => e.event === 'close' && e.sessionId === established.sessionId));
  });

  test('a listener whose stdout reader goes away ends quietly (no stack trace)', async () => {
    const other = start(['listen', '--identity', 'client.json', '--log-level', 'silent']);
    await waitFor('the second listener', () => other.stdout().includes('control'));
    const [quic] = /quic\s+(\S+)/.exec(other.stdout())!.slice(1);
    const did = JSON.parse(fs.readFileSync(path.join(dir, 'client.json'), 'utf8')).did;
    other.child.stdout!.destroy();
    const client = start(['connect', did, '--address', `quic=${quic}`]);
    client.child.stdin!.end('to nobody\n');
    expect(await other.exited).toBe(0);
    expect(other.stderr()).toBe('');
    client.child.kill('SIGKILL');
  });

  test('discover lists the listener: its DID (verified), transports and our observed address', async () => {
    const r = await run(['discover', listening.addresses.discovery, '--json']);
    expect(r.code).toBe(0);
    const [answer] = JSON.parse(r.stdout);
    expect(answer).toMatchObject({ address: listening.addresses.discovery, did: listening.did, quic: listening.addresses.quic, tcp: listening.addresses.tcp, didVerified: true });
    expect(answer.observed).toMatch(/^127\.0\.0\.1:\d+$/);

    const human = await run(['discover', listening.addresses.discovery]);
    expect(human.code).toBe(0);
    expect(human.stdout.split('\n')[1].split(/\s{2,}/).slice(0, 2)).toEqual([listening.addresses.discovery, listening.did]);
  });

  test('a second listen on the same identity is refused while the first runs', async () => {
    expectOneLineFailure(await run(['listen', '--identity', 'server.json']), 1, /another l2s listen is running/);
  });
});

describe('errors: one line, non-zero exit', () => {
  test('connect to a malformed DID', async () => {
    expectOneLineFailure(await run(['connect', 'did:key:zNotAKey', '--address', 'tcp=127.0.0.1:9']), 2, /^l2s: .*ERR_L2_BAD_INPUT/);
    expectOneLineFailure(await run(['connect', 'did:web:example.com', '--address', 'tcp=127.0.0.1:9']), 2, /did:key DIDs only/);
  });

  test('connect to an address where nobody listens', async () => {
    const port = await closedPort();
    const did = JSON.parse((await run(['keygen', '--out', 'nobody.json', '--json'])).stdout).did;
    const r = await run(['connect', did, '--address', `quic=127.0.0.1:${port},tcp=127.0.0.1:${port}`, '--timeout', '1000']);
    expectOneLineFailure(r, 3, new RegExp(`^l2s: cannot connect to ${did}: .*\\(ERR_L2_(TIMEOUT|TRANSPORT)\\)`));
  });

  test('listen without its identity file, or with one others can read', async () => {
    expectOneLineFailure(await run(['listen', '--identity', 'missing.json']), 1, /cannot read identity file missing.json: no such file/);
    expect((await run(['keygen', '--out', 'open.json'])).code).toBe(0);
    fs.chmodSync(path.join(dir, 'open.json'), 0o644);
    expectOneLineFailure(await run(['listen', '--identity', 'open.json']), 1, /accessible by others \(mode 644\)/);
    fs.writeFileSync(path.join(dir, 'junk.json'), '{"seed": 1}', { mode: 0o600 });
    expectOneLineFailure(await run(['listen', '--identity', 'junk.json']), 1, /not an l2s identity file/);
  });

  test('a control socket left by a killed listener is reclaimed by the next one', async () => {
    expect((await run(['keygen', '--out', 'crash.json'])).code).toBe(0);
    const first = start(['listen', '--identity', 'crash.json', '--log-level', 'silent']);
    await waitFor('the first listener', () => first.stdout().includes('control'));
    first.child.kill('SIGKILL');
    await first.exited;
    expect(fs.statSync(path.join(dir, 'crash.json.sock')).isSocket()).toBe(true);
    const second = start(['listen', '--identity', 'crash.json', '--json', '--log-level', 'silent']);
    await waitFor('the second listener', () => second.stdout().includes('"listening"'));
    expect((await run(['status', '--identity', 'crash.json', '--json'])).code).toBe(0);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(second.stderr()).toBe('');
  });

  test('status with no listener running', async () => {
    expectOneLineFailure(await run(['status', '--control', path.join(dir, 'none.sock')]), 3, /no l2s listen is running there/);
    expectOneLineFailure(await run(['status']), 2, /needs --identity FILE or --control PATH/);
  });

  test('bad usage: unknown command, unknown option, bad values', async () => {
    expectOneLineFailure(await run(['frobnicate']), 2, /unknown command 'frobnicate'/);
    expectOneLineFailure(await run(['keygen', '--colour']), 2, /Unknown option '--colour'.*l2s keygen --help/);
    expectOneLineFailure(await run(['listen', '--identity', 'server.json', '--quic-port', 'many']), 2, /--quic-port must be an integer/);
    const did = Identity.generate().did;
    expectOneLineFailure(await run(['connect', did, '--address', 'udp=1.2.3.4:5']), 2, /bad --address 'udp=1.2.3.4:5'/);
    expectOneLineFailure(await run(['connect', did]), 2, /--address needs/);
    expectOneLineFailure(await run(['discover']), 2, /needs at least one discovery address/);
    expectOneLineFailure(await run(['listen', '--identity', 'server.json', '--log-level', 'chatty']), 2, /--log-level must be one of/);
  });

  test('discover with nobody answering exits 3 after listing the silence', async () => {
    const r = await run(['discover', `127.0.0.1:${await closedPort()}`, '--timeout', '500']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/no answer/);
    expect(r.stderr).toMatch(/^l2s: no answer from 127\.0\.0\.1:\d+\n$/);
  });
});

test('bench runs the benchmark suite with its arguments passed through, and exits with its code', async () => {
  // L2_BENCH_TINY shrinks every measurement to a few milliseconds: this checks the plumbing, not speed.
  const env = { ...process.env, L2_BENCH_TINY: '1' };
  const r = await run(['bench', '--quick', '--section', 'handshake', '--json', 'bench.json'], 120_000, env);
  expect(r.code).toBe(0);
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'bench.json'), 'utf8')).sections).toEqual(['handshake']);
  expect((await run(['bench', '--section', 'nonsense'], 60_000, env)).code).not.toBe(0);
  const help = await run(['bench', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/the suite's options:\n.*--section/);
});

test('every command has --help, and l2s alone prints the command list', async () => {
  for (const command of ['keygen', 'listen', 'connect', 'discover', 'status', 'bench']) {
    const r = await run([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: l2s ${command}`));
    expect(r.stdout).toContain('-h, --help');
  }
  const bare = await run([]);
  expect(bare.code).toBe(2);
  expect(bare.stdout).toMatch(/^usage: l2s <command>/);
  expect((await run(['--help'])).code).toBe(0);
});
