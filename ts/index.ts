/**
 * l2-session: post-quantum authenticated peer-to-peer sessions.
 * See README.md for the overview and SPEC.md for the protocol.
 */
export { L2Error, L2_ERROR_CODES } from './errors';
export type { L2ErrorCode } from './errors';
export { crypto } from './crypto';
export type { KeyPair, Encapsulation, MlKemKeyPair, Blake3Options } from './crypto';
export { Identity, didFromPublicKey, didToPublicKey } from './identity';
export { Handshake, FrameCipher, FrameType, FrameStatus } from './handshake';
export type { HandshakeOptions, FrameCipherOptions, OpenedFrame, OpenedBatch } from './handshake';
