/** The transition table against the brief, every disallowed move, and the pure transition's effects. */
import { L2Error } from '../../ts/errors';
import { DEFAULT_CONFIG, parseConfig } from '../../ts/session/config';
import { SessionMachine } from '../../ts/session/machine';
import { SESSION_EVENT_TYPES, SESSION_STATES, TRANSITIONS, type SessionEvent, type SessionEventType, type SessionState } from '../../ts/session/states';
import { backoffDelay, initialSnapshot, rotationDueAt, transition, type SessionSnapshot } from '../../ts/session/transition';

// The brief's table, written out independently of the implementation's.
const BRIEF: readonly [SessionState, SessionState][] = [
  ['idle', 'handshake_initiated'],
  ['idle', 'handshake_received'],
  ['handshake_initiated', 'established'],
  ['handshake_initiated', 'failed'],
  ['handshake_received', 'established'],
  ['handshake_received', 'failed'],
  ['established', 'degraded'],
  ['established', 'rotating'],
  ['degraded', 'established'],
  ['degraded', 'suspended'],
  ['rotating', 'established'],
  ['rotating', 'failed'],
  ['suspended', 'handshake_initiated'],
  ['suspended', 'closed'],
  ['failed', 'handshake_initiated'],
  ['failed', 'closed'],
];

const SAMPLE: { readonly [T in SessionEventType]: Extract<SessionEvent, { type: T }> } = {
  establish: { type: 'establish', kind: 'full' },
  peer_hello: { type: 'peer_hello', kind: 'full' },
  handshake_succeeded: { type: 'handshake_succeeded', keyEpoch: 9 },
  handshake_failed: { type: 'handshake_failed', reason: 'authentication_failed' },
  handshake_timeout: { type: 'handshake_timeout' },
  heartbeats_missed: { type: 'heartbeats_missed' },
  link_lost: { type: 'link_lost' },
  link_restored: { type: 'link_restored' },
  degraded_timeout: { type: 'degraded_timeout' },
  rotate: { type: 'rotate', reason: 'requested', kind: 'rotation' },
  retry: { type: 'retry', role: 'initiator', kind: 'full' },
  close: { type: 'close', reason: 'closed' },
};

function snapshotIn(state: SessionState): SessionSnapshot {
  const base = initialSnapshot({ sessionId: 's1', peerDid: 'did:key:z6MkPeer', config: DEFAULT_CONFIG, initiator: true, transport: 'quic' });
  return { ...base, state, keyEpoch: 1, kemAt: 0, expiresAt: DEFAULT_CONFIG.ttl, handshake: { kind: 'full', role: 'initiator' } };
}

test('SESSION_EVENT_TYPES lists every event of the union (SAMPLE is typed to need one of each)', () => {
  expect(Object.keys(SAMPLE).sort()).toEqual([...SESSION_EVENT_TYPES].sort());
});

test('the transition table is the brief\'s table plus close from every non-closed state', () => {
  const actual = new Set<string>();
  for (const from of SESSION_STATES) for (const to of Object.values(TRANSITIONS[from])) actual.add(`${from}>${to}`);
  const expected = new Set(BRIEF.map(([from, to]) => `${from}>${to}`));
  for (const from of SESSION_STATES) if (from !== 'closed') expected.add(`${from}>closed`);
  expect([...actual].sort()).toEqual([...expected].sort());
});

