/**
 * The one error class of l2-session. `code` is stable and safe to switch on;
 * `message` is for humans and never contains key material.
 */
export type L2ErrorCode =
  | 'ERR_L2_BAD_INPUT'
  | 'ERR_L2_AUTH_FAILED'
  | 'ERR_L2_TIMEOUT'
  | 'ERR_L2_TRANSPORT'
  | 'ERR_L2_ROTATION'
  | 'ERR_L2_INVALID_STATE'
  | 'ERR_L2_REPLAY'
  | 'ERR_L2_LIMIT'
  | 'ERR_L2_UNSUPPORTED'
  | 'ERR_L2_QUARANTINED'
  | 'ERR_L2_CLOSED'
  | 'ERR_L2_ABORTED'
  | 'ERR_L2_INTERNAL';

export const L2_ERROR_CODES: readonly L2ErrorCode[] = Object.freeze([
  'ERR_L2_BAD_INPUT',
  'ERR_L2_AUTH_FAILED',
  'ERR_L2_TIMEOUT',
  'ERR_L2_TRANSPORT',
  'ERR_L2_ROTATION',
  'ERR_L2_INVALID_STATE',
  'ERR_L2_REPLAY',
  'ERR_L2_LIMIT',
  'ERR_L2_UNSUPPORTED',
  'ERR_L2_QUARANTINED',
  'ERR_L2_CLOSED',
  'ERR_L2_ABORTED',
  'ERR_L2_INTERNAL',
]);

const KNOWN = new Set<string>(L2_ERROR_CODES);

export class L2Error extends Error {
  readonly code: L2ErrorCode;

  constructor(code: L2ErrorCode, message: string, options?: { cause?: unknown }) {
    // A code outside the list would break every `switch (err.code)` downstream.
    if (!KNOWN.has(code) || typeof message !== 'string') {
      throw new L2Error('ERR_L2_BAD_INPUT', `L2Error needs a code from L2_ERROR_CODES and a message string, got ${typeof code === 'string' ? code : typeof code}`);
    }
    super(message, options);
    this.name = 'L2Error';
    this.code = code;
  }
}


/** Converts anything thrown by the native addon into an `L2Error` (native errors carry the code). */
export function toL2Error(err: unknown): L2Error {
  if (err instanceof L2Error) return err;
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.code === 'string' && KNOWN.has(e.code)) return new L2Error(e.code as L2ErrorCode, message);
  // Async native calls carry the code as a message prefix ("ERR_L2_TIMEOUT: …").
  const prefixed = /^(ERR_L2_[A-Z_]+): ([\s\S]*)$/.exec(message);
  if (prefixed && KNOWN.has(prefixed[1])) return new L2Error(prefixed[1] as L2ErrorCode, prefixed[2]);
  // Argument conversion failures raised by napi-rs itself (wrong JS type) are the caller's bad input.
  if (e?.code === 'InvalidArg' || e?.code === 'NumberExpected' || e?.code === 'StringExpected' || e?.code === 'ObjectExpected') {
    return new L2Error('ERR_L2_BAD_INPUT', message);
  }
  return new L2Error('ERR_L2_INTERNAL', message, { cause: err });
}
