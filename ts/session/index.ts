/** The session layer: pure state machine, configuration, clock, driver and test doubles. */
export { DEFAULT_CONFIG, parseConfig, parseDuration } from './config';
export type { BackoffInput, Duration, SessionConfig, SessionConfigInput } from './config';
export { FakeClock, systemClock } from './clock';
export type { Cancel, Clock } from './clock';
export { SessionDriver } from './driver';
export type { SessionNotice, SessionPorts } from './driver';
export { SessionMachine } from './machine';
export type { HandshakeResult, MachineOutput, SessionMachineOptions, StoredSession } from './machine';
export { MockEndpoint, MockLink, seededRandom } from './mock-transport';
export type { MockLinkOptions, MockLinkStats } from './mock-transport';
export { MockPeer, createPeerPair } from './mock-peer';
export type { MockHandshakeMessage, MockPacket, PeerPair, PeerPairOptions } from './mock-peer';
export { SESSION_EVENT_TYPES, SESSION_STATES, SEND_POLICY, TRANSITIONS, nextState } from './states';
export type {
  HandshakeFailure,
  HandshakeKind,
  Role,
  RotationReason,
  SendPolicy,
  SessionEvent,
  SessionEventType,
  SessionState,
  TransportKind,
} from './states';
export { TIMER_NAMES, Timers } from './timers';
export type { TimerName } from './timers';
export { backoffDelay, canResume, initialSnapshot, rotationDueAt, transition } from './transition';
export type { AuditRecord, SessionSnapshot, SnapshotInit, TransitionEffect, TransitionResult } from './transition';
export { checkWireMessage } from './wire';
export type { WireMessage } from './wire';
