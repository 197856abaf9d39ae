// Packs l2-session the way @napi-rs/cli publishes it — the main package plus one package per
// platform holding its prebuilt .node, listed in the main package's optionalDependencies — then
// installs both tarballs into an empty project with no cargo on PATH and runs the demo there.
// `npm run pack:test` runs it all; __tests__/pack/ uses the same steps and checks each one.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) {
    const err = new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
    err.result = r;
    throw err;
  }
  return r;
}

/** A PATH without any directory that holds a Rust toolchain, so nothing can build from source. */
function pathWithoutRust(pathVar = process.env.PATH || '') {
  const rusty = (dir) => ['cargo', 'rustc', 'rustup'].some((t) => fs.existsSync(path.join(dir, t)));
  return pathVar.split(path.delimiter).filter((d) => d && !rusty(d)).join(path.delimiter);
}

/** The environment of the consumer project: no Rust toolchain reachable. */
function consumerEnv() {
  const env = { ...process.env, PATH: pathWithoutRust() };
  for (const k of ['CARGO', 'CARGO_HOME', 'RUSTUP_HOME', 'RUSTC', 'L2_FORCE_BUILD']) delete env[k];
  return env;
}

/**
 * Stages the checkout's publishable files and packs them into `outDir`:
 * `napi artifacts` moves each built .node into its npm/<platform> package and
 * `napi pre-publish --skip-optional-publish` writes the optionalDependencies, exactly as a release
 * does. Returns the tarball paths. Needs the TypeScript and the addon built (`npm run build`).
 */
function pack(outDir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error('pack: dist/ is missing; run `npm run build:ts` first');
  const binaries = fs.readdirSync(path.join(root, 'native')).filter((f) => f.startsWith(`${pkg.napi.binaryName}.`) && f.endsWith('.node'));
  if (binaries.length === 0) throw new Error('pack: no native/*.node; run `npm run build:native` first');

  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'l2-pack-stage-'));
  try {
    // Exactly the files `npm pack` would take from the checkout (it honours "files").
    const listed = JSON.parse(sh('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root }).stdout)[0].files;
    for (const { path: rel } of listed) {
      fs.mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
      fs.copyFileSync(path.join(root, rel), path.join(stage, rel));
    }
    fs.cpSync(path.join(root, 'npm'), path.join(stage, 'npm'), { recursive: true, filter: (src) => !src.endsWith('.node') });
    fs.mkdirSync(path.join(stage, 'artifacts'));
    for (const b of binaries) fs.copyFileSync(path.join(root, 'native', b), path.join(stage, 'artifacts', b));

    // pre-publish reads the last commit message (release tags), so the stage is a repository.
    const git = (...args) => sh('git', ['-c', 'user.name=pack', '-c', 'user.email=pack@localhost', ...args], { cwd: stage });
    git('init', '-q');
    git('commit', '-q', '--allow-empty', '-m', `pack ${pkg.version}`);
    sh(process.execPath, [bin('napi'), 'artifacts', '--output-dir', 'artifacts', '--npm-dir', 'npm'], { cwd: stage });
    sh(process.execPath, [bin('napi'), 'pre-publish', '--skip-optional-publish', '--npm-dir', 'npm'], { cwd: stage });

    fs.mkdirSync(outDir, { recursive: true });
    const npmPack = (dir) => path.join(outDir, JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', outDir], { cwd: dir }).stdout)[0].filename);
    const platforms = fs.readdirSync(path.join(stage, 'npm')).map((d) => npmPack(path.join(stage, 'npm', d)));
    return { main: npmPack(stage), platforms };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** Lists a tarball's files and reads its package.json. */
function tarball(file) {
  const files = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' }));
  return { files, manifest };
}

/** An empty project in `dir` with the tarballs installed by npm, no Rust on PATH. */
function install(dir, tarballs, extraArgs = []) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
  return sh('npm', ['install', '--no-audit', '--no-fund', '--foreground-scripts', ...extraArgs, ...tarballs], { cwd: dir, env: consumerEnv() });
}

/** Runs node in the consumer project with the consumer environment. */
function nodeIn(dir, args, opts = {}) {
  return sh(process.execPath, args, { cwd: dir, env: consumerEnv(), ...opts });
}

// Used in the consumer project: loads the package both ways and reports what it saw.
const CJS_CHECK = `
const l2 = require('l2-session');
const a = l2.Identity.generate(), b = l2.Identity.generate();
const i = l2.crypto.Handshake.initiator(a, { expectedPeer: b.did });
const r = l2.crypto.Handshake.responder(b);
r.handle(i.handle(r.handle(i.start())));
const opened = r.frameCipher().open(i.frameCipher().seal(Buffer.from('through the prebuilt binary'))).data.toString();
const binary = Object.keys(require.cache).find((f) => f.endsWith('.node'));
let code; try { l2.crypto.aead.seal(new Uint8Array(1), new Uint8Array(12), new Uint8Array(1)); } catch (e) { code = e instanceof l2.L2Error && e.code; }
console.log(JSON.stringify({ opened, peer: r.peerDid === a.did, binary: require('node:path').relative(process.cwd(), binary), code }));`;

const ESM_CHECK = `
import { Identity, crypto, L2Error } from 'l2-session';
import l2default from 'l2-session';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('l2-session');
const dynamic = await import('l2-session');
console.log(JSON.stringify({
  sameClasses: cjs.Identity === Identity && cjs.crypto === crypto && dynamic.L2Error === L2Error && l2default.Identity === Identity,
  did: Identity.generate().did.startsWith('did:key:z6Mk'),
}));`;

// Typed consumers, one per module system: tsc must accept both against the package's typings.
const TYPED = {
  'cjs-consumer.cts': `import l2 = require('l2-session');
const id: l2.Identity = l2.Identity.generate();
const code: l2.L2ErrorCode = 'ERR_L2_BAD_INPUT';
export async function dial(node: l2.Node, peer: string): Promise<l2.SessionState> {
  const s: l2.Session = await node.establish(peer, { transport: 'quic' });
  return s.state;
}
export const did: string = id.did + code;
`,
  'esm-consumer.mts': `import { Identity, L2Error, Node, crypto, type L2ErrorCode, type Session } from 'l2-session';
const id = Identity.generate();
const sealed: Buffer = crypto.aead.seal(new Uint8Array(32), new Uint8Array(12), new Uint8Array(3));
export function codeOf(e: unknown): L2ErrorCode | undefined { return e instanceof L2Error ? e.code : undefined; }
export async function start(): Promise<Session[]> { const n = await Node.listen({ identity: id }); return [...n.sessions]; }
export const sizes: number = sealed.length;
`,
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true,
      types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')],
    },
    files: ['cjs-consumer.cts', 'esm-consumer.mts'],
  }, null, 2),
};

