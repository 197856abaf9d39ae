/** `npm run docs`: the API reference builds from the TypeScript sources, and every export is documented. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

jest.setTimeout(180_000);

const root = path.join(__dirname, '..', '..');
let out: string;
let built: ReturnType<typeof spawnSync>;

interface Reflection {
  name: string;
  comment?: unknown;
  signatures?: { comment?: unknown }[];
}

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'l2-docs-'));
  built = spawnSync(process.execPath, [path.join(root, 'scripts', 'docs.js'), '--out', path.join(out, 'html'), '--json', path.join(out, 'api.json')], {
    cwd: root,
    encoding: 'utf8',
  });
});

afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

test('the reference builds from ts/index.ts with typedoc, with a page per public class', () => {
  expect(built.status).toBe(0);
  // typedoc prints a "Found N errors and M warnings" summary only when there is something to report.
  expect(String(built.stdout) + String(built.stderr)).not.toMatch(/\[(error|warning)\]/);
  for (const page of ['index.html', 'classes/Node.html', 'classes/Session.html', 'classes/L2Error.html', 'classes/Handshake.html', 'classes/FrameCipher.html', 'classes/Identity.html', 'variables/crypto.html']) {
    expect(fs.existsSync(path.join(out, 'html', page))).toBe(true);
  }
});

test('every declaration ts/index.ts exports has documentation', () => {
  const api = JSON.parse(fs.readFileSync(path.join(out, 'api.json'), 'utf8')) as { children: Reflection[] };
  const undocumented = api.children.filter((c) => !c.comment && !(c.signatures ?? []).some((s) => s.comment)).map((c) => c.name);
  expect(api.children.length).toBeGreaterThan(20);
  expect(undocumented).toEqual([]);
});
