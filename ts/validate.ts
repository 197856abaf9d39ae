/**
 * Argument type checks at the JS boundary, so a wrong type gets an `L2Error` naming the
 * argument. Sizes and values are checked once, in Rust.
 */
import { L2Error } from './errors';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  return Array.isArray(v) ? 'an array' : typeof v;
}

/** `v` must be a Uint8Array (a Buffer is one). */
export function bytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) {
    throw new L2Error('ERR_L2_BAD_INPUT', `${name} must be a Uint8Array or Buffer, got ${describe(v)}`);
  }
  return v;
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
