/**
 * Catalogues of hostile values for the table-driven suites: each a list of [label, value]. Sizes test
 * the checks without exhausting memory (a length field of 2^32 is a number, not an allocation).
 */
import { Identity } from '../../ts';

export type Case = readonly [string, unknown];

/** A view whose ArrayBuffer was transferred away (detached). */
export function detachedView(size: number): Uint8Array {
  const view = new Uint8Array(size);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}

/** A view over shared memory another thread could write while Rust reads it. */
export function sharedView(size: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(size));
}

/** Values that are not bytes at all, nor absent. */
export const NOT_BYTES: Case[] = [
  ['number', 42],
  ['NaN', NaN],
  ['string', 'abc'],
  ['boolean', true],
  ['symbol', Symbol('x')],
  ['bigint', 10n],
  ['function', () => new Uint8Array(32)],
  ['plain object with a length', { length: 32 }],
  ['array of numbers', new Array(32).fill(1)],
  ['Float64Array', new Float64Array(4)],
  ['Uint16Array', new Uint16Array(16)],
  ['DataView', new DataView(new ArrayBuffer(32))],
  ['ArrayBuffer', new ArrayBuffer(32)],
  ['SharedArrayBuffer', new SharedArrayBuffer(32)],
];

/** `null` and `undefined`: wrong where bytes are required. */
export const ABSENT: Case[] = [
  ['undefined', undefined],
  ['null', null],
];

/** Byte views that must be refused whatever their size: detached and shared memory. */
export const BAD_VIEWS = (size: number): Case[] => [
  ['detached view', detachedView(size)],
  ['SharedArrayBuffer view', sharedView(size)],
];

/** Byte arrays of the wrong size for a fixed-size argument. */
export const WRONG_SIZES = (size: number): Case[] => [
  ['empty', new Uint8Array(0)],
  ['one byte short', new Uint8Array(size - 1)],
  ['one byte long', new Uint8Array(size + 1)],
  ['16 MiB + 1', new Uint8Array((1 << 24) + 1)],
];

/** Numbers (and things posing as numbers) no integer argument accepts. */
export const NOT_INTEGERS: Case[] = [
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['negative', -1],
  ['fraction', 1.5],
  ['2^53', 2 ** 53],
  ['2^64', 2 ** 64],
  ['numeric string', '5'],
  ['bigint', 5n],
  ['object', {}],
  ['boolean', true],
];

/** Non-finite values for a time argument. */
export const NOT_TIMES: Case[] = [
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['string', '1000'],
  ['bigint', 1000n],
  ['object', {}],
  ['null', null],
];

/** Strings that are not DIDs we can use, and non-strings. */
export const BAD_DIDS: Case[] = [
  ['empty', ''],
  ['not a DID', 'hello'],
  ['did:key: without a key', 'did:key:'],
  ['multibase prefix only', 'did:key:z'],
  ['bad base58', 'did:key:z0OIl'],
  ['wrong multicodec (X25519 key)', 'did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc'],
  ['Ed25519 prefix, short key', 'did:key:z6Mk'],
  ['another method', 'did:web:example.com'],
  ['upper case', Identity.generate().did.toUpperCase()],
  ['trailing NUL', `${Identity.generate().did}\0`],
  ['100 000 characters', `did:key:z${'1'.repeat(100_000)}`],
  ['number', 7],
  ['null', null],
  ['undefined', undefined],
  ['object', { did: 'did:key:z6Mk' }],
  ['array', ['did:key:z6Mk']],
];

/** Malformed socket addresses (none of them is ever dialled: only loopback is). */
export const BAD_ADDRESSES: Case[] = [
  ['empty', ''],
  ['host only', '127.0.0.1'],
  ['port only', ':4433'],
  ['port out of range', '127.0.0.1:65536'],
  ['negative port', '127.0.0.1:-1'],
  ['fractional port', '127.0.0.1:1.5'],
  ['bad IPv4', '999.0.0.1:80'],
  ['IPv6 without brackets', '::1:80'],
  ['unclosed bracket', '[::1:80'],
  ['host name', 'localhost:80'],
  ['NUL inside', '127.0.0.1:80\0'],
  ['very long', `${'1'.repeat(10_000)}:80`],
  ['number', 4433],
  ['object', { host: '127.0.0.1', port: 80 }],
];

/** Option bags that are not option bags. */
export const NOT_OPTIONS: Case[] = [
  ['string', 'x'],
  ['number', 5],
  ['array', []],
  ['bytes', new Uint8Array(4)],
  ['unknown key', { bogus: 1 }],
  ['__proto__ key from JSON', JSON.parse('{"__proto__": {"polluted": true}}')],
];

/** Things that are not AbortSignals. */
export const NOT_SIGNALS: Case[] = [
  ['string', 'abort'],
  ['object posing as a signal', { aborted: true, addEventListener() {} }],
  ['AbortController', new AbortController()],
  ['number', 1],
];
