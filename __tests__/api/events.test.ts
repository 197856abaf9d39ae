/**
 * Typed events. ts-jest type-checks this file: each `@ts-expect-error` that stops being an error fails
 * the run. At run time, every event a Node or Session emits during a real lifecycle is in its typed map.
 */
import * as net from 'node:net';
import { L2Error, Node, Session } from '../../ts';
import type { AuditRecord, NodeEvents, SessionEvents, SessionWarning, StateChange } from '../../ts';
import { closeNodes, listen, nextSession, until } from './helpers';

jest.setTimeout(60_000);
afterEach(() => jest.restoreAllMocks());
afterEach(closeNodes);

// The event names, checked both ways against the typed maps: a missing or an extra name is a type error.
const SESSION_EVENTS: Record<keyof SessionEvents, true> = { state: true, message: true, warning: true, error: true, unacknowledged: true, close: true };
const NODE_EVENTS: Record<keyof NodeEvents, true> = { session: true, warning: true, transition: true, quarantine: true, refused: true };

test('listeners are typed by event: wrong names and wrong signatures do not compile', async () => {
  const alice = await listen();
  const bob = await listen();
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  await inbound;
  // Right ones compile, with the argument types of the map.
  s.on('state', (change: StateChange) => void change.to);
  s.on('message', (data: Buffer) => void data.length);
  s.on('warning', (w: SessionWarning) => void w.code);
  s.on('error', (e: L2Error) => void e.code);
  s.on('unacknowledged', (messages: Buffer[]) => void messages.length);
  s.once('close', () => undefined);
  alice.on('session', (x: Session) => void x.id);
  alice.on('warning', (e: L2Error) => void e.code);
  alice.on('transition', (r: AuditRecord, x: Session) => void [r.to, x.id]);
  // @ts-expect-error no such session event
  s.on('closed', () => undefined);
  // @ts-expect-error a message is a Buffer, not a string
  s.on('message', (data: string) => void data.toUpperCase());
  // @ts-expect-error state changes carry one StateChange
  s.on('state', (from: string, to: string) => void [from, to]);
  // @ts-expect-error the node's event is 'session', not 'connection'
  alice.on('connection', () => undefined);
  // @ts-expect-error a node's 'session' listener gets a Session
  alice.on('session', (x: string) => void x.length);
  // @ts-expect-error emitting needs the right arguments
  s.emit('message', 'not a buffer');
  // (At run time the calls above did subscribe; only the compiler refuses them.)
  expect(s.listenerCount('message')).toBe(2);
});

test('every event emitted in a real lifecycle is in the typed maps', async () => {
  const seen = { session: new Set<string>(), node: new Set<string>() };
  // Wrap emit on the prototypes: every instance of each class reports here.
  for (const [cls, into] of [[Session, seen.session], [Node, seen.node]] as const) {
    const emit = cls.prototype.emit;
    jest.spyOn(cls.prototype, 'emit').mockImplementation(function (this: unknown, event: string | symbol, ...args: unknown[]) {
      into.add(String(event));
      return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
    } as never);
  }
  const alice = await listen();
  const bob = await listen();
  const inbound = nextSession(bob);
  const s = await alice.establish(bob.did, { addresses: bob.addresses });
  const peer = await inbound;
  const got = new Promise<Buffer>((r) => peer.once('message', r));
  await s.send(Buffer.from('hello'));
  expect(String(await got)).toBe('hello');
  await s.rotate();
  // Garbage on bob's μTCP port: a refused inbound connection.
  const junk = net.connect(Number(bob.addresses.tcp!.split(':')[1]), '127.0.0.1');
  junk.on('error', () => undefined);
  junk.write(Buffer.concat([Buffer.from('L2S\x01'), Buffer.from([0, 0, 0, 8]), Buffer.alloc(8, 0xff)]));
  await new Promise((r) => bob.once('warning', r));
  junk.destroy();
  // Messages the peer never acknowledged come back at close.
  s.on('unacknowledged', () => undefined);
  await s.send(Buffer.from('last'));
  await s.close();
  await until(() => peer.state === 'closed');
  for (const name of seen.session) expect(Object.keys(SESSION_EVENTS)).toContain(name);
  for (const name of seen.node) expect(Object.keys(NODE_EVENTS)).toContain(name);
  // The lifecycle did emit most of them.
  expect([...seen.session].sort()).toEqual(expect.arrayContaining(['close', 'message', 'state']));
  expect([...seen.node].sort()).toEqual(expect.arrayContaining(['session', 'warning', 'transition']));
});
