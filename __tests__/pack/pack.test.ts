/**
 * Pack, install, run: the package packed the way @napi-rs/cli publishes it installs into an empty
 * project with no Rust toolchain, loads its prebuilt binary from the platform package, works from
 * CommonJS and ESM with typings for both, and runs the demo.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

interface Tarball {
  files: string[];
  manifest: Record<string, unknown> & { version: string };
}
interface PackTest {
  pack(outDir: string): { main: string; platforms: string[] };
  tarball(file: string): Tarball;
  install(dir: string, tarballs: string[], extraArgs?: string[]): { stdout: string; stderr: string };
  nodeIn(dir: string, args: string[], opts?: object): { stdout: string; stderr: string };
  typecheck(dir: string): { stdout: string };
  consumerEnv(): NodeJS.ProcessEnv;
  CJS_CHECK: string;
  ESM_CHECK: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pt: PackTest = require('../../scripts/pack-test.js');

jest.setTimeout(300_000);

const PLATFORM = 'l2-session-linux-x64-gnu';
let work: string;
let main: string;
let platform: string;
let app: string;
let installOutput: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'l2-pack-jest-'));
  const packed = pt.pack(path.join(work, 'tarballs'));
  main = packed.main;
  platform = packed.platforms.find((p) => path.basename(p).startsWith(PLATFORM))!;
  app = path.join(work, 'app');
  const r = pt.install(app, [main, platform]);
  installOutput = r.stdout + r.stderr;
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('the main tarball has dist, the loader, the install script and the demo, no binary, and the platform package as an optional dependency of the same version', () => {
  const { files, manifest } = pt.tarball(main);
  for (const f of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'native/binding.js', 'native/binding.d.ts', 'scripts/install.js', 'examples/demo.js']) {
    expect(files).toContain(`package/${f}`);
  }
  expect(files.filter((f) => f.endsWith('.node'))).toEqual([]);
  expect(manifest.optionalDependencies).toEqual({ [PLATFORM]: manifest.version });
});

test('the platform tarball holds the prebuilt .node and says which os, cpu and libc it is for', () => {
  const { files, manifest } = pt.tarball(platform);
  expect(files).toContain('package/l2-session.linux-x64-gnu.node');
  expect(manifest).toMatchObject({ name: PLATFORM, version: pt.tarball(main).manifest.version, os: ['linux'], cpu: ['x64'], libc: ['glibc'], main: 'l2-session.linux-x64-gnu.node' });
});

test('the consumer project has no cargo on PATH', () => {
  const r = spawnSync('sh', ['-c', 'command -v cargo || command -v rustc'], { env: pt.consumerEnv(), encoding: 'utf8' });
  expect(r.status).not.toBe(0);
  expect(r.stdout).toBe('');
});

test('installing builds nothing: the install script finds the prebuilt binary', () => {
  expect(installOutput).toContain('l2-session: the native addon loads; nothing to build');
  expect(installOutput).not.toContain('building the native addon');
  expect(fs.existsSync(path.join(app, 'node_modules', PLATFORM, 'l2-session.linux-x64-gnu.node'))).toBe(true);
});

test('require("l2-session") loads the binary of the platform package and runs a handshake', () => {
  const out = JSON.parse(pt.nodeIn(app, ['-e', pt.CJS_CHECK]).stdout);
  expect(out).toEqual({
    opened: 'through the prebuilt binary',
    peer: true,
    binary: path.join('node_modules', PLATFORM, 'l2-session.linux-x64-gnu.node'),
    code: 'ERR_L2_BAD_INPUT',
  });
});

test('import("l2-session") gives the same classes as require', () => {
  expect(JSON.parse(pt.nodeIn(app, ['--input-type=module', '-e', pt.ESM_CHECK]).stdout)).toEqual({ sameClasses: true, did: true });
});

test('the typings compile for a CommonJS (.cts) and an ESM (.mts) consumer', () => {
  expect(() => pt.typecheck(app)).not.toThrow();
});

test('the demo runs in the consumer project', () => {
  const out = pt.nodeIn(app, [path.join('node_modules', 'l2-session', 'examples', 'demo.js')], { timeout: 240_000 }).stdout;
  expect(out).toMatch(/established over quic/);
  expect(out).toMatch(/rotated to key epoch 2/);
  expect(out).toMatch(/session established over tcp/);
  expect(out.trim().endsWith('closed')).toBe(true);
});

test('the relay example runs in the consumer project', () => {
  const out = pt.nodeIn(app, [path.join('node_modules', 'l2-session', 'examples', 'relay', 'run.js')], { timeout: 120_000 }).stdout;
  expect(out).toContain('bob received "hello bob, the relay cannot read this"');
  expect(out).toContain('bob saw the sealed close');
  expect(out).not.toContain('PLAINTEXT VISIBLE');
});

test('npm version moves the platform packages to the new version in the same commit', () => {
  const repo = path.join(work, 'versioned');
  const root = path.join(__dirname, '..', '..');
  fs.mkdirSync(repo);
  fs.copyFileSync(path.join(root, 'package.json'), path.join(repo, 'package.json'));
  fs.cpSync(path.join(root, 'npm'), path.join(repo, 'npm'), { recursive: true, filter: (src) => !src.endsWith('.node') });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(repo, 'node_modules'));
  fs.writeFileSync(path.join(repo, '.gitignore'), 'node_modules\n');
  const git = (...args: string[]) => spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { cwd: repo, encoding: 'utf8' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'base');
  const author = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@localhost', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@localhost' };
  const bumped = spawnSync('npm', ['version', 'minor'], { cwd: repo, encoding: 'utf8', env: { ...process.env, ...author } });
  expect(bumped.status).toBe(0);
  const version = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).version;
  expect(version).not.toBe(pt.tarball(main).manifest.version);
  expect(JSON.parse(fs.readFileSync(path.join(repo, 'npm', 'linux-x64-gnu', 'package.json'), 'utf8')).version).toBe(version);
  expect(git('show', '--name-only', '--format=', 'HEAD').stdout).toContain('npm/linux-x64-gnu/package.json');
});

test('without the platform package the install stops with a clear message, and loading throws ERR_L2_INTERNAL', () => {
  const bare = path.join(work, 'bare');
  let failure = '';
  try {
    pt.install(bare, [main], ['--omit=optional']);
  } catch (e) {
    failure = String((e as Error).message);
  }
  expect(failure).toContain('no prebuilt binary loads on linux-x64');
  expect(failure).not.toContain('building the native addon');

  const skipped = path.join(work, 'skipped');
  pt.install(skipped, [main], ['--omit=optional', '--ignore-scripts']);
  const script = "try { require('l2-session'); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }";
  const out = JSON.parse(pt.nodeIn(skipped, ['-e', script]).stdout);
  expect(out).toMatchObject({ name: 'L2Error', code: 'ERR_L2_INTERNAL' });
  expect(out.message).toMatch(/native addon could not be loaded/);
});
