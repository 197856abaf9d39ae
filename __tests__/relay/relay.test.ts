/**
 * examples/relay: peers talk end to end through a relay that forwards their sealed frames without
 * their keys. The relay sees no plaintext, and whatever it does to the frames — flip a bit,
 * replay, reorder, drop, answer the handshake itself, lie about the sender — the receiver detects.
 * The example uses the package by name (`require('l2-session')`), so this suite loads it that way.
 */
import { EventEmitter } from 'node:events';

import type { Node as NodeT, Identity as IdentityT, L2Error as L2ErrorT } from '../../ts';

type L2 = typeof import('../../ts');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const l2: L2 = require('l2-session');
const { Node, Identity, L2Error, crypto } = l2;

interface Packet {
  kind: number;
  from: string;
  to: string;
  payload: Buffer;
}
interface Channel extends EventEmitter {
  readonly peerDid: string;
  readonly maxMessageLength: number;
  readonly error: L2ErrorT | null;
  send(data: Uint8Array): Promise<void>;
  receive(): Promise<Buffer>;
  close(): Promise<void>;
}
interface Client extends EventEmitter {
  open(peerDid: string, opts?: { timeout?: number }): Promise<Channel>;
  close(): Promise<void>;
}
interface RelayExample {
  Relay: new (node: NodeT, opts?: { forward?: (p: Packet) => Packet[] }) => EventEmitter & { did: string };
  RelayClient: { connect(node: NodeT, identity: IdentityT, relayDid: string, opts: object): Promise<Client> };
  Kind: Record<'Hello1' | 'Hello2' | 'Hello3' | 'Frame' | 'Unreachable', number>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Relay, RelayClient, Kind }: RelayExample = require('../../examples/relay/relay.js');

jest.setTimeout(60_000);

const nodes: NodeT[] = [];
afterEach(async () => {
  // Peers first, the relay last: one at a time, so no session sees both its ends close at once.
  for (const n of nodes.splice(0).reverse()) await n.close();
});

async function listen(identity = Identity.generate()) {
  const node = await Node.listen({ identity });
  nodes.push(node);
  return node;
}

/** Relay R and peers alice and bob, each with a hop session to R. `view`: every message R's sessions gave it. */
async function network(forward?: (p: Packet) => Packet[]) {
  const relayNode = await listen();
  const relay = new Relay(relayNode, forward ? { forward } : undefined);
  const view: Buffer[] = [];
  relayNode.on('session', (s) => s.on('message', (m) => view.push(Buffer.from(m))));
  const aId = Identity.generate();
  const bId = Identity.generate();
  const alice = await RelayClient.connect(await listen(aId), aId, relay.did, { addresses: relayNode.addresses });
  const bob = await RelayClient.connect(await listen(bId), bId, relay.did, { addresses: relayNode.addresses });
  return { relay, relayNode, view, alice, bob, aId, bId };
}

/** Opens alice → bob through the relay; resolves with both ends. */
async function channel(net: Awaited<ReturnType<typeof network>>) {
  const bobSide = new Promise<Channel>((resolve) => net.bob.once('channel', resolve));
  const a = await net.alice.open(net.bId.did);
  return { a, b: await bobSide };
}

/** A forward hook that lets `edit` rewrite the stream of end-to-end frames (index = nth frame). */
function onFrames(edit: (p: Packet, n: number) => Packet[]) {
  let n = 0;
  return (p: Packet) => (p.kind === Kind.Frame ? edit(p, n++) : [p]);
}

const msg = (n: number) => Buffer.from(`secret message number ${n} from alice`);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    expect(e).toBeInstanceOf(L2Error);
    return (e as L2ErrorT).code;
  }
}

test('messages arrive end to end through the relay, in order, in both directions', async () => {
  const net = await network();
  const { a, b } = await channel(net);
  expect(b.peerDid).toBe(net.aId.did);
  expect(a.peerDid).toBe(net.bId.did);
  const sent = Array.from({ length: 40 }, (_, n) => Buffer.concat([msg(n), Buffer.alloc(n * 97, n)]));
  await Promise.all(sent.map((m) => a.send(m)));
  for (const m of sent) expect((await b.receive()).equals(m)).toBe(true);
  await b.send(Buffer.from('and back'));
  expect((await a.receive()).toString()).toBe('and back');
  const ended = new Promise((resolve) => b.once('end', resolve));
  await a.close();
  await ended;
  expect(await codeOf(b.receive())).toBe('ERR_L2_CLOSED');
});

