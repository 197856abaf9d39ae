/**
 * scripts/install.js, the package's `install` hook, in the three situations it tells apart: a
 * binary loads (build nothing), an installed package without one (clear error, no build), and a
 * checkout without one and without cargo (clear error naming cargo).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { consumerEnv }: { consumerEnv(): NodeJS.ProcessEnv } = require('../../scripts/pack-test.js');

const root = path.join(__dirname, '..', '..');
let work: string;

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'l2-install-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

/** A package directory with the install script and the generated loader; optionally the binary and checkout markers. */
function layout({ binary, checkout }: { binary: boolean; checkout: boolean }): string {
  fs.mkdirSync(path.join(work, 'scripts'));
  fs.mkdirSync(path.join(work, 'native'));
  fs.copyFileSync(path.join(root, 'scripts', 'install.js'), path.join(work, 'scripts', 'install.js'));
  fs.copyFileSync(path.join(root, 'native', 'binding.js'), path.join(work, 'native', 'binding.js'));
  if (binary) {
    const node = fs.readdirSync(path.join(root, 'native')).find((f) => f.endsWith('.node'))!;
    fs.copyFileSync(path.join(root, 'native', node), path.join(work, 'native', node));
  }
  if (checkout) {
    fs.writeFileSync(path.join(work, 'Cargo.toml'), '');
    fs.mkdirSync(path.join(work, 'ts'));
  }
  return work;
}

function runInstall(dir: string) {
  return spawnSync(process.execPath, [path.join(dir, 'scripts', 'install.js')], { cwd: dir, env: consumerEnv(), encoding: 'utf8' });
}

test('a binary that loads means nothing is built', () => {
  const r = runInstall(layout({ binary: true, checkout: false }));
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('the native addon loads; nothing to build');
});

test('an installed package with no loadable binary stops with a clear message and builds nothing', () => {
  const r = runInstall(layout({ binary: false, checkout: false }));
  expect(r.status).toBe(1);
  expect(r.stderr).toContain(`no prebuilt binary loads on ${process.platform}-${process.arch}`);
  expect(r.stderr).toContain('no sources to build from');
  expect(r.stdout).not.toContain('building');
});

test('a checkout with no binary and no cargo on PATH says that building needs cargo', () => {
  const r = runInstall(layout({ binary: false, checkout: true }));
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('building from source needs cargo');
  expect(r.stdout).not.toContain('building the native addon');
});
