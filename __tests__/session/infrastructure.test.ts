/** The pieces under the machine: fake clock, timers, mock transport, wire checks, driver. */
import { FakeClock, coalescedDeadline, systemClock } from '../../ts/session/clock';
import { SessionDriver, type SessionNotice } from '../../ts/session/driver';
import { SessionMachine } from '../../ts/session/machine';
import { MockLink, seededRandom } from '../../ts/session/mock-transport';
import { Timers } from '../../ts/session/timers';

test('FakeClock runs callbacks in time order, ties in scheduling order, and honours cancel', () => {
  const clock = new FakeClock(100);
  const log: string[] = [];
  clock.schedule(300, () => log.push('c@' + clock.now()));
  clock.schedule(200, () => log.push('a@' + clock.now()));
  clock.schedule(200, () => log.push('b@' + clock.now()));
  const cancel = clock.schedule(250, () => log.push('cancelled'));
  cancel();
  clock.advance(150);
  expect(log).toEqual(['a@200', 'b@200']);
  expect(clock.now()).toBe(250);
  expect(clock.nextAt()).toBe(300);
  clock.advanceTo(1000);
  expect(log).toEqual(['a@200', 'b@200', 'c@300']);
  clock.advanceTo(10); // never backwards
  expect(clock.now()).toBe(1000);
});

test('Timers: the next deadline is the minimum; expired timers come out one at a time by priority', () => {
  const timers = new Timers();
  expect(timers.next()).toBeNull();
  timers.set('retry', 50);
  timers.set('heartbeat', 20);
  timers.set('handshake', 20);
  timers.set('rotation', 90);
  expect(timers.next()).toBe(20);
  expect(timers.takeExpired(60)).toBe('handshake');
  expect(timers.takeExpired(60)).toBe('heartbeat');
  expect(timers.takeExpired(60)).toBe('retry');
  expect(timers.takeExpired(60)).toBeUndefined();
  expect(timers.next()).toBe(90);
  timers.cancel('rotation');
  expect(timers.next()).toBeNull();
});

test('MockLink delivers after the latency, drops in-flight messages on partition, and notifies both ends', () => {
  const clock = new FakeClock();
  const link = new MockLink<string>(clock, { latency: 10 });
  const got: string[] = [];
  const linkEvents: boolean[] = [];
  link.b.onMessage((m) => got.push(`${m}@${clock.now()}`));
  link.a.onLinkChange((up) => linkEvents.push(up));
  link.a.send('one');
  clock.advance(10);
  expect(got).toEqual(['one@10']);
  link.a.send('in-flight');
  link.partition();
  link.a.send('during');
  link.heal();
  clock.advance(20);
  expect(got).toEqual(['one@10']);
  expect(link.stats).toEqual({ sent: 3, delivered: 1, dropped: 2 });
  expect(linkEvents).toEqual([false, true]);
});

