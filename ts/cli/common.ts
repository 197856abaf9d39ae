/** What every `l2s` command shares: argument parsing and help, errors and exit codes, output, identity files. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { L2Error, toL2Error } from '../errors';
import { Identity } from '../identity';
import { LOG_LEVELS } from '../logger';
import type { Logger, LogLevel } from '../logger';

/** Exit codes (README.md, "The l2s command"). */
export const EXIT = { ok: 0, failure: 1, usage: 2, network: 3, auth: 4 } as const;

/** An error the CLI reports as one line, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
  }
}

/** The exit code of any error: usage and bad input 2, network 3, authentication 4, anything else 1. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if ((err as { code?: unknown })?.code?.toString().startsWith('ERR_PARSE_ARGS')) return EXIT.usage;
  switch (toL2Error(err).code) {
    case 'ERR_L2_BAD_INPUT':
      return EXIT.usage;
    case 'ERR_L2_TIMEOUT':
    case 'ERR_L2_TRANSPORT':
    case 'ERR_L2_CLOSED':
      return EXIT.network;
    case 'ERR_L2_AUTH_FAILED':
    case 'ERR_L2_QUARANTINED':
      return EXIT.auth;
    default:
      return EXIT.failure;
  }
}

/** The one line reported for an error (the code in parentheses for library errors). */
export function reasonOf(err: unknown): string {
  if (err instanceof CliError) return oneLine(err.message);
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) return oneLine(String(e.message));
  const l2 = toL2Error(err);
  return oneLine(`${l2.message} (${l2.code})`);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, '; ');
}

/** One option of a command. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder in the help text. */
  readonly arg?: string;
  readonly help: string;
}

/** A command: its help and its body. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Usage line after `l2s <name>`. */
  readonly usage: string;
  readonly description?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Takes its arguments as they are (as positionals), for commands that hand them to another program. */
  readonly passthrough?: boolean;
  run(args: Parsed): Promise<number>;
}

export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/** Options every command takes. */
export const JSON_OPTION: Record<string, OptionSpec> = { json: { type: 'boolean', help: 'print data as JSON' } };
export function logOption(byDefault: LogLevel): Record<string, OptionSpec> {
  return { 'log-level': { type: 'string', arg: 'LEVEL', help: `log to stderr as JSON lines from ${LOG_LEVELS.join('|')}|silent (default ${byDefault})` } };
}

/** Parses `argv` for `command`; `--help` prints its help instead and returns null. */
export function parse(command: Command, argv: string[]): Parsed | null {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, o] of Object.entries(command.options)) {
    options[name] = { type: o.type, multiple: o.multiple === true, ...(o.short ? { short: o.short } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (values.help) {
      process.stdout.write(helpOf(command));
      return null;
    }
    return { values: values as Parsed['values'], positionals };
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      throw new CliError(`${(err as Error).message.split('\n')[0]} (see l2s ${command.name} --help)`, EXIT.usage);
    }
    throw err;
  }
}

/** The help text of a command. */
export function helpOf(command: Command): string {
  const rows = Object.entries(command.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.arg ? ` ${o.arg}` : ''}`;
    return [flag, o.help + (o.multiple ? ' (repeatable)' : '')];
  });
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([f]) => f.length));
  return [
    `usage: l2s ${command.name} ${command.usage}`.trimEnd(),
    '',
    command.summary + '.',
    ...(command.description ? ['', command.description] : []),
    '',
    'options:',
    ...rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`),
    '',
  ].join('\n');
}

/** A string option, or the default. */
export function str(p: Parsed, name: string, fallback?: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : fallback;
}

/** A required string option. */
export function required(p: Parsed, command: string, name: string): string {
  const v = str(p, name);
  if (v === undefined || v === '') throw new CliError(`${command} needs --${name} (see l2s ${command} --help)`, EXIT.usage);
  return v;
}

