/** Compile-time checks: ts-jest type-checks this file, so each `@ts-expect-error` that stops erroring fails the run. */
import type { L2ErrorCode } from '../../ts/errors';
import type { MachineOutput } from '../../ts/session/machine';
import type { SessionEvent, SessionState } from '../../ts/session/states';
import { TIMER_NAMES, type TimerName } from '../../ts/session/timers';
import type { AuditRecord } from '../../ts/session/transition';

test('state, event and output unions reject what they do not name', () => {
  // @ts-expect-error 'open' is not a session state
  const state: SessionState = 'open';
  // @ts-expect-error handshake_succeeded needs its key epoch
  const event: SessionEvent = { type: 'handshake_succeeded' };
  // @ts-expect-error a handshake cannot fail for an unnamed reason
  const failed: SessionEvent = { type: 'handshake_failed', reason: 'oops' };
  // @ts-expect-error warnings carry an L2Error code, not free text
  const warning: MachineOutput = { type: 'warning', code: 'ERR_SOMETHING', message: 'x' };
  // @ts-expect-error an audit record has no room for key material
  const record: AuditRecord = { sessionId: 's', peerDid: 'd', from: 'idle', to: 'closed', reason: 'r', time: 0, keyEpoch: 0, transport: 'quic', secret: 'k' };
  const code: L2ErrorCode = 'ERR_L2_INVALID_STATE';
  expect([state, event, failed, warning, record, code]).toHaveLength(6);
});

test('TIMER_NAMES lists every timer name exactly once', () => {
  const all: Record<TimerName, true> = {
    handshake: true, heartbeat: true, heartbeatAnswer: true, ack: true, linkLoss: true, rotation: true, degraded: true, retry: true,
  };
  expect([...TIMER_NAMES].sort()).toEqual(Object.keys(all).sort());
});
