/**
 * Smoke test of the benchmark harness (bench/index.js) on a tiny budget (L2_BENCH_TINY=1): the
 * JSON has its shape, the self-checks ran, and the report files are written. No timing is judged.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');
const BENCH = path.join(ROOT, 'bench', 'index.js');

function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BENCH, ...args], { cwd: ROOT, env: { ...process.env, L2_BENCH_TINY: '1' }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const positive = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x > 0;

describe('benchmark harness', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2-bench-test-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('aead and handshake sections produce checked results, a report, JSON and a chart', async () => {
    const json = path.join(dir, 'r.json');
    const out = path.join(dir, 'out');
    const run = await bench(['--quick', '--section', 'aead,handshake', '--json', json, '--out', out]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    const r = JSON.parse(fs.readFileSync(json, 'utf8'));

    expect(r.sections).toEqual(['aead', 'handshake']);
    expect(r.quick).toBe(true);
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(typeof r.machine.cpuModel).toBe('string');
    expect(r.machine.node).toBe(process.version);
    // The self-checks (opened bytes, handshake keys, echoes) ran and passed.
    expect(r.checks).toBeGreaterThan(100);

    expect(r.aead.sizes).toEqual([64, 1024, 16384, 65536]);
    const ids = ['l2-single', 'l2-packed', 'l2-batch', 'node', 'noble', 'sodium'];
    for (const size of r.aead.sizes) {
      const rows = r.aead.rows.filter((x: { size: number }) => x.size === size);
      expect(rows.map((x: { id: string }) => x.id)).toEqual(ids);
      for (const row of rows) {
        expect(positive(row.opsPerSecond) && positive(row.mbPerSecond) && positive(row.ratio.node) && positive(row.ratio.sodium)).toBe(true);
      }
      expect(rows.find((x: { id: string }) => x.id === 'node').ratio.node).toBe(1);
    }

    const h = r.handshake;
    expect(positive(h.cryptoOnly.l2PerSecond) && positive(h.cryptoOnly.jsPerSecond) && positive(h.cryptoOnly.ratio)).toBe(true);
    expect(h.cryptoOnly.kemCandidates.length).toBeGreaterThanOrEqual(2);
    for (const k of ['l2Tcp1', 'tls1', 'l2Tcp16', 'tls16', 'ratio1', 'ratio16']) expect(positive(h.loopback[k])).toBe(true);

    // Each target of these sections is judged, none left undecided.
    const names = r.targets.map((t: { target: string }) => t.target).join('\n');
    expect(names).toMatch(/AEAD 16 KiB seal\+open ≥ 2\.0× Node crypto/);
    expect(names).toMatch(/AEAD 64 B batched ≥ 30× Node crypto/);
    expect(names).toMatch(/Handshakes, crypto only/);
    expect(names).toMatch(/over loopback μTCP/);
    for (const t of r.targets) expect(['MET', 'MISSED', 'NOT MEASURED']).toContain(t.status);

    expect(run.stdout).toMatch(/## Targets \(issue 5\)/);
    expect(fs.readFileSync(path.join(out, 'results.md'), 'utf8')).toBe(run.stdout.replace(/\n$/, ''));
    expect(JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')).checks).toBe(r.checks);
    const svg = fs.readFileSync(path.join(out, 'chart.svg'), 'utf8');
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toMatch(/<path d="M[\d.]+,[\d.]+ L/);
    // Progress goes to stderr as plain lines when it is not a terminal.
    expect(run.stderr).toMatch(/^\[bench\] aead 64 B$/m);
  }, 180_000);

  test('an unknown section is refused with a message', async () => {
    const run = await bench(['--section', 'nope']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/unknown section nope; one of aead, handshake, transport, scale/);
  }, 60_000);
});
