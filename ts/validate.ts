/**
 * Argument checks at the JS boundary, so a wrong type gets an `L2Error` naming the argument.
 * Sizes and values of what goes to Rust are checked once, there; here only what JS itself uses
 * (addresses before a dial, times, callbacks) and what Rust must never see (shared memory).
 */
import { isIP } from 'node:net';
import { L2Error } from './errors';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return Array.isArray(v) ? 'an array' : typeof v;
}

/**
 * `v` must be a Uint8Array (a Buffer is one) over an ordinary ArrayBuffer. Shared memory is refused:
 * another thread could change the bytes while Rust reads them (checked, then used). A detached
 * buffer is refused rather than read as empty.
 */
export function bytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be a Uint8Array or Buffer, got ${describe(v)}`);
  }
  if (typeof SharedArrayBuffer === 'function' && v.buffer instanceof SharedArrayBuffer) {
    throw new L2Error('ERR_L2_BAD_INPUT', `${name} must not be backed by a SharedArrayBuffer`);
  }
  if (v.byteLength === 0 && isDetached(v.buffer)) throw new L2Error('ERR_L2_BAD_INPUT', `${name} is a view of a detached ArrayBuffer`);
  return v;
}

// Node 20 has no ArrayBuffer.prototype.detached; a view cannot be made over a detached buffer.
function isDetached(buffer: ArrayBufferLike): boolean {
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/** `v` must be a socket address `ip:port` (IPv6 in brackets), as the transports take. */
export function address(name: string, v: unknown): string {
  const m = typeof v === 'string' && v.length <= 64 ? /^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/.exec(v) : null;
  const host = m && (m[1] ?? m[2]);
  const ok = m !== null && isIP(host!) === (m[1] !== undefined ? 6 : 4) && Number(m[3]) <= 65535;
  if (!ok) throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be an address "ip:port", got ${typeof v === 'string' ? JSON.stringify(v.slice(0, 64)) : describe(v)}`);
  return v as string;
}

/** `v` must be a finite number (a time in ms, say). */
export function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be a finite number, got ${typeof v === 'number' ? v : describe(v)}`);
  return v;
}

/** `v` must be a time in ms: finite and not negative. */
export function time(name: string, v: unknown): number {
  if (finite(name, v) < 0) throw new L2Error('ERR_L2_BAD_INPUT', `${name} must not be negative, got ${String(v)}`);
  return v as number;
}

/** `v` must be a number, or absent; its range is checked where it is used. */
export function optionalNumber(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number') throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be a number, got ${describe(v)}`);
  return v;
}

/** `v` must be a function. */
export function callback(name: string, v: unknown): (...args: never[]) => unknown {
  if (typeof v !== 'function') throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be a function, got ${describe(v)}`);
  return v as (...args: never[]) => unknown;
}

/** `v` must be a Uint8Array or absent (`undefined`/`null`). */
export function optionalBytes(name: string, v: unknown): Uint8Array | undefined {
  return v === undefined || v === null ? undefined : bytes(name, v);
}

/** `v` must be a plain options object with only the given keys, or absent. */
export function options<T extends object>(name: string, v: unknown, keys: readonly (keyof T & string)[]): T | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be an object, got ${describe(v)}`);
  }
  for (const k of Object.keys(v)) {
    if (!(keys as readonly string[]).includes(k)) {
      throw new L2Error('ERR_L2_BAD_INPUT', `${name} has an unknown option "${k}" (known: ${keys.join(', ')})`);
    }
  }
  return v as T;
}

/** `v` must be an integer in [min, max], or absent. */
export function optionalInt(name: string, v: unknown, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be an integer in ${min}..${max}, got ${typeof v === 'number' ? v : describe(v)}`);
  }
  return v;
}

/** `v` must be a string, or absent. */
export function optionalString(name: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be a string, got ${describe(v)}`);
  return v;
}