test("the relay's view holds no plaintext: only handshake messages and sealed frames", async () => {
  const net = await network();
  const forwarded: Packet[] = [];
  net.relay.on('packet', (p: Packet) => forwarded.push(p));
  const { a, b } = await channel(net);
  const same = Buffer.from('the same plaintext twice');
  const sent = [msg(1), msg(2), same, same];
  for (const m of sent) await a.send(m);
  for (const m of sent) expect((await b.receive()).equals(m)).toBe(true);
  await b.send(Buffer.from('reply from bob'));
  await a.receive();

  const secrets = [...sent, Buffer.from('reply from bob'), Buffer.from('secret message'), Buffer.from('same plaintext')];
  expect(net.view.length).toBeGreaterThanOrEqual(3 + sent.length + 1);
  for (const bytes of net.view) for (const s of secrets) expect(bytes.includes(s)).toBe(false);
  const frames = forwarded.filter((p) => p.kind === Kind.Frame);
  expect(frames).toHaveLength(sent.length + 1);
  // Equal plaintexts leave as different ciphertexts (fresh nonce per frame).
  expect(frames[2].payload.equals(frames[3].payload)).toBe(false);
  expect(forwarded.map((p) => p.kind).slice(0, 3)).toEqual([Kind.Hello1, Kind.Hello2, Kind.Hello3]);
});

test('a bit flipped by the relay fails the channel at bob with ERR_L2_AUTH_FAILED', async () => {
  const net = await network(
    onFrames((p, n) => {
      if (n !== 1) return [p];
      const payload = Buffer.from(p.payload);
      payload[payload.length - 20] ^= 0x01;
      return [{ ...p, payload }];
    }),
  );
  const { a, b } = await channel(net);
  const errors: L2ErrorT[] = [];
  b.on('error', (e: L2ErrorT) => errors.push(e));
  for (let n = 0; n < 3; n++) await a.send(msg(n));
  expect((await b.receive()).equals(msg(0))).toBe(true);
  expect(await codeOf(b.receive())).toBe('ERR_L2_AUTH_FAILED');
  expect(errors.map((e) => e.code)).toEqual(['ERR_L2_AUTH_FAILED']);
  // The channel stays failed: the intact frame after the forged one is not delivered.
  expect(await codeOf(b.receive())).toBe('ERR_L2_AUTH_FAILED');
  expect(b.error?.code).toBe('ERR_L2_AUTH_FAILED');
});

test('a frame replayed by the relay is rejected with ERR_L2_REPLAY', async () => {
  const net = await network(onFrames((p, n) => (n === 0 ? [p, { ...p, payload: Buffer.from(p.payload) }] : [p])));
  const { a, b } = await channel(net);
  await a.send(msg(0));
  await a.send(msg(1));
  expect((await b.receive()).equals(msg(0))).toBe(true);
  expect(await codeOf(b.receive())).toBe('ERR_L2_REPLAY');
});

test('frames reordered by the relay are detected (ERR_L2_AUTH_FAILED) and not delivered', async () => {
  let held: Packet | undefined;
  const net = await network(
    onFrames((p, n) => {
      if (n === 0) {
        held = p;
        return [];
      }
      return n === 1 ? [p, held!] : [p];
    }),
  );
  const { a, b } = await channel(net);
  await a.send(msg(0));
  await a.send(msg(1));
  const delivered: Buffer[] = [];
  b.on('message', (m: Buffer) => delivered.push(m));
  const err = await b.receive().catch((e: L2ErrorT) => e);
  expect(err).toBeInstanceOf(L2Error);
  expect((err as L2ErrorT).code).toBe('ERR_L2_AUTH_FAILED');
  expect((err as Error).message).toMatch(/dropped or reordered/);
  expect(delivered).toEqual([]);
});

test('a frame dropped by the relay is detected when the next one arrives', async () => {
  const net = await network(onFrames((p, n) => (n === 1 ? [] : [p])));
  const { a, b } = await channel(net);
  for (let n = 0; n < 3; n++) await a.send(msg(n));
  expect((await b.receive()).equals(msg(0))).toBe(true);
  expect(await codeOf(b.receive())).toBe('ERR_L2_AUTH_FAILED');
});

