/** Configuration parsing: defaults, durations, and a clear ERR_L2_BAD_INPUT naming the field for anything else. */
import { L2Error } from '../../ts/errors';
import { DEFAULT_CONFIG, parseConfig, parseDuration } from '../../ts/session/config';
import { SessionMachine } from '../../ts/session/machine';

function badInput(run: () => unknown): L2Error {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(L2Error);
    expect((err as L2Error).code).toBe('ERR_L2_BAD_INPUT');
    return err as L2Error;
  }
  throw new Error('expected ERR_L2_BAD_INPUT, nothing was thrown');
}

test('defaults are the brief\'s', () => {
  expect(parseConfig()).toEqual({
    ttl: 86_400_000,
    heartbeatInterval: 30_000,
    heartbeatTolerance: 3,
    heartbeatTimeout: 2_000,
    handshakeTimeout: 5_000,
    rotationWindow: 3_600_000,
    quarantine: 60_000,
    backoff: { initial: 1_000, max: 30_000 },
    degradedTimeout: 300_000,
    linkLossTimeout: 30_000,
    suspendedRetry: 60_000,
    ackTimeout: 2_000,
    queueLimit: 1024,
    maxRetries: 10,
  });
  expect(parseConfig({})).toEqual(DEFAULT_CONFIG);
  expect(Object.isFrozen(parseConfig({ ttl: '2h' }))).toBe(true);
});

test.each([
  [1500, 1500],
  ['500ms', 500],
  ['30s', 30_000],
  ['1.5s', 1500],
  ['1m', 60_000],
  ['24h', 86_400_000],
  ['7d', 604_800_000],
])('duration %p → %p ms', (input, ms) => {
  expect(parseDuration(input, 'ttl')).toBe(ms);
});

test.each([
  -1, 0, 1.5, NaN, Infinity, 366 * 86_400_000,
  'abc', '', '10', '5 s', '-5s', '1h30m', '0.5ms', '0s', 'Infinitys', ' 5s',
  null, true, {}, [], () => 5, BigInt(5),
])('duration %p → ERR_L2_BAD_INPUT naming the field', (input) => {
  const err = badInput(() => parseConfig({ heartbeatInterval: input }));
  expect(err.message).toMatch(/^config\.heartbeatInterval: /);
});

test.each([
  [{ heartbeatTolerance: 0 }, 'heartbeatTolerance'],
  [{ heartbeatTolerance: 2.5 }, 'heartbeatTolerance'],
  [{ heartbeatTolerance: '3' }, 'heartbeatTolerance'],
  [{ queueLimit: 0 }, 'queueLimit'],
  [{ queueLimit: -5 }, 'queueLimit'],
  [{ maxRetries: -1 }, 'maxRetries'],
  [{ colour: 'blue' }, 'colour'],
  [{ __proto__x: 1 }, '__proto__x'],
  [{ backoff: '1s' }, 'backoff'],
  [{ backoff: { initial: '1s', factor: 3 } }, 'backoff.factor'],
  [{ backoff: { max: 'never' } }, 'backoff.max'],
  [{ rotationWindow: '24h' }, 'rotationWindow'],
  [{ ttl: '30m' }, 'rotationWindow'],
  [{ handshakeTimeout: '2h' }, 'handshakeTimeout'],
  [{ heartbeatTimeout: '30s' }, 'heartbeatTimeout'],
  [{ backoff: { initial: '1m', max: '30s' } }, 'backoff.initial'],
])('config %p → ERR_L2_BAD_INPUT naming %s', (input, field) => {
  const err = badInput(() => parseConfig(input));
  expect(err.message.startsWith(`config.${field}: `)).toBe(true);
});

test.each([null, 'ttl=1h', 42, [], new Date(), new Map()])('config %p that is not a plain object → ERR_L2_BAD_INPUT', (input) => {
  expect(badInput(() => parseConfig(input)).message).toMatch(/^config: expected a plain object/);
});

test('cross-field rules accept the boundary just inside them', () => {
  expect(parseConfig({ ttl: '2h', rotationWindow: '119m' }).rotationWindow).toBe(119 * 60_000);
  expect(parseConfig({ backoff: { initial: '30s', max: '30s' } }).backoff).toEqual({ initial: 30_000, max: 30_000 });
});

test('a machine refuses a bad configuration at construction', () => {
  expect(badInput(() => new SessionMachine({ sessionId: 's', peerDid: 'did:key:z6Mk', initiator: true, config: { ttl: 'forever' } })).message).toContain('config.ttl');
});
