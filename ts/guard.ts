import { toL2Error } from './errors';

/** Runs a native call and rethrows whatever it throws as an `L2Error`. */
export function guard<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw toL2Error(err);
  }
}
