/** Shared set-up of the API suites: real nodes on 127.0.0.1, closed after each test. */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { Identity, L2Error, Node, Session } from '../../ts';
import type { NodeOptions } from '../../ts';

const nodes: Node[] = [];

/** Closes every node a test listened on (call from `afterEach`). */
export async function closeNodes(): Promise<void> {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
}

/** A node on loopback with a fresh identity. */
export async function listen(options: Partial<NodeOptions> = {}): Promise<Node> {
  const node = await Node.listen({ identity: Identity.generate(), ...options });
  nodes.push(node);
  return node;
}

/** The next session `node` accepts. */
export function nextSession(node: Node): Promise<Session> {
  return new Promise((resolve) => node.once('session', resolve));
}

/** Two nodes and an established session between them: `a` dialed, `b` answered. */
export async function pair(options: Partial<NodeOptions> = {}, transport: 'quic' | 'tcp' = 'quic'): Promise<{ alice: Node; bob: Node; a: Session; b: Session }> {
  const alice = await listen(options);
  const bob = await listen(options);
  const inbound = nextSession(bob);
  const a = await alice.establish(bob.did, { addresses: bob.addresses, transport });
  return { alice, bob, a, b: await inbound };
}

/** Polls `condition` every 20 ms until it holds (the test's own timeout bounds the wait). */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 20));
}

/** The `code` of the L2Error `promise` rejects with (fails the test if it resolves or throws something else). */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(L2Error);
    return (e as { code: string }).code;
  }
  throw new Error('expected a rejection');
}

/** A UDP relay in front of a QUIC port; `dropping` makes it a black hole (a peer that vanished). */
export async function udpRelay(target: string): Promise<{ address: string; dropping: boolean; close(): void }> {
  const [host, port] = [target.split(':')[0], Number(target.split(':')[1])];
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let client: { address: string; port: number } | undefined;
  const relay = {
    address: '',
    dropping: false,
    close: () => {
      front.close();
      back.close();
    },
  };
  front.on('message', (msg, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    if (!relay.dropping) back.send(msg, port, host);
  });
  back.on('message', (msg) => {
    if (client && !relay.dropping) front.send(msg, client.port, client.address);
  });
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  await new Promise<void>((r) => back.bind(0, '127.0.0.1', r));
  relay.address = `127.0.0.1:${front.address().port}`;
  return relay;
}

/** A TCP server on loopback that accepts and never answers: a handshake to it waits forever. */
export async function silentTcp(): Promise<{ address: string; connected: Promise<net.Socket>; close(): void }> {
  const server = net.createServer();
  const sockets: net.Socket[] = [];
  const connected = new Promise<net.Socket>((resolve) =>
    server.on('connection', (socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      // Resolve once the dialer's first handshake message arrived (more than the 4-byte preamble).
      let got = 0;
      socket.on('data', (d) => {
        got += d.length;
        if (got > 4) resolve(socket);
      });
    }),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    connected,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
