/** `l2s status`: the session table of a running `l2s listen`, from its control socket. */
import { Command, EXIT, CliError, JSON_OPTION, int, positionals, printJson, str, table } from './common';
import { fetchStatus } from './control';

export const status: Command = {
  name: 'status',
  summary: 'Show the sessions of a running l2s listen: peer, state, transport, key epoch, RTT, bytes',
  usage: '--identity FILE | --control PATH [--json]',
  description: 'Reads /status from the listener\'s control socket (FILE.sock next to its identity file).',
  options: {
    identity: { type: 'string', short: 'i', arg: 'FILE', help: 'the identity file the listener runs with' },
    control: { type: 'string', arg: 'PATH', help: 'the listener\'s control socket (default FILE.sock)' },
    timeout: { type: 'string', arg: 'MS', help: 'how long to wait for the answer (default 5000)' },
    ...JSON_OPTION,
  },
  async run(p) {
    positionals(p, 'status', 0, 0, 'no arguments');
    const identity = str(p, 'identity');
    const socketPath = str(p, 'control') ?? (identity ? `${identity}.sock` : undefined);
    if (!socketPath) throw new CliError('status needs --identity FILE or --control PATH (see l2s status --help)', EXIT.usage);
    const doc = await fetchStatus(socketPath, int(p, 'timeout', 1, 600_000, 5000)!);
    if (p.values.json) {
      printJson(doc);
      return 0;
    }
    const rows = doc.sessions.map((s) => [
      s.id,
      s.peerDid,
      s.role === 'initiator' ? 'out' : 'in',
      s.state,
      s.transport === 'tcp' ? 'μtcp' : s.transport,
      String(s.keyEpoch),
      s.rttMs === null ? '-' : `${s.rttMs.toFixed(1)} ms`,
      String(s.bytesIn),
      String(s.bytesOut),
    ]);
    process.stdout.write(`${doc.did}  ${doc.sessions.length} session${doc.sessions.length === 1 ? '' : 's'}\n`);
    process.stdout.write(table(['SESSION', 'PEER', 'DIR', 'STATE', 'TRANSPORT', 'EPOCH', 'RTT', 'BYTES IN', 'BYTES OUT'], rows));
    return 0;
  },
};
