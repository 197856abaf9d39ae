/** `l2s keygen`: a new Ed25519 identity in a file only its owner can read. */
import { Identity } from '../identity';
import { Command, JSON_OPTION, positionals, printJson, str, writeIdentityFile } from './common';

export const keygen: Command = {
  name: 'keygen',
  summary: 'Create an identity (Ed25519 seed and its did:key) in a file with mode 0600',
  usage: '[--out FILE] [--force] [--json]',
  description: 'The file holds the secret seed: keep it private. Existing files are never replaced without --force.',
  options: {
    out: { type: 'string', short: 'o', arg: 'FILE', help: 'where to write the identity (default l2s-identity.json)' },
    force: { type: 'boolean', help: 'replace an existing file' },
    ...JSON_OPTION,
  },
  async run(p) {
    positionals(p, 'keygen', 0, 0, 'no arguments');
    const file = str(p, 'out', 'l2s-identity.json')!;
    const identity = Identity.generate();
    writeIdentityFile(file, identity, p.values.force === true);
    if (p.values.json) printJson({ did: identity.did, file });
    else process.stdout.write(`${identity.did}\nwritten to ${file} (mode 0600)\n`);
    return 0;
  },
};
