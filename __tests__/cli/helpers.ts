/** Shared by the operator tests: polling, Prometheus text parsing, a forged frame. */
import { FrameType, Handshake, Identity } from '../../ts';

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`, naming `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One sample of the Prometheus text format. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (comments skipped; every sample line checked). */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the sample `name` whose labels include `labels` (undefined when absent). */
export function sample(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/**
 * A well-formed data frame sealed under keys no session holds, with frame counter `counter`: a
 * receiver drops it as a replay when it has seen that counter, and as forged otherwise.
 */
export function forgedFrame(counter: number): Buffer {
  const i = Handshake.initiator(Identity.generate());
  const r = Handshake.responder(Identity.generate());
  r.handle(i.handle(r.handle(i.start())!)!);
  const payload = Buffer.alloc(16 * (counter + 1));
  const frames = i.frameCipher().sealPacked(payload, new Uint32Array(counter + 1).fill(16), FrameType.Data);
  const frameLen = frames.length / (counter + 1);
  return frames.subarray(counter * frameLen);
}
