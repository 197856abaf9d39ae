/** `l2s discover`: signed UDP discovery probes to the given addresses. */
import { Identity } from '../identity';
import { TransportNode } from '../transport';
import type { DiscoveryAnswer } from '../transport';
import { CliError, Command, EXIT, JSON_OPTION, bindHostFor, checkHostPort, int, positionals, printJson, table } from './common';
import { toL2Error } from '../errors';

export const discover: Command = {
  name: 'discover',
  summary: 'Ask discovery ports who is there: DID, transports, and the address they saw us from',
  usage: 'HOST:PORT... [--timeout MS] [--json]',
  description: 'Answers are signed; "verified" means the did:key names the key that signed. Exits 3 when nobody answered.',
  options: {
    timeout: { type: 'string', arg: 'MS', help: 'how long to wait for each answer (default 2000)' },
    ...JSON_OPTION,
  },
  async run(p) {
    const targets = positionals(p, 'discover', 1, Infinity, 'at least one discovery address (HOST:PORT)').map((t) => checkHostPort(t, 'address'));
    const timeout = int(p, 'timeout', 1, 600_000, 2000)!;
    const node = await TransportNode.listen(Identity.generate(), { host: bindHostFor(targets) });
    let results: { address: string; answer?: DiscoveryAnswer; error?: string }[];
    try {
      results = await Promise.all(
        targets.map((address) =>
          node.discover(address, timeout).then(
            (answer) => ({ address, answer }),
            (err) => ({ address, error: toL2Error(err).message }),
          ),
        ),
      );
    } finally {
      await node.close();
    }
    if (p.values.json) {
      printJson(results.map(({ address, answer, error }) => (answer ? { address, ...answer, publicKey: answer.publicKey.toString('hex') } : { address, error })));
    } else {
      const rows = results.map(({ address, answer, error }) =>
        answer ? [address, answer.did, answer.quic ?? '-', answer.tcp ?? '-', answer.observed, answer.didVerified ? 'yes' : 'no'] : [address, `no answer (${error})`, '', '', '', ''],
      );
      process.stdout.write(table(['ADDRESS', 'DID', 'QUIC', 'TCP', 'OBSERVED', 'VERIFIED'], rows));
    }
    if (!results.some((r) => r.answer)) throw new CliError(`no answer from ${targets.join(', ')}`, EXIT.network);
    return 0;
  },
};
