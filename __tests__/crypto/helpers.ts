/** Shared helpers of the crypto suites. */
import { crypto, FrameCipher, FrameCipherOptions, Handshake, Identity, L2Error } from '../../ts';

/** The `L2Error` code `call` throws, or 'no error'; anything else thrown fails the test. */
export function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    expect(e).toBeInstanceOf(L2Error);
    return (e as L2Error).code;
  }
  return 'no error';
}

/** A completed handshake between two fresh identities. */
export function completedHandshake(): { i: Handshake; r: Handshake } {
  const i = crypto.Handshake.initiator(Identity.generate());
  const r = crypto.Handshake.responder(Identity.generate());
  r.handle(i.handle(r.handle(i.start())!)!);
  return { i, r };
}

/** Initiator and responder frame ciphers of a fresh session. */
export function cipherPair(options?: FrameCipherOptions): [FrameCipher, FrameCipher] {
  const { i, r } = completedHandshake();
  return [i.frameCipher(options), r.frameCipher(options)];
}