describe('every disallowed transition is rejected with ERR_L2_INVALID_STATE', () => {
  const cases = SESSION_STATES.flatMap((state) =>
    SESSION_EVENT_TYPES.filter((type) => TRANSITIONS[state][type] === undefined).map((type) => [state, type] as const),
  );
  test('there are disallowed moves to check in every state', () => {
    expect(new Set(cases.map(([state]) => state))).toEqual(new Set(SESSION_STATES));
    expect(cases).toHaveLength(SESSION_STATES.length * SESSION_EVENT_TYPES.length - 26); // 26 allowed (state, event) pairs
  });
  test.each(cases)('%s + %s → ERR_L2_INVALID_STATE', (state, type) => {
    const before = snapshotIn(state);
    let caught: unknown;
    try {
      transition(before, SAMPLE[type], 1000);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(L2Error);
    expect((caught as L2Error).code).toBe('ERR_L2_INVALID_STATE');
    expect((caught as L2Error).message).toContain(`'${type}'`);
    expect((caught as L2Error).message).toContain(`'${state}'`);
  });
});

test.each(SESSION_STATES.flatMap((state) => Object.entries(TRANSITIONS[state]).map(([type, to]) => [state, type as SessionEventType, to] as const)))(
  'allowed: %s + %s → %s, with one audit record',
  (state, type, to) => {
    const before = Object.freeze(snapshotIn(state));
    const { snapshot, effects } = transition(before, SAMPLE[type], 1000);
    expect(snapshot.state).toBe(to);
    expect(before.state).toBe(state); // the input snapshot is never mutated
    const audits = effects.filter((e) => e.type === 'audit');
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ record: { sessionId: 's1', from: state, to, time: 1000 } });
  },
);

test('the machine rejects API calls the table forbids, and keeps its state', () => {
  const machine = new SessionMachine({ sessionId: 's', peerDid: 'did:key:z6MkPeer', initiator: true });
  expect(() => machine.rotate(0)).toThrow(expect.objectContaining({ code: 'ERR_L2_INVALID_STATE' }));
  machine.establish(0);
  expect(() => machine.establish(1)).toThrow(expect.objectContaining({ code: 'ERR_L2_INVALID_STATE' }));
  expect(machine.state).toBe('handshake_initiated');
  machine.close(2);
  expect(() => machine.close(3)).toThrow(expect.objectContaining({ code: 'ERR_L2_INVALID_STATE' }));
  expect(() => machine.handleHandshakeResult({ ok: true, keyEpoch: 1 }, 4)).toThrow(expect.objectContaining({ code: 'ERR_L2_INVALID_STATE' }));
});

test('a key epoch that does not move forward is rejected as bad input', () => {
  const s = snapshotIn('rotating');
  expect(() => transition(s, { type: 'handshake_succeeded', keyEpoch: 1 }, 0)).toThrow(expect.objectContaining({ code: 'ERR_L2_BAD_INPUT' }));
  expect(transition(s, { type: 'handshake_succeeded', keyEpoch: 2 }, 0).snapshot.keyEpoch).toBe(2);
});

test('entering established arms heartbeat and rotation timers and flushes', () => {
  const { effects } = transition(snapshotIn('handshake_initiated'), { type: 'handshake_succeeded', keyEpoch: 2 }, 500);
  expect(effects).toContainEqual({ type: 'set_timer', timer: 'heartbeat', at: 500 + 30_000 });
  expect(effects).toContainEqual({ type: 'set_timer', timer: 'rotation', at: 500 + 23 * 3_600_000 });
  expect(effects).toContainEqual({ type: 'flush', retransmit: true });
});

test('a rotation timeout fails the session with reason rotation_timeout and schedules a retry', () => {
  const { snapshot, effects } = transition(snapshotIn('rotating'), { type: 'handshake_timeout' }, 0);
  expect(snapshot.state).toBe('failed');
  expect(effects[0]).toMatchObject({ type: 'audit', record: { reason: 'rotation_timeout' } });
  expect(effects).toContainEqual({ type: 'set_timer', timer: 'retry', at: 1000 });
});

test('backoff doubles from 1 s and is capped at 30 s', () => {
  expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelay(DEFAULT_CONFIG, n))).toEqual([1, 2, 4, 8, 16, 30, 30, 30].map((s) => s * 1000));
  const custom = parseConfig({ backoff: { initial: '500ms', max: '3s' } });
  expect([1, 2, 3, 4].map((n) => backoffDelay(custom, n))).toEqual([500, 1000, 2000, 3000]);
});

test('the side that did not open the session rotates one handshake timeout later, so both never start together', () => {
  const opener = { ...snapshotIn('established'), kemAt: 1000 };
  expect(rotationDueAt(opener)).toBe(1000 + 23 * 3_600_000);
  expect(rotationDueAt({ ...opener, initiator: false })).toBe(1000 + 23 * 3_600_000 + 5_000);
  expect(rotationDueAt({ ...opener, kemAt: null })).toBeNull();
});