test('a dropped last message is detected by the sealed close frame', async () => {
  const net = await network(onFrames((p, n) => (n === 1 ? [] : [p])));
  const { a, b } = await channel(net);
  let ended = false;
  b.on('end', () => (ended = true));
  await a.send(msg(0));
  await a.send(msg(1));
  await a.close();
  expect((await b.receive()).equals(msg(0))).toBe(true);
  expect(await codeOf(b.receive())).toBe('ERR_L2_AUTH_FAILED');
  expect(ended).toBe(false);
});

test('a relay answering the handshake itself cannot pose as bob: alice refuses with ERR_L2_AUTH_FAILED', async () => {
  const relayIdentity = Identity.generate();
  const net = await network((p) => {
    if (p.kind !== Kind.Hello1) return [p];
    // The relay plays bob with its own keys and answers alice directly.
    const fake = crypto.Handshake.responder(relayIdentity);
    return [{ kind: Kind.Hello2, from: p.to, to: p.from, payload: fake.handle(p.payload)! }];
  });
  expect(await codeOf(net.alice.open(net.bId.did))).toBe('ERR_L2_AUTH_FAILED');
});

test('a relay naming the wrong sender is caught by the handshake: bob opens no channel', async () => {
  let lie = (p: Packet): Packet[] => [p];
  const net = await network((p) => lie(p));
  const cId = Identity.generate();
  await RelayClient.connect(await listen(cId), cId, net.relay.did, { addresses: net.relayNode.addresses });
  const [alice, bob, carol] = [net.aId.did, net.bId.did, cId.did];
  // The relay tells bob that alice's handshake comes from carol, and routes bob's answers to alice.
  lie = (p) => {
    if (p.from === alice && p.to === bob) return [{ ...p, from: carol }];
    if (p.from === bob && p.to === carol) return [{ ...p, to: alice }];
    return [p];
  };
  const channels: Channel[] = [];
  net.bob.on('channel', (c: Channel) => channels.push(c));
  const warned = new Promise<L2ErrorT>((resolve) => net.bob.once('warning', resolve));
  await net.alice.open(bob);
  const warning = await warned;
  expect(warning.code).toBe('ERR_L2_AUTH_FAILED');
  expect(warning.message).toContain(`is not ${carol}`);
  expect(channels).toEqual([]);
});

test('the largest end-to-end message arrives; one byte more is refused before sealing and the channel goes on', async () => {
  const net = await network();
  const { a, b } = await channel(net);
  expect(a.maxMessageLength).toBe(l2.MAX_MESSAGE_LEN - 32 - 2 - Buffer.byteLength(net.bId.did));
  const largest = Buffer.alloc(a.maxMessageLength, 0x5a);
  await a.send(largest);
  expect((await b.receive()).equals(largest)).toBe(true);
  expect(await codeOf(a.send(Buffer.alloc(a.maxMessageLength + 1)))).toBe('ERR_L2_BAD_INPUT');
  await a.send(msg(1));
  expect((await b.receive()).equals(msg(1))).toBe(true);
});

test('when the hop session is gone, sending fails the end-to-end channel', async () => {
  const net = await network();
  const { a } = await channel(net);
  await net.alice.close();
  const code = await codeOf(a.send(msg(0)));
  expect(code).not.toBe('resolved');
  expect(a.error?.code).toBe(code);
  expect(await codeOf(a.send(msg(1)))).toBe(code);
});

test('opening a channel to a peer the relay does not know fails with ERR_L2_TRANSPORT', async () => {
  const net = await network();
  expect(await codeOf(net.alice.open(Identity.generate().did))).toBe('ERR_L2_TRANSPORT');
});

test('a malformed envelope is dropped with a warning and the relay keeps forwarding', async () => {
  const net = await network();
  const warnings: L2ErrorT[] = [];
  net.relay.on('warning', (w) => warnings.push(w));
  const rogue = await (await listen()).establish(net.relay.did, { addresses: net.relayNode.addresses });
  const warned = new Promise((resolve) => net.relay.once('warning', resolve));
  await rogue.send(Buffer.from([0x63, 0xff, 0x01]));
  await warned;
  expect(warnings[0].code).toBe('ERR_L2_BAD_INPUT');
  const { a, b } = await channel(net);
  await a.send(msg(7));
  expect((await b.receive()).equals(msg(7))).toBe(true);
});