test('MockLink loss is deterministic per seed and close to the configured rate', () => {
  const run = (seed: number) => {
    const clock = new FakeClock();
    const link = new MockLink<number>(clock, { loss: 0.3, seed });
    const got: number[] = [];
    link.b.onMessage((m) => got.push(m));
    for (let i = 0; i < 1000; i++) link.a.send(i);
    clock.advance(1);
    return got;
  };
  expect(run(7)).toEqual(run(7));
  expect(run(7)).not.toEqual(run(8));
  expect(run(7).length).toBeGreaterThan(650);
  expect(run(7).length).toBeLessThan(750);
  expect(() => new MockLink(new FakeClock(), { loss: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_L2_BAD_INPUT' }));
  const random = seededRandom(1);
  expect(random()).not.toBe(random());
});

test('a malformed session message becomes a warning and changes nothing', () => {
  const machine = new SessionMachine({ sessionId: 's', peerDid: 'did:key:z6Mk', initiator: true });
  for (const bad of [null, 'data', { kind: 'data', seq: -1, payload: new Uint8Array() }, { kind: 'data', seq: 1, payload: 'x' }, { kind: 'heartbeat', counter: 1.5 }, { kind: 'nope' }]) {
    machine.handleMessage(bad, 0);
    expect(machine.poll()).toMatchObject({ type: 'warning', code: 'ERR_L2_BAD_INPUT' });
  }
  expect(machine.state).toBe('idle');
  expect(machine.poll()).toBeUndefined();
});

test('the driver arms one timer at the next deadline and fires the machine on it', () => {
  const clock = new FakeClock();
  const notices: SessionNotice[] = [];
  const machine = new SessionMachine({ sessionId: 's', peerDid: 'did:key:z6Mk', initiator: true });
  const starts: string[] = [];
  const driver = new SessionDriver(machine, clock, {
    transmit: () => undefined,
    startHandshake: (kind, role) => starts.push(`${kind}/${role}`),
    notify: (n) => notices.push(n),
  });
  driver.input((m, now) => m.establish(now));
  expect(starts).toEqual(['full/initiator']);
  expect(clock.nextAt()).toBe(5000);
  clock.advance(5000);
  expect(machine.state).toBe('failed');
  expect(notices.filter((n) => n.type === 'audit')).toHaveLength(2);
  expect(clock.nextAt()).toBe(6000); // re-armed at the retry
  expect(() => driver.input((m, now) => m.rotate(now))).toThrow(expect.objectContaining({ code: 'ERR_L2_INVALID_STATE' }));
});

test('a steady exchange, which pushes the heartbeat and ack deadlines later with every message, does not re-arm the timer per message', () => {
  const clock = new FakeClock();
  let scheduled = 0;
  const counting = { now: () => clock.now(), schedule: (at: number, run: () => void) => (scheduled++, clock.schedule(at, run)) };
  const machine = new SessionMachine({ sessionId: 's', peerDid: 'did:key:z6Mk', initiator: true });
  const sent: string[] = [];
  const driver = new SessionDriver(machine, counting, { transmit: (m) => sent.push(m.kind), startHandshake: () => undefined, notify: () => undefined });
  driver.input((m, now) => m.establish(now));
  driver.input((m, now) => m.handleHandshakeResult({ ok: true, keyEpoch: 1 }, now));
  expect(machine.state).toBe('established');
  scheduled = 0;
  // Ping-pong, 1 ms apart: send, the peer acknowledges it and answers; for 10 s (five ack timeouts).
  for (let k = 1; k <= 5000; k++) {
    clock.advance(1);
    driver.input((m, now) => m.send(new Uint8Array(8), now));
    clock.advance(1);
    driver.input((m, now) => m.handleMessage({ kind: 'ack', seq: k }, now));
    driver.input((m, now) => m.handleMessage({ kind: 'data', seq: k, payload: new Uint8Array(8) }, now));
  }
  // About one wake-up per ack timeout (2 s), each finding nothing due (no resend, no heartbeat), not 10,000.
  expect(scheduled).toBeLessThanOrEqual(10);
  expect(sent.filter((kind) => kind === 'data')).toHaveLength(5000);
  expect(sent.filter((kind) => kind === 'heartbeat')).toHaveLength(0);
  // Quiet from here: the heartbeat still fires at its real deadline, 30 s after the last message (the default interval).
  const last = clock.now();
  clock.advanceTo(last + 30_000 - 1);
  expect(sent.filter((kind) => kind === 'heartbeat')).toHaveLength(0);
  clock.advanceTo(last + 30_000);
  expect(sent.filter((kind) => kind === 'heartbeat')).toHaveLength(1);
});

describe('systemClock', () => {
  afterEach(() => jest.useRealTimers());

  test('fires at the deadline or within its slack, not before, and a deadline beyond setTimeout\'s range does not fire at once', () => {
    jest.useFakeTimers();
    const fired: string[] = [];
    const at = systemClock.now() + 100;
    systemClock.schedule(at, () => fired.push('near'));
    systemClock.schedule(systemClock.now() + 40 * 86_400_000, () => fired.push('far'));
    const cancel = systemClock.schedule(systemClock.now() + 50, () => fired.push('cancelled'));
    cancel();
    jest.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    jest.advanceTimersByTime(Math.ceil(coalescedDeadline(at, at - 100) - at) + 1);
    expect(fired).toEqual(['near']);
    jest.advanceTimersByTime(86_400_000);
    expect(fired).toEqual(['near']);
  });

  test('coalesced deadlines: never early, at most 1/32 of the delay (and 256 ms) late, exact below 32 ms', () => {
    const now = 1_764_000_000_123.25;
    for (const delay of [0, 5, 31.9, 32, 100, 1000, 2000, 10_000, 30_000, 3_600_000]) {
      const fire = coalescedDeadline(now + delay, now);
      expect(fire).toBeGreaterThanOrEqual(now + delay);
      expect(fire - (now + delay)).toBeLessThanOrEqual(Math.min(256, delay / 32));
      if (delay < 32) expect(fire).toBe(now + delay);
    }
  });

  test('timers due close together fire in the same turn (heartbeats of many sessions leave as one batch)', () => {
    jest.useFakeTimers();
    const now = systemClock.now();
    // Ten deadlines spread over 226 ms, 10 s away: one 256 ms slot, so they all fire at its end.
    const slot = Math.ceil((now + 10_000) / 256) * 256;
    const fired: number[] = [];
    for (let k = 0; k < 10; k++) systemClock.schedule(slot + 1 + 25 * k, () => fired.push(k));
    const passed = Math.ceil(slot + 2 - now);
    jest.advanceTimersByTime(passed);
    expect(fired).toEqual([]); // the first deadline has passed; its slot has not
    jest.advanceTimersByTime(Math.ceil(slot + 256 - now) - passed + 1);
    expect(fired).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
