/**
 * Prometheus metrics of a node, through `prom-client`. Event counts (handshakes, rotations,
 * quarantines, transitions) come from the node's events; traffic, drops, fallbacks, RTT and the
 * sessions-by-state gauge are read from the sessions and the transport when scraped, so the
 * protocol code carries no counters of its own.
 */
import type { Counter, Gauge, Registry } from 'prom-client';
import { L2Error } from './errors';
import { Node } from './api/node';
import type { FrameDropReason, Session } from './api/session';
import { SESSION_STATES } from './session';
import type { AuditRecord, SessionState } from './session';
import { options as checkOptions, optionalString } from './validate';

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /** Registry to register in (default: a new one, so several nodes in one process do not clash). */
  registry?: Registry;
  /** Metric name prefix (default `l2_`). */
  prefix?: string;
}

/** A node's metrics. */
export interface NodeMetrics {
  readonly registry: Registry;
  /** The Content-Type of `metrics()`. */
  readonly contentType: string;
  /** The Prometheus text exposition of the registry. */
  metrics(): Promise<string>;
  /** Stops observing the node and removes the metrics from the registry. */
  close(): void;
}

type Traffic = { bytesIn: number; bytesOut: number; framesIn: number; framesOut: number; rejected: Record<FrameDropReason, number> };

const noDrops = (): Record<FrameDropReason, number> => ({ auth_failed: 0, replay: 0, unknown_epoch: 0, limit: 0 });

function add(into: Traffic, session: Session): void {
  const t = session.stats();
  into.bytesIn += t.bytesReceived;
  into.bytesOut += t.bytesSent;
  into.framesIn += t.messagesReceived;
  into.framesOut += t.messagesSent;
  for (const [reason, n] of Object.entries(t.framesRejected)) into.rejected[reason as FrameDropReason] += n;
}

const HANDSHAKING: readonly SessionState[] = ['handshake_initiated', 'handshake_received'];

/** Why an inbound connection was refused, in the vocabulary of session failure reasons. */
function refusalReason(err: L2Error): string {
  if (err.code === 'ERR_L2_AUTH_FAILED') return 'authentication_failed';
  return err.code.replace(/^ERR_L2_/, '').toLowerCase();
}

/**
 * Registers the metrics of `node` (names in README.md, "Metrics") and keeps them current until
 * `close()`. `prom-client` is loaded on the first call, so nodes without metrics never load it.
 */
