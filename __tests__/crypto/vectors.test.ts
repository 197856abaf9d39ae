/**
 * Every Wycheproof case (X25519, Ed25519, ChaCha20-Poly1305, ML-KEM-768) and every X-Wing
 * vector through the public TypeScript API. Vectors live in shared/vectors beside the
 * repository (L2_VECTORS_DIR overrides); a missing file fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crypto, L2Error } from '../../ts';

const dir = process.env.L2_VECTORS_DIR ?? path.join(__dirname, '..', '..', '..', 'shared', 'vectors');
const load = (rel: string) => JSON.parse(fs.readFileSync(path.join(dir, rel), 'utf8'));
const hex = (s: string) => Buffer.from(s, 'hex');
/** Hex of bytes: string comparison is fast and its diffs readable. */
const hx = (b: Uint8Array) => Buffer.from(b).toString('hex');

interface Case { tcId: number; result: 'valid' | 'invalid' | 'acceptable'; [k: string]: unknown }
interface File { numberOfTests: number; testGroups: { tests: Case[]; [k: string]: unknown }[] }

function each(file: File, check: (t: Case, group: Record<string, unknown>) => void): Record<string, number> {
  const tally: Record<string, number> = { valid: 0, invalid: 0, acceptable: 0 };
  for (const g of file.testGroups) {
    for (const t of g.tests) {
      check(t, g);
      tally[t.result] += 1;
    }
  }
  expect(tally.valid + tally.invalid + tally.acceptable).toBe(file.numberOfTests);
  return tally;
}

function rejects(call: () => unknown): boolean {
  try {
    call();
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(L2Error);
    return true;
  }
}

const counts: string[] = [];
afterAll(() => console.log(`known-answer tests through the TS API:\n  ${counts.join('\n  ')}`));

test('wycheproof x25519', () => {
  const t = each(load('wycheproof/x25519_test.json'), (t) => {
    const shared = hex(t.shared as string);
    if (shared.every((b) => b === 0)) {
      expect(rejects(() => crypto.x25519.sharedSecret(hex(t.private as string), hex(t.public as string)))).toBe(true);
    } else {
      expect(hx(crypto.x25519.sharedSecret(hex(t.private as string), hex(t.public as string)))).toBe(t.shared);
    }
  });
  counts.push(`x25519: ${JSON.stringify(t)}`);
});

test('wycheproof ed25519', () => {
  const t = each(load('wycheproof/ed25519_test.json'), (t, g) => {
    const pk = hex((g.publicKey as { pk: string }).pk);
    const sig = hex(t.sig as string);
    const ok = sig.length === 64 && crypto.ed25519.verify(pk, hex(t.msg as string), sig);
    expect([t.tcId, ok]).toEqual([t.tcId, t.result === 'valid']);
  });
  counts.push(`ed25519: ${JSON.stringify(t)}`);
});

test('wycheproof chacha20-poly1305', () => {
  const t = each(load('wycheproof/chacha20_poly1305_test.json'), (t) => {
    const [key, iv, aad, msg] = ['key', 'iv', 'aad', 'msg'].map((k) => hex(t[k] as string));
    const sealed = Buffer.concat([hex(t.ct as string), hex(t.tag as string)]);
    if (t.result === 'valid') {
      expect(hx(crypto.aead.seal(key, iv, msg, aad))).toBe(hx(sealed));
      expect(hx(crypto.aead.open(key, iv, sealed, aad))).toBe(t.msg);
    } else {
      expect(rejects(() => crypto.aead.open(key, iv, sealed, aad))).toBe(true);
    }
  });
  counts.push(`chacha20-poly1305: ${JSON.stringify(t)}`);
});

test('wycheproof ml-kem-768 keygen from seed', () => {
  const t = each(load('wycheproof/mlkem_768_keygen_seed_test.json'), (t) => {
    const kp = crypto.mlkem768.keygen(hex(t.seed as string));
    expect(hx(kp.encapsulationKey)).toBe(t.ek as string);
    expect(hx(kp.decapsulationKey)).toBe(t.dk as string);
  });
  counts.push(`ml-kem-768 keygen: ${JSON.stringify(t)}`);
});

test('wycheproof ml-kem-768 keygen then decapsulate', () => {
  const t = each(load('wycheproof/mlkem_768_test.json'), (t) => {
    const run = () => {
      const kp = crypto.mlkem768.keygen(hex(t.seed as string));
      expect(hx(kp.encapsulationKey)).toBe(t.ek as string);
      return crypto.mlkem768.decapsulate(hex(t.c as string), kp.decapsulationKey);
    };
    if (t.result === 'valid') expect(hx(run())).toBe(t.K as string);
    else expect(rejects(run)).toBe(true);
  });
  counts.push(`ml-kem-768 decaps: ${JSON.stringify(t)}`);
});

test('wycheproof ml-kem-768 encapsulate', () => {
  const t = each(load('wycheproof/mlkem_768_encaps_test.json'), (t) => {
    const run = () => crypto.mlkem768.encapsulate(hex(t.ek as string), hex(t.m as string));
    if (t.result === 'valid') {
      const { ciphertext, sharedSecret } = run();
      expect(hx(ciphertext)).toBe(t.c as string);
      expect(hx(sharedSecret)).toBe(t.K as string);
    } else {
      expect(rejects(run)).toBe(true);
    }
  });
  counts.push(`ml-kem-768 encaps: ${JSON.stringify(t)}`);
});

test('wycheproof ml-kem-768 semi-expanded decapsulate', () => {
  const t = each(load('wycheproof/mlkem_768_semi_expanded_decaps_test.json'), (t) => {
    const run = () => crypto.mlkem768.decapsulate(hex(t.c as string), hex(t.dk as string));
    if (t.result === 'valid') expect(hx(run())).toBe(t.K as string);
    else expect(rejects(run)).toBe(true);
  });
  counts.push(`ml-kem-768 semi-expanded decaps: ${JSON.stringify(t)}`);
});

test('x-wing vectors', () => {
  const vectors: Record<string, string>[] = load('xwing/test-vectors.json');
  expect(vectors.length).toBeGreaterThan(0);
  for (const v of vectors) {
    const kp = crypto.hybrid.keygen(hex(v.seed));
    expect(hx(kp.publicKey)).toBe(v.pk);
    expect(hx(kp.secretKey)).toBe(v.sk);
    const enc = crypto.hybrid.encapsulate(kp.publicKey, hex(v.eseed));
    expect(hx(enc.ciphertext)).toBe(v.ct);
    expect(hx(enc.sharedSecret)).toBe(v.ss);
    expect(hx(crypto.hybrid.decapsulate(enc.ciphertext, kp.secretKey))).toBe(v.ss);
  }
  counts.push(`x-wing: ${vectors.length} vectors`);
});
