/** `l2s connect`: a session to a peer, with stdin piped into it and its messages piped to stdout. */
import { constants } from 'node:os';
import { Node } from '../api/node';
import { MAX_MESSAGE_LEN } from '../api/session';
import type { Session } from '../api/session';
import { Identity, didToPublicKey } from '../identity';
import {
  CliError,
  Command,
  EXIT,
  JSON_OPTION,
  logOption,
  bindHostFor,
  failure,
  int,
  jsonLogger,
  parseAddresses,
  positionals,
  printJson,
  readIdentityFile,
  str,
} from './common';

export const connect: Command = {
  name: 'connect',
  summary: 'Open a session to a peer: stdin goes to it, its messages come out on stdout',
  usage: 'DID --address quic=HOST:PORT,tcp=HOST:PORT [--identity FILE] [--transport auto|quic|tcp] [--json]',
  description: [
    'Each chunk read from stdin is sent as one message. At the end of stdin l2s waits until the peer',
    'has acknowledged everything, then --linger ms for replies, then closes the session.',
    'With --json, stdout carries one JSON line per event; message data is base64.',
    'Without --identity a fresh identity is used for this connection.',
  ].join('\n'),
  options: {
    address: { type: 'string', short: 'a', multiple: true, arg: 'quic=HOST:PORT,tcp=HOST:PORT', help: 'where the peer listens (required)' },
    identity: { type: 'string', short: 'i', arg: 'FILE', help: 'identity file (default: a fresh identity)' },
    transport: { type: 'string', arg: 'auto|quic|tcp', help: 'auto (default): QUIC, then μTCP if QUIC cannot connect' },
    timeout: { type: 'string', arg: 'MS', help: 'handshake timeout (default 5000)' },
    linger: { type: 'string', arg: 'MS', help: 'how long to wait for replies after stdin ends (default 500)' },
    ...JSON_OPTION,
    ...logOption('error'),
  },
  async run(p) {
    const [did] = positionals(p, 'connect', 1, 1, 'the DID of the peer');
    // did:key names its own key; other methods need a resolver, which the CLI has not.
    if (!did.startsWith('did:key:')) throw new CliError(`cannot reach '${did}': l2s connect takes did:key DIDs only`, EXIT.usage);
    didToPublicKey(did);
    const addresses = parseAddresses((p.values.address as string[] | undefined) ?? []);
    const transport = str(p, 'transport', 'auto')!;
    if (!['auto', 'quic', 'tcp'].includes(transport)) throw new CliError(`--transport must be auto, quic or tcp, got '${transport}'`, EXIT.usage);
    const handshakeTimeout = int(p, 'timeout', 100, 600_000, 5000)!;
    const linger = int(p, 'linger', 0, 600_000, 500)!;
    const identityFile = str(p, 'identity');
    const identity = identityFile ? readIdentityFile(identityFile) : Identity.generate();
    const json = p.values.json === true;

    const node = await Node.listen({
      identity,
      host: bindHostFor(Object.values(addresses)),
      logger: jsonLogger(str(p, 'log-level', 'error')!),
      config: { handshakeTimeout },
    });
    try {
      let session: Session;
      try {
        session = await node.establish(did, { addresses, transport: transport as 'auto' | 'quic' | 'tcp' });
      } catch (err) {
        throw failure(`cannot connect to ${did}`, err);
      }
      const info = { sessionId: session.id, peerDid: did, transport: session.link?.transport ?? session.transport };
      if (json) printJson({ event: 'established', ...info });
      else process.stderr.write(`connected to ${did} over ${info.transport === 'tcp' ? 'μTCP' : 'QUIC'} (session ${session.id})\n`);
      return await pipe(session, json, linger);
    } finally {
      await node.close();
    }
  },
};

// Resolves with the exit code: 0 when stdin ended (or the peer closed the session), 128 + signal number
// after SIGINT/SIGTERM (the session is closed properly first), 3 when the session died.
async function pipe(session: Session, json: boolean, linger: number): Promise<number> {
  let ended: string | null = null;
  const closed = new Promise<void>((resolve) => {
    session.on('state', ({ to, reason }) => {
      if (to === 'closed' || to === 'failed') ended ??= reason;
      if (to === 'closed') resolve();
    });
  });
  session.on('message', (data) => {
    if (json) printJson({ event: 'message', data: data.toString('base64') });
    else process.stdout.write(data);
  });
  const sent = (async () => {
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length; at += MAX_MESSAGE_LEN) await session.send(chunk.subarray(at, at + MAX_MESSAGE_LEN));
    }
    while (session.pending > 0 && session.state !== 'closed') await sleep(20);
    await sleep(linger);
  })();
  // Once the session closed, a send still waiting fails too: that is not a second error.
  sent.catch(() => undefined);
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const outcome = await Promise.race([sent.then(() => 'sent' as const), closed.then(() => 'closed' as const), signalled]).catch((err) => {
    throw failure('session failed', err);
  });
  process.stdin.destroy();
  if (outcome !== 'closed') {
    await session.close();
    return outcome === 'sent' ? EXIT.ok : 128 + constants.signals[outcome];
  }
  if (json) printJson({ event: 'close', reason: ended });
  if (ended === 'closed' || ended === 'peer_closed') return EXIT.ok;
  throw new CliError(`session ${session.id} ended: ${ended}`, EXIT.network);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
