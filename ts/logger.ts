/**
 * Logging through an injected, pino-compatible logger (silent without one). The node reports what
 * happens through its events; this module turns them into log lines, so the protocol code carries
 * no logging calls. Lines hold DIDs, session ids, states, reasons and error codes — never keys,
 * seeds or tickets.
 */
import { L2Error } from './errors';
import type { Node } from './api/node';
import type { Session } from './api/session';
import type { AuditRecord, SessionState } from './session';

/** One log method: `(obj, msg?)` or `(msg)`, as pino takes them. */
export type LogFn = (objOrMsg: unknown, ...args: unknown[]) => void;

/** The logger interface of pino (and bunyan, and most structured loggers). */
export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** When present, the node logs through `child({ did })`. */
  child?(bindings: Record<string, unknown>): Logger;
}

/** Level names, most verbose first. */
export const LOG_LEVELS = Object.freeze(['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const);
/** One of `LOG_LEVELS`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Checks that `value` has every log method; the message names what is missing. */
export function checkLogger(value: unknown): Logger {
  if (typeof value !== 'object' || value === null) throw new L2Error('ERR_L2_BAD_INPUT', `logger must be an object with ${LOG_LEVELS.join(', ')} methods`);
  const missing = LOG_LEVELS.filter((l) => typeof (value as Record<string, unknown>)[l] !== 'function');
  if (missing.length > 0) throw new L2Error('ERR_L2_BAD_INPUT', `logger lacks the method(s) ${missing.join(', ')}`);
  const child = (value as Record<string, unknown>).child;
  if (child !== undefined && typeof child !== 'function') throw new L2Error('ERR_L2_BAD_INPUT', 'logger.child must be a function');
  return value as Logger;
}

const HANDSHAKING: readonly SessionState[] = ['handshake_initiated', 'handshake_received'];

/** @internal Logs a node's activity through `logger` from its events (called by `Node.listen`). */
export function attachLogger(node: Node, logger: Logger): void {
  const log = logger.child ? logger.child({ did: node.did }) : logger;
  // The transport each session was last seen on, to notice a move from QUIC to μTCP.
  const seen = new WeakMap<Session, string>();
  log.info({ addresses: node.addresses }, 'node listening');
  node.on('transition', (record, session) => {
    if (!seen.has(session)) {
      session.on('warning', (w) => log.warn({ sessionId: session.id, peerDid: session.peerDid, code: w.code }, w.message));
    }
    logTransition(log, record, session);
    if (record.to === 'established') {
      const now = session.link?.transport ?? record.transport;
      const before = seen.get(session) ?? record.transport;
      if (before === 'quic' && now === 'tcp') log.warn(fields(record), 'QUIC unavailable: session carries on over μTCP');
      seen.set(session, now);
    } else if (!seen.has(session)) {
      seen.set(session, record.transport);
    }
  });
  node.on('quarantine', (peerDid, until) => log.warn({ peerDid, until: new Date(until).toISOString() }, 'peer quarantined after an authentication failure'));
  node.on('warning', (err) => {
    if (err.code === 'ERR_L2_INTERNAL') log.error({ code: err.code }, err.message);
    else log.warn({ code: err.code }, err.message);
  });
}

function fields(record: AuditRecord): Record<string, unknown> {
  return {
    sessionId: record.sessionId,
    peerDid: record.peerDid,
    from: record.from,
    to: record.to,
    reason: record.reason,
    keyEpoch: record.keyEpoch,
    transport: record.transport,
  };
}

function logTransition(log: Logger, record: AuditRecord, session: Session): void {
  const f = fields(record);
  const { from, to, reason } = record;
  if (HANDSHAKING.includes(to)) return log.debug({ ...f, role: session.initiator ? 'initiator' : 'responder' }, 'handshake started');
  if (HANDSHAKING.includes(from) && to === 'established') return log.info({ ...f, resumed: session.resumed }, 'session established');
  if (HANDSHAKING.includes(from) && to === 'failed') return log.warn(f, `handshake failed: ${reason}`);
  if (from === 'rotating' && to === 'established') return log.info(f, 'keys rotated');
  if (from === 'rotating' && to === 'failed') return log.warn(f, `rotation failed: ${reason}`);
  if (to === 'rotating') return log.debug(f, 'rotation started');
  if (to === 'degraded' || to === 'suspended') return log.warn(f, `session ${to}: ${reason}`);
  if (from === 'degraded' && to === 'established') return log.info(f, 'session recovered');
  if (to === 'closed') return reason === 'closed' || reason === 'peer_closed' ? log.info(f, 'session closed') : log.warn(f, `session ended: ${reason}`);
  log.debug(f, 'session state changed');
}
