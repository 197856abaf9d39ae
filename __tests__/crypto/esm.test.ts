/** The package loads as ESM and as CommonJS, sharing one addon and one set of classes. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

test('ESM entry point exports the same API as CommonJS', () => {
  const script = `
    import { crypto, Identity, L2Error } from ${JSON.stringify(path.join(root, 'dist', 'index.mjs'))};
    import { createRequire } from 'node:module';
    const cjs = createRequire(import.meta.url)(${JSON.stringify(root)});
    const id = Identity.generate();
    const ok = id.did.startsWith('did:key:z6Mk') && cjs.Identity === Identity && cjs.crypto === crypto;
    let code = 'none';
    try { crypto.aead.seal(new Uint8Array(1), new Uint8Array(12), new Uint8Array(1)); } catch (e) { code = e instanceof L2Error && e.code; }
    console.log(JSON.stringify({ ok, code }));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual({ ok: true, code: 'ERR_L2_BAD_INPUT' });
});