/** An integer option within [min, max]. */
export function int(p: Parsed, name: string, min: number, max: number, fallback?: number): number | undefined {
  const v = str(p, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new CliError(`--${name} must be an integer in ${min}..${max}, got '${v}'`, EXIT.usage);
  return Number(v);
}

/** Checks that a command got exactly the positional arguments it takes. */
export function positionals(p: Parsed, command: string, min: number, max: number, what: string): string[] {
  if (p.positionals.length < min) throw new CliError(`${command} needs ${what} (see l2s ${command} --help)`, EXIT.usage);
  if (p.positionals.length > max) throw new CliError(`${command}: unexpected argument '${p.positionals[max]}' (see l2s ${command} --help)`, EXIT.usage);
  return p.positionals;
}

/** Writes `rows` as a left-aligned table under `header`. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** Writes one JSON document on its own line. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const PINO_LEVELS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * A logger writing pino's JSON line format (`level` as a number, `time`, `msg`, fields) to
 * `stream`, from `level` up; `silent` writes nothing.
 */
export function jsonLogger(level: string, stream: NodeJS.WritableStream = process.stderr, bindings: Record<string, unknown> = {}): Logger {
  if (level !== 'silent' && !(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, silent; got '${level}'`, EXIT.usage);
  }
  const threshold = level === 'silent' ? Infinity : PINO_LEVELS[level as LogLevel];
  const method = (name: LogLevel) => (objOrMsg: unknown, ...args: unknown[]) => {
    if (PINO_LEVELS[name] < threshold) return;
    const fields = typeof objOrMsg === 'object' && objOrMsg !== null ? (objOrMsg as Record<string, unknown>) : {};
    const msg = typeof objOrMsg === 'string' ? objOrMsg : args.length > 0 ? String(args[0]) : undefined;
    stream.write(`${JSON.stringify({ level: PINO_LEVELS[name], time: Date.now(), ...bindings, ...fields, msg })}\n`);
  };
  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    child: (more) => jsonLogger(level, stream, { ...bindings, ...more }),
  };
}

const IDENTITY_TYPE = 'l2-session identity';

/**
 * Writes a new identity file (JSON: type, version, did, base64 seed) readable by its owner only.
 * Refuses to replace an existing file unless `force`.
 */
export function writeIdentityFile(file: string, identity: Identity, force: boolean): void {
  const seed = identity.exportSeed();
  const body = `${JSON.stringify({ type: IDENTITY_TYPE, version: 1, did: identity.did, seed: seed.toString('base64') }, null, 2)}\n`;
  seed.fill(0);
  // A replacement goes through a new file, so the old file's mode never carries over.
  const target = path.resolve(file);
  const tmp = force ? `${target}.${process.pid}.tmp` : target;
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && !force) throw new CliError(`${file} already exists; use --force to replace it`);
    throw new CliError(`cannot write ${file}: ${code ?? String(err)}`);
  }
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, body);
  } finally {
    fs.closeSync(fd);
  }
  if (force) fs.renameSync(tmp, target);
}

/** Reads an identity file written by `l2s keygen`; refuses one that others can read. */
export function readIdentityFile(file: string): Identity {
  let stat: fs.Stats;
  let text: string;
  try {
    stat = fs.statSync(file);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read identity file ${file}: ${code === 'ENOENT' ? 'no such file (create one with l2s keygen)' : code ?? String(err)}`);
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new CliError(`identity file ${file} is accessible by others (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 ${file}`);
  }
  let doc: { type?: unknown; version?: unknown; did?: unknown; seed?: unknown };
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CliError(`identity file ${file} is not JSON`);
  }
  if (doc?.type !== IDENTITY_TYPE || doc.version !== 1 || typeof doc.seed !== 'string') {
    throw new CliError(`${file} is not an l2s identity file (version 1)`);
  }
  const seed = Buffer.from(doc.seed, 'base64');
  try {
    if (seed.length !== 32) throw new CliError(`identity file ${file} is damaged: its seed is not 32 bytes`);
    const identity = Identity.fromSeed(seed);
    if (identity.did !== doc.did) throw new CliError(`identity file ${file} is damaged: its did does not match its seed`);
    return identity;
  } finally {
    seed.fill(0);
  }
}

/** Parses `quic=HOST:PORT,tcp=HOST:PORT` (several `--address` options are merged). */
export function parseAddresses(specs: string[]): { quic?: string; tcp?: string } {
  const out: { quic?: string; tcp?: string } = {};
  for (const spec of specs) {
    for (const part of spec.split(',').filter((p) => p !== '')) {
      const m = /^(quic|tcp)=(.+)$/.exec(part);
      if (!m) throw new CliError(`bad --address '${part}': expected quic=HOST:PORT or tcp=HOST:PORT`, EXIT.usage);
      out[m[1] as 'quic' | 'tcp'] = checkHostPort(m[2], `--address ${m[1]}`);
    }
  }
  if (!out.quic && !out.tcp) throw new CliError('--address needs quic=HOST:PORT and/or tcp=HOST:PORT', EXIT.usage);
  return out;
}

/** Checks `HOST:PORT` (IPv6 as `[::1]:PORT`). */
export function checkHostPort(value: string, what: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new CliError(`bad ${what} '${value}': expected HOST:PORT`, EXIT.usage);
  return value;
}

/** The local address to bind for reaching `targets`: loopback stays on loopback, others get the wildcard of their family. */
export function bindHostFor(targets: string[]): string {
  const hosts = targets.map((t) => t.slice(0, t.lastIndexOf(':')));
  const v6 = hosts.some((h) => h.startsWith('['));
  if (hosts.every((h) => h === '[::1]')) return '::1';
  if (hosts.every((h) => /^127\./.test(h) || h === 'localhost')) return '127.0.0.1';
  return v6 ? '::' : '0.0.0.0';
}

/** The error of a failed library call, as a `CliError` with context. */
export function failure(context: string, err: unknown): CliError {
  const e = err instanceof L2Error ? err : toL2Error(err);
  return new CliError(`${context}: ${e.message} (${e.code})`, exitCodeOf(e));
}
