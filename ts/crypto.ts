/**
 * Low-level cryptography for benchmark suites and relays: every primitive of the protocol,
 * byte-for-byte, with deterministic entry points for known-answer tests. All inputs are
 * `Uint8Array`/`Buffer`; wrong types or sizes throw `L2Error('ERR_L2_BAD_INPUT')`, failed
 * authentication throws `L2Error('ERR_L2_AUTH_FAILED')`.
 */
import { native } from './native';
import { guard } from './guard';
import { bytes as b, optionalBytes as ob, options, optionalInt, optionalString } from './validate';
import { FrameCipher, Handshake } from './handshake';

/** A public/secret key pair. */
export interface KeyPair {
  publicKey: Buffer;
  secretKey: Buffer;
}

/** A KEM ciphertext and its shared secret. */
export interface Encapsulation {
  ciphertext: Buffer;
  sharedSecret: Buffer;
}

/** An ML-KEM-768 key pair. */
export interface MlKemKeyPair {
  /** 1184 bytes. */
  encapsulationKey: Buffer;
  /** 2400 bytes (FIPS 203 expanded form). */
  decapsulationKey: Buffer;
}

/** Options of `blake3`: keyed (32-byte `key`) or derive-key (`context`) mode, output `length`. */
export interface Blake3Options {
  length?: number;
  key?: Uint8Array;
  context?: string;
}

/** ML-KEM-768 (FIPS 203). */
export const mlkem768 = {
  /** Key pair from the 64-byte seed d‖z, or fresh. */
  keygen: (seed?: Uint8Array): MlKemKeyPair => guard(() => native.mlkem768Keygen(ob('seed', seed))),
  /** Encapsulation with explicit 32-byte randomness `m`, or fresh. */
  encapsulate: (encapsulationKey: Uint8Array, m?: Uint8Array): Encapsulation =>
    guard(() => native.mlkem768Encapsulate(b('encapsulationKey', encapsulationKey), ob('m', m))),
  /** Decapsulation (implicit rejection: a wrong ciphertext yields an unrelated secret). */
  decapsulate: (ciphertext: Uint8Array, decapsulationKey: Uint8Array): Buffer =>
    guard(() => native.mlkem768Decapsulate(b('ciphertext', ciphertext), b('decapsulationKey', decapsulationKey))),
};

/** X25519 (RFC 7748). */
export const x25519 = {
  /** Key pair from a 32-byte secret, or fresh. */
  keygen: (seed?: Uint8Array): KeyPair => guard(() => native.x25519Keygen(ob('seed', seed))),
  /** The 32-byte shared secret; an all-zero result (low-order key) throws. */
  sharedSecret: (secretKey: Uint8Array, publicKey: Uint8Array): Buffer =>
    guard(() => native.x25519SharedSecret(b('secretKey', secretKey), b('publicKey', publicKey))),
};

/** Ed25519 (RFC 8032), strict verification. */
export const ed25519 = {
  /** Key pair; `secretKey` is the 32-byte seed. */
  keygen: (seed?: Uint8Array): KeyPair => guard(() => native.ed25519Keygen(ob('seed', seed))),
  /** 64-byte signature. */
  sign: (secretKey: Uint8Array, message: Uint8Array): Buffer => guard(() => native.ed25519Sign(b('secretKey', secretKey), b('message', message))),
  /** True only for a valid signature. */
  verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean =>
    guard(() => native.ed25519Verify(b('publicKey', publicKey), b('message', message), b('signature', signature))),
};

/** ChaCha20-Poly1305 (RFC 8439). */
export const aead = {
  /** ciphertext‖tag. */
  seal: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer =>
    guard(() => native.aeadSeal(b('key', key), b('nonce', nonce), b('plaintext', plaintext), ob('aad', aad))),
  /** The plaintext, or `ERR_L2_AUTH_FAILED`. */
  open: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad?: Uint8Array): Buffer =>
    guard(() => native.aeadOpen(b('key', key), b('nonce', nonce), b('sealed', sealed), ob('aad', aad))),
};

/** The hybrid KEM: X-Wing (X25519 + ML-KEM-768), byte for byte as draft-connolly-cfrg-xwing-kem. */
export const hybrid = {
  /** Public key (1216 B) and secret key (the 32-byte seed). */
  keygen: (seed?: Uint8Array): KeyPair => guard(() => native.xwingKeygen(ob('seed', seed))),
  /** Ciphertext (1120 B) and shared secret, with an explicit 64-byte `eseed` or fresh. */
  encapsulate: (publicKey: Uint8Array, eseed?: Uint8Array): Encapsulation =>
    guard(() => native.xwingEncapsulate(b('publicKey', publicKey), ob('eseed', eseed))),
  /** The shared secret. */
  decapsulate: (ciphertext: Uint8Array, secretKey: Uint8Array): Buffer =>
    guard(() => native.xwingDecapsulate(b('ciphertext', ciphertext), b('secretKey', secretKey))),
};

/** BLAKE3 hash, keyed hash or key derivation. */
export function blake3(data: Uint8Array, opts?: Blake3Options): Buffer {
  const o = options<Blake3Options>('blake3 options', opts, ['length', 'key', 'context']);
  const checked = o && {
    length: optionalInt('length', o.length, 1, 1 << 20),
    key: ob('key', o.key),
    context: optionalString('context', o.context),
  };
  return guard(() => native.blake3Hash(b('data', data), checked));
}

/** The `crypto` namespace of the package. */
export const crypto = {
  mlkem768,
  x25519,
  ed25519,
  aead,
  hybrid,
  /** BLAKE3 hash, keyed hash or key derivation. */
  blake3,
  Handshake,
  FrameCipher,
};
