/**
 * Session configuration: defaults from REQUIREMENTS.md "Sessions", strict parsing of caller input.
 * Anything the parser does not understand is an `ERR_L2_BAD_INPUT` naming the field; nothing is guessed.
 */
import { L2Error } from '../errors';

/** A duration as the caller may write it: milliseconds, or a string such as `"500ms"`, `"30s"`, `"1m"`, `"24h"`, `"7d"`. */
export type Duration = number | string;

/** Retry backoff: the first delay doubles after each failure up to `max` (1, 2, 4, 8, 16, 30, 30 … s by default). */
export interface BackoffInput {
  readonly initial?: Duration;
  readonly max?: Duration;
}

/** What a caller may pass; every key is optional and unknown keys are rejected. */
export interface SessionConfigInput {
  /** Session lifetime; the resumption ticket dies with it, rotation happens `rotationWindow` before it. */
  readonly ttl?: Duration;
  /** Quiet time after which a heartbeat is sent. */
  readonly heartbeatInterval?: Duration;
  /** Consecutive unanswered heartbeats that make a session `degraded`. */
  readonly heartbeatTolerance?: number;
  /** Time a heartbeat answer may take before it counts as missed. */
  readonly heartbeatTimeout?: Duration;
  /** Time a handshake (full, resume or rotation) may take before it fails with `timeout`. */
  readonly handshakeTimeout?: Duration;
  /** How long before the TTL the keys are rotated. */
  readonly rotationWindow?: Duration;
  /** How long a peer is refused after an authentication failure. */
  readonly quarantine?: Duration;
  /** Retry backoff after a failure. */
  readonly backoff?: BackoffInput;
  /** How long a session stays `degraded` before it is `suspended`. */
  readonly degradedTimeout?: Duration;
  /** How long the transport may report the link down before the session is `degraded`. */
  readonly linkLossTimeout?: Duration;
  /** Delay before a `suspended` session attempts recovery. */
  readonly suspendedRetry?: Duration;
  /** Time a data frame may stay unacknowledged before it is sent again. */
  readonly ackTimeout?: Duration;
  /** Messages held per session (queued plus sent-but-unacknowledged); beyond it `send` fails with `ERR_L2_LIMIT`. */
  readonly queueLimit?: number;
  /** Consecutive failed attempts after which a `failed` session is closed. */
  readonly maxRetries?: number;
}

