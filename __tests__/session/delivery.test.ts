/** Exactly-once, in-order delivery when the link itself misbehaves. */
import { FakeClock } from '../../ts/session/clock';
import { createPeerPair } from '../../ts/session/mock-peer';

const bytes = (text: string) => new TextEncoder().encode(text);

test('on a lossy link, resends deliver every message exactly once and in order, both ways', () => {
  const clock = new FakeClock();
  const config = { queueLimit: 10_000 };
  const { alice, bob, link } = createPeerPair(clock, { link: { latency: 20, seed: 42 }, alice: { config }, bob: { config } });
  alice.driver.input((m, now) => m.establish(now));
  clock.advance(60);
  link.configure({ loss: 0.2 });
  const sent: string[] = [];
  for (let i = 1; i <= 500; i++) {
    sent.push(`m${i}`);
    alice.send(bytes(`m${i}`));
    bob.send(bytes(`m${i}`));
    clock.advance(37);
  }
  link.configure({ loss: 0 });
  clock.advance(60_000);
  const decode = (list: { data: Uint8Array }[]) => list.map((r) => new TextDecoder().decode(r.data));
  expect(link.stats.dropped).toBeGreaterThan(100); // the loss really happened
  expect(decode(bob.received)).toEqual(sent);
  expect(decode(alice.received)).toEqual(sent);
  expect(alice.machine.held + bob.machine.held).toBe(0);
});

test('both sides retrying at once: the opener keeps the initiator role and the other answers', () => {
  const clock = new FakeClock();
  const { alice, bob, link } = createPeerPair(clock, { link: { latency: 10 } });
  alice.driver.input((m, now) => m.establish(now));
  clock.advance(30);
  link.partition();
  clock.advance(6 * 60_000);
  expect([alice.machine.state, bob.machine.state]).toEqual(['suspended', 'suspended']);
  link.heal();
  expect([alice.machine.state, bob.machine.state]).toEqual(['handshake_initiated', 'handshake_initiated']);
  clock.advance(30);
  expect([alice.machine.state, bob.machine.state]).toEqual(['established', 'established']);
  expect(bob.handshakes.slice(-2).map((h) => h.role)).toEqual(['initiator', 'responder']);
  expect(alice.handshakes.at(-1)?.role).toBe('initiator');
  expect(alice.machine.snapshot.keyEpoch).toBe(bob.machine.snapshot.keyEpoch);
});
