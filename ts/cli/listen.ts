/** `l2s listen`: a node that serves sessions until SIGINT/SIGTERM. */
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import { Node } from '../api/node';
import type { Session } from '../api/session';
import { createMetrics } from '../metrics';
import { clearStaleSocket, closeServer, serveControl, serveMetrics } from './control';
import { Command, JSON_OPTION, logOption, int, jsonLogger, positionals, printJson, readIdentityFile, required, str } from './common';

export const listen: Command = {
  name: 'listen',
  summary: 'Listen on QUIC, μTCP and UDP discovery and serve sessions',
  usage: '--identity FILE [--host IP] [--quic-port N] [--tcp-port N] [--discovery-port N] [--metrics PORT] [--echo] [--json]',
  description: [
    'Prints the DID and addresses, then every message a peer sends to stdout (with --json: one JSON',
    'line per event, message data in base64). --echo also sends each message back.',
    'A control socket (FILE.sock, mode 0600) serves /status for `l2s status` and /metrics;',
    '--metrics PORT serves /metrics (Prometheus text) on http://HOST:PORT too.',
  ].join('\n'),
  options: {
    identity: { type: 'string', short: 'i', arg: 'FILE', help: 'identity file from l2s keygen (required)' },
    host: { type: 'string', arg: 'IP', help: 'address to bind (default 127.0.0.1)' },
    'quic-port': { type: 'string', arg: 'N', help: 'QUIC port (default: any free one)' },
    'tcp-port': { type: 'string', arg: 'N', help: 'μTCP port (default: any free one)' },
    'discovery-port': { type: 'string', arg: 'N', help: 'UDP discovery port (default: any free one)' },
    metrics: { type: 'string', arg: 'PORT', help: 'serve Prometheus metrics on http://METRICS-HOST:PORT/metrics (0: any free port)' },
    'metrics-host': { type: 'string', arg: 'IP', help: 'address of the metrics server (default 127.0.0.1)' },
    control: { type: 'string', arg: 'PATH', help: 'control socket path (default FILE.sock)' },
    echo: { type: 'boolean', help: 'send every message back to its sender' },
    ...JSON_OPTION,
    ...logOption('info'),
  },
  async run(p) {
    positionals(p, 'listen', 0, 0, 'no arguments');
    const identityFile = required(p, 'listen', 'identity');
    const identity = readIdentityFile(identityFile);
    const json = p.values.json === true;
    const echo = p.values.echo === true;
    const logger = jsonLogger(str(p, 'log-level', 'info')!);
    const metricsPort = int(p, 'metrics', 0, 65535);
    const controlPath = str(p, 'control', `${identityFile}.sock`)!;
    await clearStaleSocket(controlPath);
    const node = await Node.listen({
      identity,
      host: str(p, 'host', '127.0.0.1'),
      quicPort: int(p, 'quic-port', 0, 65535),
      tcpPort: int(p, 'tcp-port', 0, 65535),
      discoveryPort: int(p, 'discovery-port', 0, 65535),
      logger,
    });
    const metrics = createMetrics(node);
    const servers: Server[] = [];
    let metricsUrl: string | undefined;
    try {
      servers.push(await serveControl(node, metrics, controlPath));
      if (metricsPort !== undefined) {
        const host = str(p, 'metrics-host', '127.0.0.1')!;
        const server = await serveMetrics(node, metrics, host, metricsPort);
        servers.push(server);
        const port = (server.address() as { port: number }).port;
        metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
      }
    } catch (err) {
      await Promise.all(servers.map(closeServer));
      await node.close();
      throw err;
    }

    const info = { did: node.did, addresses: node.addresses, control: controlPath, metrics: metricsUrl };
    if (json) printJson({ event: 'listening', ...info });
    else {
      const rows: [string, string | undefined][] = [
        ['did', info.did],
        ['quic', info.addresses.quic],
        ['tcp', info.addresses.tcp],
        ['discovery', info.addresses.discovery],
        ['control', info.control],
        ['metrics', info.metrics],
      ];
      process.stdout.write(rows.filter(([, v]) => v).map(([k, v]) => `${k.padEnd(10)}${v}`).join('\n') + '\n');
    }

    node.on('session', (session: Session) => serve(session, json, echo));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await Promise.all(servers.map(closeServer));
    await node.close();
    fs.rmSync(controlPath, { force: true });
    return 0;
  },
};

// Messages go to stdout (raw, or as JSON lines); lifecycle lines go to the log on stderr.
function serve(session: Session, json: boolean, echo: boolean): void {
  const ids = { sessionId: session.id, peerDid: session.peerDid };
  if (json) printJson({ event: 'session', ...ids, transport: session.transport });
  session.on('message', (data) => {
    if (json) printJson({ event: 'message', ...ids, data: data.toString('base64') });
    else process.stdout.write(data);
    // A failed echo means the session is ending; the log already says why.
    if (echo) session.send(data).catch(() => undefined);
  });
  session.on('close', () => {
    if (json) printJson({ event: 'close', ...ids });
  });
}
