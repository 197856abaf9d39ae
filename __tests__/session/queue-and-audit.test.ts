/** Bounded queues (a full queue is a clear ERR_L2_LIMIT, never a silent drop) and a secret-free audit trail. */
import { FakeClock } from '../../ts/session/clock';
import { SessionMachine } from '../../ts/session/machine';
import { createPeerPair } from '../../ts/session/mock-peer';

const bytes = (text: string) => new TextEncoder().encode(text);
const texts = (list: readonly { data: Uint8Array }[]) => list.map((r) => new TextDecoder().decode(r.data));

function degradedPair(queueLimit: number) {
  const clock = new FakeClock();
  const config = { queueLimit };
  const pair = createPeerPair(clock, { link: { latency: 10 }, alice: { config }, bob: { config } });
  pair.alice.driver.input((m, now) => m.establish(now));
  clock.advance(30);
  pair.link.partition();
  clock.advance(31_000);
  expect(pair.alice.machine.state).toBe('degraded');
  return { clock, ...pair };
}

test('a full queue while degraded gives the sender ERR_L2_LIMIT and keeps every accepted message', () => {
  const { clock, alice, bob, link } = degradedPair(3);
  for (const text of ['q1', 'q2', 'q3']) alice.send(bytes(text));
  expect(() => alice.send(bytes('q4'))).toThrow(expect.objectContaining({ code: 'ERR_L2_LIMIT', message: expect.stringContaining('3 of 3') }));
  expect(alice.machine.held).toBe(3);

  link.heal();
  clock.advance(100);
  expect(texts(bob.received)).toEqual(['q1', 'q2', 'q3']);
  expect(alice.machine.held).toBe(0);
  expect(alice.send(bytes('q4'))).toBe(4); // room again once the peer acknowledged
  clock.advance(100);
  expect(texts(bob.received)).toEqual(['q1', 'q2', 'q3', 'q4']);
});

test('unacknowledged messages count towards the limit while established, and acks free it', () => {
  const clock = new FakeClock();
  const config = { queueLimit: 2 };
  const { alice, bob } = createPeerPair(clock, { link: { latency: 50 }, alice: { config }, bob: { config } });
  alice.driver.input((m, now) => m.establish(now));
  clock.advance(150);
  alice.send(bytes('a'));
  alice.send(bytes('b'));
  expect(() => alice.send(bytes('c'))).toThrow(expect.objectContaining({ code: 'ERR_L2_LIMIT' }));
  clock.advance(100); // one round trip: both acknowledged
  expect(alice.send(bytes('c'))).toBe(3);
  clock.advance(100);
  expect(texts(bob.received)).toEqual(['a', 'b', 'c']);
});

test('closing with held messages hands them back as unacknowledged, in order; send after close is ERR_L2_CLOSED', () => {
  const { alice } = degradedPair(8);
  alice.send(bytes('x1'));
  alice.send(bytes('x2'));
  alice.driver.input((m, now) => m.close(now, 'caller_closed'));
  const notice = alice.notices.find((n) => n.type === 'unacknowledged');
  expect(notice).toMatchObject({ type: 'unacknowledged', reason: 'caller_closed' });
  expect(notice?.type === 'unacknowledged' && texts(notice.messages)).toEqual(['x1', 'x2']);
  expect(alice.machine.held).toBe(0);
  expect(() => alice.send(bytes('late'))).toThrow(expect.objectContaining({ code: 'ERR_L2_CLOSED' }));
});

test('send rejects anything but bytes with ERR_L2_BAD_INPUT and queues nothing', () => {
  const machine = new SessionMachine({ sessionId: 's', peerDid: 'did:key:z6Mk', initiator: true });
  for (const bad of ['text', 42, null, undefined, [1, 2], { length: 1 }]) {
    expect(() => machine.send(bad as unknown as Uint8Array, 0)).toThrow(expect.objectContaining({ code: 'ERR_L2_BAD_INPUT' }));
  }
  expect(machine.held).toBe(0);
});

test('the audit trail holds only identifiers, states and times: never a secret or a payload', () => {
  const clock = new FakeClock();
  const { alice, bob, link } = createPeerPair(clock, { link: { latency: 10 } });
  alice.driver.input((m, now) => m.establish(now));
  clock.advance(30);
  const secret = 'SECRET-PAYLOAD-7f3a';
  alice.send(bytes(secret));
  alice.driver.input((m, now) => m.rotate(now));
  clock.advance(30);
  link.partition();
  clock.advance(6 * 60_000);
  link.heal();
  clock.advance(100);
  alice.driver.input((m, now) => m.close(now));

  const records = [...alice.audit, ...bob.audit];
  expect(records.length).toBeGreaterThanOrEqual(10);
  const fields = ['from', 'keyEpoch', 'peerDid', 'reason', 'sessionId', 'time', 'to', 'transport'];
  for (const record of records) {
    expect(Object.keys(record).sort()).toEqual(fields);
    for (const value of Object.values(record)) expect(['string', 'number']).toContain(typeof value);
  }
  const json = JSON.stringify(records);
  expect(json).not.toContain(secret);
  expect(json).not.toMatch(/secret|key"|private|seed|ticket|psk/i);
  expect(Object.keys(alice.machine.export()).sort()).toEqual(['expiresAt', 'initiator', 'kemAt', 'keyEpoch', 'peerDid', 'sessionId']);
});