/** Type-checks the two consumers with the checkout's TypeScript; returns tsc's result. */
function typecheck(dir) {
  for (const [name, text] of Object.entries(TYPED)) fs.writeFileSync(path.join(dir, name), text);
  return nodeIn(dir, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
}

module.exports = { pack, tarball, install, nodeIn, typecheck, consumerEnv, CJS_CHECK, ESM_CHECK };

if (require.main === module) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'l2-pack-test-'));
  const step = (what) => console.log(`pack-test: ${what}`);
  try {
    const { main, platforms } = pack(path.join(work, 'tarballs'));
    step(`packed ${[main, ...platforms].map((f) => path.basename(f)).join(', ')}`);
    const app = path.join(work, 'app');
    const noCargo = spawnSync('sh', ['-c', 'command -v cargo'], { env: consumerEnv() }).status !== 0;
    if (!noCargo) throw new Error('cargo is still reachable on the consumer PATH');
    step('cargo is not on the consumer PATH');
    install(app, [main, ...platforms]);
    step('installed both tarballs');
    step(`require: ${nodeIn(app, ['-e', CJS_CHECK]).stdout.trim()}`);
    step(`import: ${nodeIn(app, ['--input-type=module', '-e', ESM_CHECK]).stdout.trim()}`);
    typecheck(app);
    step('typings compile for .cts and .mts consumers');
    const demo = nodeIn(app, [path.join('node_modules', 'l2-session', 'examples', 'demo.js')], { timeout: 120_000 });
    step(`demo ran:\n${demo.stdout}`);
    console.log('pack-test: ok');
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
