/**
 * The HTTP endpoints of `l2s listen`: `/status` (JSON session table) and `/metrics` (Prometheus
 * text), served on a unix socket next to the identity file (mode 0600, for `l2s status`) and, with
 * `--metrics PORT`, on TCP for Prometheus.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { Node } from '../api/node';
import type { TransportAddresses } from '../transport';
import type { NodeMetrics } from '../metrics';
import { CliError, EXIT } from './common';

/** One row of `/status`. */
export interface SessionStatus {
  id: string;
  peerDid: string;
  role: 'initiator' | 'responder';
  state: string;
  transport: string;
  keyEpoch: number;
  rttMs: number | null;
  bytesIn: number;
  bytesOut: number;
  /** Messages sent and not yet acknowledged. */
  pending: number;
}

/** The `/status` document. */
export interface NodeStatus {
  did: string;
  addresses: TransportAddresses;
  sessions: SessionStatus[];
}

export function statusOf(node: Node): NodeStatus {
  return {
    did: node.did,
    addresses: node.addresses,
    sessions: node.sessions.map((s) => {
      const stats = s.stats();
      return {
        id: s.id,
        peerDid: s.peerDid,
        role: s.initiator ? 'initiator' : 'responder',
        state: s.state,
        transport: stats.transport ?? s.transport,
        keyEpoch: s.keyEpoch,
        rttMs: stats.rttMs ?? null,
        bytesIn: stats.bytesReceived,
        bytesOut: stats.bytesSent,
        pending: s.pending,
      };
    }),
  };
}

function handler(node: Node, metrics: NodeMetrics): http.RequestListener {
  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
    } else if (url === '/metrics') {
      metrics.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (err) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`),
      );
    } else if (url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(statusOf(node))}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /status\n');
    }
  };
}

/** Serves `/status` and `/metrics` on the unix socket `socketPath`, readable by this user only. */
export async function serveControl(node: Node, metrics: NodeMetrics, socketPath: string): Promise<http.Server> {
  const server = http.createServer(handler(node, metrics));
  // The socket is created under a umask that leaves it to its owner, so no other user can query it.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    throw new CliError(`cannot create the control socket ${socketPath}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  } finally {
    process.umask(umask);
  }
  return server;
}

/**
 * Makes `socketPath` free for a new listener (before it binds anything): a socket file left by a
 * process that died is removed; one that answers belongs to a running listener and is an error.
 */
export async function clearStaleSocket(socketPath: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new CliError(`${socketPath} exists and is not a socket; remove it or pass --control PATH`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath);
    c.once('connect', () => (c.destroy(), resolve(true)));
    c.once('error', () => resolve(false));
  });
  if (alive) throw new CliError(`another l2s listen is running with the control socket ${socketPath}`);
  fs.unlinkSync(socketPath);
}

/** Serves `/metrics` (and `/status`) over TCP on `host:port` (port 0: any free port). */
export async function serveMetrics(node: Node, metrics: NodeMetrics, host: string, port: number): Promise<http.Server> {
  const server = http.createServer(handler(node, metrics));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new CliError(`cannot serve metrics on ${host}:${port}: ${err.code ?? String(err)}`)));
    server.listen(port, host, resolve);
  });
  return server;
}

/** GETs `/status` from a listener's control socket. */
export function fetchStatus(socketPath: string, timeoutMs: number): Promise<NodeStatus> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path: '/status', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
          resolve(JSON.parse(body) as NodeStatus);
        } catch (err) {
          reject(new CliError(`bad answer from ${socketPath}: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message;
      const why = code === 'ENOENT' || code === 'ECONNREFUSED' ? 'no l2s listen is running there' : code;
      reject(new CliError(`cannot reach the control socket ${socketPath}: ${why}`, EXIT.network));
    });
  });
}

/** Closes an HTTP server, dropping idle keep-alive connections. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