/** A parsed configuration: every duration in milliseconds, every field present. */
export interface SessionConfig {
  readonly ttl: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTolerance: number;
  readonly heartbeatTimeout: number;
  readonly handshakeTimeout: number;
  readonly rotationWindow: number;
  readonly quarantine: number;
  readonly backoff: { readonly initial: number; readonly max: number };
  readonly degradedTimeout: number;
  readonly linkLossTimeout: number;
  readonly suspendedRetry: number;
  readonly ackTimeout: number;
  readonly queueLimit: number;
  readonly maxRetries: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * The defaults of the brief. `degradedTimeout` (5 min) is ours: ten heartbeat intervals, long enough to
 * ride out a route flap, short enough that a dead peer stops costing probes.
 */
export const DEFAULT_CONFIG: SessionConfig = Object.freeze({
  ttl: 24 * HOUR,
  heartbeatInterval: 30 * SECOND,
  heartbeatTolerance: 3,
  heartbeatTimeout: 2 * SECOND,
  handshakeTimeout: 5 * SECOND,
  rotationWindow: HOUR,
  quarantine: 60 * SECOND,
  backoff: Object.freeze({ initial: SECOND, max: 30 * SECOND }),
  degradedTimeout: 5 * MINUTE,
  linkLossTimeout: 30 * SECOND,
  suspendedRetry: 60 * SECOND,
  ackTimeout: 2 * SECOND,
  queueLimit: 1024,
  maxRetries: 10,
});

// A year: longer durations are certainly a unit mistake, and this keeps deadlines far from float precision limits.
const MAX_DURATION = 365 * DAY;
const UNITS: Readonly<Record<string, number>> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

type DurationKey = Exclude<keyof SessionConfig, 'backoff' | 'heartbeatTolerance' | 'queueLimit' | 'maxRetries'>;
type CountKey = 'heartbeatTolerance' | 'queueLimit' | 'maxRetries';

const DURATION_KEYS: readonly DurationKey[] = [
  'ttl',
  'heartbeatInterval',
  'heartbeatTimeout',
  'handshakeTimeout',
  'rotationWindow',
  'quarantine',
  'degradedTimeout',
  'linkLossTimeout',
  'suspendedRetry',
  'ackTimeout',
];
// Minimum value per count: a tolerance or queue of zero would make the session unusable; zero retries is valid.
const COUNT_KEYS: Readonly<Record<CountKey, number>> = { heartbeatTolerance: 1, queueLimit: 1, maxRetries: 0 };
const KNOWN_KEYS = new Set<string>([...DURATION_KEYS, ...Object.keys(COUNT_KEYS), 'backoff']);

function bad(field: string, expected: string, got: unknown): L2Error {
  return new L2Error('ERR_L2_BAD_INPUT', `config.${field}: expected ${expected}, got ${describe(got)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Parses one duration; `field` names it in the error. Results are whole, positive milliseconds up to a year. */
export function parseDuration(value: unknown, field: string): number {
  const expected = 'a duration (whole milliseconds > 0, or a string like "500ms", "30s", "1m", "24h")';
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const [, amount, unit] = DURATION_RE.exec(value) ?? [];
    if (amount === undefined || unit === undefined) throw bad(field, expected, value);
    ms = Number(amount) * (UNITS[unit] ?? NaN);
  } else {
    throw bad(field, expected, value);
  }
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > MAX_DURATION) throw bad(field, expected, value);
  return ms;
}

function parseCount(value: unknown, field: CountKey): number {
  const min = COUNT_KEYS[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw bad(field, `an integer >= ${min}`, value);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function parseBackoff(value: unknown): SessionConfig['backoff'] {
  if (value === undefined) return DEFAULT_CONFIG.backoff;
  if (!isPlainObject(value)) throw bad('backoff', 'an object { initial?, max? }', value);
  for (const key of Object.keys(value)) {
    if (key !== 'initial' && key !== 'max') throw bad(`backoff.${key}`, 'no such option (initial, max)', value[key]);
  }
  const { initial, max } = DEFAULT_CONFIG.backoff;
  return {
    initial: value.initial === undefined ? initial : parseDuration(value.initial, 'backoff.initial'),
    max: value.max === undefined ? max : parseDuration(value.max, 'backoff.max'),
  };
}

/** Parses caller input (or `undefined` for the defaults) into a frozen `SessionConfig`; throws `ERR_L2_BAD_INPUT`. */
export function parseConfig(input?: unknown): SessionConfig {
  if (input === undefined) return DEFAULT_CONFIG;
  if (!isPlainObject(input)) {
    throw new L2Error('ERR_L2_BAD_INPUT', `config: expected a plain object, got ${describe(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) throw bad(key, 'no such option', input[key]);
  }
  const out: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const key of DURATION_KEYS) {
    if (input[key] !== undefined) out[key] = parseDuration(input[key], key);
  }
  for (const key of Object.keys(COUNT_KEYS) as CountKey[]) {
    if (input[key] !== undefined) out[key] = parseCount(input[key], key);
  }
  out.backoff = Object.freeze(parseBackoff(input.backoff));
  const config = out as unknown as SessionConfig;
  checkRelations(config);
  return Object.freeze(config);
}

function relation(ok: boolean, field: string, rule: string): void {
  if (!ok) throw new L2Error('ERR_L2_BAD_INPUT', `config.${field}: must be ${rule}`);
}

// Cross-field rules: each keeps a timer from firing after the one it depends on.
function checkRelations(c: SessionConfig): void {
  relation(c.rotationWindow < c.ttl, 'rotationWindow', `shorter than ttl (${c.ttl} ms)`);
  const rule = `shorter than rotationWindow (${c.rotationWindow} ms): a rotation must end before the TTL`;
  relation(c.handshakeTimeout < c.rotationWindow, 'handshakeTimeout', rule);
  const interval = c.heartbeatInterval;
  relation(c.heartbeatTimeout < interval, 'heartbeatTimeout', `shorter than heartbeatInterval (${interval} ms)`);
  relation(c.backoff.initial <= c.backoff.max, 'backoff.initial', `at most backoff.max (${c.backoff.max} ms)`);
}
