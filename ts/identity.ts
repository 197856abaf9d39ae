/** Ed25519 identities named by `did:key`. The secret seed stays in Rust memory. */
import { native } from './native';
import { guard } from './guard';
import { L2Error } from './errors';
import { bytes } from './validate';

type NativeIdentity = InstanceType<typeof native.Identity>;
const inner = new WeakMap<Identity, NativeIdentity>();

/** A long-term Ed25519 identity. */
export class Identity {
  private constructor(handle: NativeIdentity) {
    if (!(handle instanceof native.Identity)) throw new L2Error('ERR_L2_BAD_INPUT', 'an Identity comes from Identity.generate() or Identity.fromSeed()');
    inner.set(this, handle);
  }

  /** A fresh identity from the OS random source. */
  static generate(): Identity {
    return new Identity(guard(() => native.Identity.generate()));
  }

  /** The identity of a 32-byte seed (as returned by `exportSeed()`). */
  static fromSeed(seed: Uint8Array): Identity {
    return new Identity(guard(() => native.Identity.fromSeed(bytes('seed', seed))));
  }

  /** `did:key:z6Mk…`. */
  get did(): string {
    return nativeIdentity(this).did;
  }

  /** The 32-byte Ed25519 public key. */
  get publicKey(): Buffer {
    return nativeIdentity(this).publicKey;
  }

  /** The 32-byte secret seed; only call it to store the identity yourself. */
  exportSeed(): Buffer {
    return nativeIdentity(this).exportSeed();
  }

  /** Shows the DID only, never key material. */
  toJSON(): { did: string } {
    return { did: this.did };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Identity(${this.did})`;
  }
}

/** @internal The addon object behind an `Identity`. */
export function nativeIdentity(identity: Identity): NativeIdentity {
  const handle = identity instanceof Identity ? inner.get(identity) : undefined;
  if (!handle) throw new L2Error('ERR_L2_BAD_INPUT', 'expected an Identity');
  return handle;
}

/** The `did:key` of a 32-byte Ed25519 public key. */
export function didFromPublicKey(publicKey: Uint8Array): string {
  return guard(() => native.didFromPublicKey(bytes('publicKey', publicKey)));
}

/** The Ed25519 public key named by a `did:key` (other methods need a resolver). */
export function didToPublicKey(did: string): Buffer {
  if (typeof did !== 'string') throw new L2Error('ERR_L2_BAD_INPUT', `did must be a string, got ${typeof did}`);
  return guard(() => native.didToPublicKey(did));
}
