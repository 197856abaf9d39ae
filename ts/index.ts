/**
 * l2-session: post-quantum authenticated peer-to-peer sessions.
 * See README.md for the overview and SPEC.md for the protocol.
 */
export { L2Error, L2_ERROR_CODES } from './errors';
export type { L2ErrorCode } from './errors';
export { crypto } from './crypto';
export type { KeyPair, Encapsulation, MlKemKeyPair, Blake3Options } from './crypto';
export { Identity, didFromPublicKey, didToPublicKey } from './identity';
export { Handshake, FrameCipher, FrameType, FrameStatus, TicketStore } from './handshake';
export type { HandshakeOptions, FrameCipherOptions, OpenedFrame, OpenedBatch } from './handshake';
export { TransportNode, Link } from './transport';
export type { TransportAddresses, TransportListenOptions, DialOptions, LinkStats, TransportNodeStats, DiscoveryAnswer, TransportName } from './transport';
export { Node, MemoryResolver } from './api/node';
export type { NodeOptions, NodeLimits, EstablishOptions, ResumeOptions, PeerAddresses, Resolver, ResolvedPeer, AuditSink, NodeEvents } from './api/node';
export { Session, MAX_MESSAGE_LEN } from './api/session';
export type { SessionEvents, StateChange, SessionWarning, ExportedSession, CloseOptions, SessionStats, FrameDropReason } from './api/session';
export { createMetrics } from './metrics';
export type { MetricsOptions, NodeMetrics } from './metrics';
export { LOG_LEVELS } from './logger';
export type { Logger, LogFn, LogLevel } from './logger';
export type { SessionStream, SessionStreamOptions } from './api/stream';
export type { ReceiveOptions } from './api/inbox';
export { FakeClock, systemClock, parseConfig } from './session';
export type { Clock, Cancel, Duration, BackoffInput, SessionConfig, SessionConfigInput, SessionState, AuditRecord } from './session';
export type { TransportKind } from './session/states';