export function createMetrics(node: Node, options?: MetricsOptions): NodeMetrics {
  if (!(node instanceof Node)) throw new L2Error('ERR_L2_BAD_INPUT', 'createMetrics needs a Node (from Node.listen)');
  const o = checkOptions<MetricsOptions>('metrics options', options, ['registry', 'prefix']) ?? {};
  const prefix = optionalString('prefix', o.prefix) ?? 'l2_';
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new L2Error('ERR_L2_BAD_INPUT', `prefix must be a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${JSON.stringify(prefix)}`);
  const prom = require('prom-client') as typeof import('prom-client');
  const registry = o.registry ?? new prom.Registry();
  if (typeof registry?.registerMetric !== 'function') throw new L2Error('ERR_L2_BAD_INPUT', 'registry must be a prom-client Registry');
  const registers = [registry];

  // Sessions seen through their transitions; a closed one is folded into `retired` at the next scrape.
  const tracked = new Set<Session>(node.sessions);
  const retired: Traffic = { bytesIn: 0, bytesOut: 0, framesIn: 0, framesOut: 0, rejected: noDrops() };
  const traffic = (): Traffic => {
    for (const s of [...tracked]) {
      if (s.state !== 'closed') continue;
      add(retired, s);
      tracked.delete(s);
    }
    const total = { ...retired, rejected: { ...retired.rejected } };
    for (const s of tracked) add(total, s);
    return total;
  };
  // A counter whose value is read from a source at scrape time.
  const setCounter = (c: Counter<string>, values: [Record<string, string>, number][]) => {
    c.reset();
    for (const [labels, v] of values) c.inc(labels, v);
  };

  const handshakes = new prom.Counter({
    name: `${prefix}handshakes_total`,
    help: 'Handshakes that open a session or retry one, by role, outcome (ok, resumed, failed) and failure reason',
    labelNames: ['role', 'outcome', 'reason'],
    registers,
  });
  const transitions = new prom.Counter({ name: `${prefix}session_transitions_total`, help: 'Session state changes', labelNames: ['from', 'to'], registers });
  const rotations = new prom.Counter({ name: `${prefix}rotations_total`, help: 'In-session key rotations, by outcome (ok, failed)', labelNames: ['outcome'], registers });
  const quarantines = new prom.Counter({ name: `${prefix}quarantines_total`, help: 'Peers quarantined after an authentication failure', registers });
  const sessions = new prom.Gauge({
    name: `${prefix}sessions`,
    help: 'Open sessions by state',
    labelNames: ['state'],
    registers,
    collect(this: Gauge<string>) {
      const counts = new Map<SessionState, number>(SESSION_STATES.filter((s) => s !== 'closed').map((s) => [s, 0]));
      for (const s of node.sessions) if (counts.has(s.state)) counts.set(s.state, counts.get(s.state)! + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  const bytes = new prom.Counter({
    name: `${prefix}bytes_total`,
    help: 'Transport payload bytes (sealed frames) of all sessions, by direction',
    labelNames: ['direction'],
    registers,
    collect(this: Counter<string>) {
      const t = traffic();
      setCounter(this, [[{ direction: 'in' }, t.bytesIn], [{ direction: 'out' }, t.bytesOut]]);
    },
  });
  const frames = new prom.Counter({
    name: `${prefix}frames_total`,
    help: 'Transport frames (μTCP frames or QUIC messages, each a batch of sealed frames) of all sessions, by direction',
    labelNames: ['direction'],
    registers,
    collect(this: Counter<string>) {
      const t = traffic();
      setCounter(this, [[{ direction: 'in' }, t.framesIn], [{ direction: 'out' }, t.framesOut]]);
    },
  });
  const dropped = new prom.Counter({
    name: `${prefix}dropped_total`,
    help: 'Input dropped instead of acted on, by reason: sealed frames that failed to open (frame_auth_failed, frame_replay, frame_unknown_epoch, frame_limit) and the transport\'s own reasons',
    labelNames: ['reason'],
    registers,
    collect(this: Counter<string>) {
      const values = Object.entries(traffic().rejected).map(([reason, n]): [Record<string, string>, number] => [{ reason: `frame_${reason}` }, n]);
      for (const [reason, n] of Object.entries(node.transport.stats().dropped)) values.push([{ reason }, n]);
      setCounter(this, values);
    },
  });
  const fallbacks = new prom.Counter({
    name: `${prefix}fallbacks_total`,
    help: 'Dials that fell back from QUIC to μTCP',
    registers,
    collect(this: Counter<string>) {
      setCounter(this, [[{}, node.transport.stats().tcpFallbacks]]);
    },
  });
  const rtt = new prom.Gauge({
    name: `${prefix}rtt_seconds`,
    help: 'QUIC smoothed RTT over open sessions (min, mean, max); absent without a QUIC session',
    labelNames: ['stat'],
    registers,
    collect(this: Gauge<string>) {
      this.reset();
      const samples = node.sessions.map((s) => s.stats().rttMs).filter((v): v is number => typeof v === 'number');
      if (samples.length === 0) return;
      this.set({ stat: 'min' }, Math.min(...samples) / 1000);
      this.set({ stat: 'mean' }, samples.reduce((a, b) => a + b, 0) / samples.length / 1000);
      this.set({ stat: 'max' }, Math.max(...samples) / 1000);
    },
  });

  // Series that exist before their first event, so dashboards and alerts see zeros rather than gaps.
  for (const outcome of ['ok', 'failed']) rotations.inc({ outcome }, 0);
  for (const role of ['initiator', 'responder']) for (const outcome of ['ok', 'resumed']) handshakes.inc({ role, outcome, reason: '' }, 0);

  const onTransition = (record: AuditRecord, session: Session) => {
    if (record.to !== 'closed') tracked.add(session);
    transitions.inc({ from: record.from, to: record.to });
    const role = session.initiator ? 'initiator' : 'responder';
    if (HANDSHAKING.includes(record.from) && record.to === 'established') {
      handshakes.inc({ role, outcome: session.resumed ? 'resumed' : 'ok', reason: '' });
    } else if (HANDSHAKING.includes(record.from) && record.to === 'failed') {
      handshakes.inc({ role, outcome: 'failed', reason: record.reason });
    } else if (record.from === 'rotating' && (record.to === 'established' || record.to === 'failed')) {
      rotations.inc({ outcome: record.to === 'established' ? 'ok' : 'failed' });
    }
  };
  const onQuarantine = () => quarantines.inc();
  const onRefused = (err: L2Error) => handshakes.inc({ role: 'responder', outcome: 'failed', reason: refusalReason(err) });
  node.on('transition', onTransition);
  node.on('quarantine', onQuarantine);
  node.on('refused', onRefused);

  const all = [handshakes, transitions, rotations, quarantines, sessions, bytes, frames, dropped, fallbacks, rtt];
  return {
    registry,
    get contentType() {
      return registry.contentType;
    },
    metrics: () => registry.metrics(),
    close() {
      node.off('transition', onTransition);
      node.off('quarantine', onQuarantine);
      node.off('refused', onRefused);
      for (const m of all) registry.removeSingleMetric((m as unknown as { name: string }).name);
    },
  };
}
