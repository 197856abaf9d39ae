/**
 * The chaos scenario of issue 6, independent of where the hosts run: node A dials node B through an
 * impairing path; both send sequence-numbered messages continuously across key rotations, through
 * loss/delay/reordering/duplication, a UDP block (the session moves to μTCP), a partition longer than
 * the degraded threshold, and recovery. Every message `send` accepted must arrive exactly once and in
 * order, and each side's state sequence must follow the brief's table.
 */
import { TRANSITIONS } from '../../ts/session/states';
import type { SessionState } from '../../ts/session/states';
import type { RpcClient } from '../../tools/chaos/rpc';

/**
 * Shortened timers. A silent path is noticed by heartbeats after about heartbeatTolerance ×
 * heartbeatInterval + heartbeatTimeout (3.6 s): longer than QUIC noticing the UDP block (its idle
 * timeout) plus the QUIC dial timeout and the μTCP handshake (about 1.7 s), so the fallback stays
 * invisible, and short enough that a partition degrades quickly. Degraded for 5 s means suspended.
 */
export const SCENARIO_CONFIG = {
  heartbeatInterval: 1000,
  heartbeatTimeout: 600,
  heartbeatTolerance: 3,
  linkLossTimeout: 5000,
  degradedTimeout: 5000,
  suspendedRetry: 1000,
  backoff: { initial: 500, max: 2000 },
  maxRetries: 100,
  handshakeTimeout: 5000,
};
/** QUIC declares a silent path dead after this long (ms): how fast the UDP block is noticed. */
export const QUIC_IDLE_TIMEOUT = 1000;
/** How long a QUIC dial may take before μTCP is tried (ms). */
export const QUIC_DIAL_TIMEOUT = 500;
/**
 * Traffic: one message of SIZE bytes every INTERVAL ms, each way (~6 KB/s). At 20% loss QUIC's
 * congestion window sits at its minimum (~2 packets per ~140 ms round trip, ~17 KB/s); offering more
 * builds a backlog in which heartbeats and rotation messages wait behind data for seconds.
 */
const INTERVAL = 40;
const SIZE = 200;

/** What impairs the path between A and B, phase by phase. */
export interface Impairer {
  /** Loss, delay with jitter, reordering, duplication. */
  chaos(): Promise<void>;
  /** UDP dropped, TCP passes: QUIC dies. */
  blockUdp(): Promise<void>;
  /** Nothing passes either way. */
  partition(): Promise<void>;
  /** Every impairment off. */
  recover(): Promise<void>;
  /** The relay's counters. */
  stats(): Promise<RelayCounters>;
}

/** The relay counters the summary prints (tools/chaos/relay.d.ts `RelayStats`). */
export interface RelayCounters {
  udp: Record<'a2b' | 'b2a', { forwarded: number; dropped: number; droppedByLoss: number; droppedByBlock: number; duplicated: number; reordered: number }>;
  tcp: Record<'a2b' | 'b2a', { chunks: number; bytes: number; stalledMs: number }> & { connections: number; heldConnections: number };
}

/** Where the scenario runs: how peers start, on which addresses, and the path between them. */
export interface Harness {
  readonly label: string;
  spawnPeer(which: 'a' | 'b'): RpcClient;
  readonly hostA: string;
  readonly hostB: string;
  /** Starts the path once B listens; returns the addresses A dials instead of B's. */
  startPath(b: { quic: string; tcp: string }): Promise<{ quic: string; tcp: string; impair: Impairer }>;
}

interface Transition {
  from: SessionState;
  to: SessionState;
  reason: string;
  keyEpoch: number;
  transport: string;
  /** Wall-clock ms (the peers' clocks are the host's). */
  time: number;
}

interface PeerReport {
  state: SessionState | null;
  transport: string | null;
  /** The transport of the link actually under the session. */
  linkTransport: string | null;
  keyEpoch: number;
  pending: number;
  sent: number;
  limitHits: number;
  errors: string[];
  received: { delivered: number; duplicated: number; outOfOrder: number; corrupt: number; highest: number };
  transitions: Transition[];
  warnings: Record<string, number>;
  fallbacks: number;
  tcpFallbacks: number;
}

export interface ScenarioResult {
  label: string;
  a: PeerReport;
  b: PeerReport;
  relay: RelayCounters;
  /** The relay's UDP counters during the chaos phase alone. */
  chaosPhase: RelayCounters['udp'];
  rotations: number;
  seconds: number;
  summary: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls both peers' reports until `ok(a, b)` holds. The bound is generous (a stuck phase, not a slow
 * one) and well inside the test's timeout, so a failure still gets the peers' reports logged.
 */
async function waitFor(a: RpcClient, b: RpcClient, ok: (a: PeerReport, b: PeerReport) => boolean, what = 'the peers', timeoutMs = 60_000): Promise<[PeerReport, PeerReport]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [ra, rb] = await Promise.all([a.call<PeerReport>('report'), b.call<PeerReport>('report')]);
    if (ra.errors.length > 0 || rb.errors.length > 0) throw new Error(`a sender failed: A ${ra.errors.join('; ')} B ${rb.errors.join('; ')}`);
    if (ok(ra, rb)) return [ra, rb];
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s (A ${ra.state} over ${ra.transport}, B ${rb.state} over ${rb.transport})`);
    await sleep(100);
  }
}

/** Waits until both directions delivered `n` more messages than they had. */
async function progress(a: RpcClient, b: RpcClient, n: number): Promise<void> {
  const [ra, rb] = await waitFor(a, b, () => true);
  await waitFor(a, b, (x, y) => x.received.delivered >= ra.received.delivered + n && y.received.delivered >= rb.received.delivered + n, `${n} more messages each way`);
}

/**
 * Rotates from `side`. A rotation starts only from `established`: when a loss burst briefly degraded
 * the session (allowed by the table), wait for it to come back and ask again.
 */
async function rotate(a: RpcClient, b: RpcClient, side: RpcClient): Promise<void> {
  for (;;) {
    try {
      await side.call('rotate', undefined, 60_000);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_L2_INVALID_STATE') throw err;
      await waitFor(a, b, (x, y) => (side === a ? x : y).state === 'established', 'established again to rotate');
    }
  }
}

/** Runs the scenario; the caller stops the peers it spawned. On failure both peers' reports are logged. */
export async function runScenario(h: Harness, log: (line: string) => void): Promise<ScenarioResult> {
  const peers: RpcClient[] = [];
  try {
    return await scenario(h, log, peers);
  } catch (err) {
    for (const [k, p] of peers.entries()) {
      const report = await p.call('report', undefined, 5000).catch((e: Error) => e.message);
      log(`[${h.label}] ${k === 0 ? 'B' : 'A'} at failure: ${JSON.stringify(report)}\nstderr: ${p.stderr.slice(-2000)}`);
    }
    throw err;
  }
}

async function scenario(h: Harness, log: (line: string) => void, peers: RpcClient[]): Promise<ScenarioResult> {
  const t0 = Date.now();
  const phase = (name: string) => log(`[${h.label}] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${name}`);
  const b = h.spawnPeer('b');
  const a = h.spawnPeer('a');
  peers.push(b, a);
  await Promise.all([a.once('ready'), b.once('ready')]);
  const listenOpts = { config: SCENARIO_CONFIG, quicIdleTimeout: QUIC_IDLE_TIMEOUT };
  const bInfo = await b.call<{ did: string; addresses: { quic: string; tcp: string } }>('listen', { host: h.hostB, ...listenOpts });
  await a.call('listen', { host: h.hostA, ...listenOpts });
  const path = await h.startPath(bInfo.addresses);
  const accepted = b.once('session');
  phase(`A dials B through ${path.quic} (udp) / ${path.tcp} (tcp)`);
  await a.call('establish', { did: bInfo.did, addresses: { quic: path.quic, tcp: path.tcp }, quicTimeout: QUIC_DIAL_TIMEOUT });
  await accepted;
  await Promise.all([a.call('traffic', { intervalMs: INTERVAL, size: SIZE }), b.call('traffic', { intervalMs: INTERVAL, size: SIZE })]);
  await progress(a, b, 50);

  phase('chaos: loss, delay with jitter, reordering, duplication; rotations from both sides');
  const beforeChaos = await path.impair.stats();
  await path.impair.chaos();
  await progress(a, b, 50);
  let rotations = 0;
  for (const side of [a, b, a]) {
    await rotate(a, b, side);
    rotations++;
    await progress(a, b, 25);
  }

  const chaosPhase = udpDelta(beforeChaos, await path.impair.stats());
  // Calm before the block, so the QUIC backlog left by the loss drains: the block phase then shows
  // the fallback alone, whose time must stay under the heartbeats' degrade threshold.
  await path.impair.recover();
  await progress(a, b, 25);

  phase('UDP blocked: QUIC dies, the session must carry on over μTCP');
  await path.impair.blockUdp();
  await waitFor(a, b, (x, y) => x.transport === 'tcp' && y.transport === 'tcp', 'move to μTCP');
  await progress(a, b, 50);

  phase('short partition: both sides degraded, then recovery before the degraded timeout');
  await path.impair.partition();
  await waitFor(a, b, (x, y) => x.state === 'degraded' && y.state === 'degraded', 'degraded on both sides');
  // Held past the threshold: messages keep being accepted into the queue meanwhile.
  await sleep(SCENARIO_CONFIG.heartbeatInterval);
  await path.impair.recover();
  await waitFor(a, b, (x, y) => x.state === 'established' && y.state === 'established', 'established on both sides');
  await progress(a, b, 50);

  phase('long partition: degraded too long, suspended, retries fail while nothing passes');
  await path.impair.partition();
  const suspendedBefore = (r: PeerReport) => r.transitions.filter((t) => t.to === 'suspended').length;
  const [sa, sb] = await waitFor(a, b, () => true).then(([x, y]) => [suspendedBefore(x), suspendedBefore(y)]);
  await waitFor(a, b, (x, y) => suspendedBefore(x) > sa && suspendedBefore(y) > sb, 'suspension on both sides');
  // A retried and the retry timed out (its dial held by the partition) before the path heals.
  const failedBefore = (r: PeerReport) => r.transitions.filter((t) => t.from === 'handshake_initiated' && t.to === 'failed').length;
  const fa = failedBefore((await waitFor(a, b, () => true))[0]);
  await waitFor(a, b, (x) => failedBefore(x) > fa, 'failed retry on A');
  await path.impair.recover();
  phase('recovery: a retry re-establishes, queued messages flushed');
  await waitFor(a, b, (x, y) => x.state === 'established' && y.state === 'established', 'established on both sides');
  await progress(a, b, 50);

  phase('stop sending and drain');
  const [sentA, sentB] = await Promise.all([a.call<{ sent: number }>('stop'), b.call<{ sent: number }>('stop')]);
  const [ra, rb] = await waitFor(a, b, (x, y) => y.received.delivered >= sentA.sent && x.received.delivered >= sentB.sent, 'complete delivery');
  const relay = await path.impair.stats();
  await Promise.all([a.call('close'), b.call('close')]);
  const seconds = (Date.now() - t0) / 1000;
  const summary = summarise(h.label, t0, ra, rb, relay, chaosPhase, rotations, seconds);
  log(summary);
  return { label: h.label, a: ra, b: rb, relay, chaosPhase, rotations, seconds, summary };
}

type UdpCounters = RelayCounters['udp']['a2b'];

/** The relay's UDP counters between two snapshots, per direction. */
function udpDelta(before: RelayCounters, after: RelayCounters): RelayCounters['udp'] {
  const d = (x: UdpCounters, y: UdpCounters) => Object.fromEntries(Object.keys(y).map((k) => [k, y[k as keyof UdpCounters] - x[k as keyof UdpCounters]])) as UdpCounters;
  return { a2b: d(before.udp.a2b, after.udp.a2b), b2a: d(before.udp.b2a, after.udp.b2a) };
}

function summarise(label: string, t0: number, a: PeerReport, b: PeerReport, relay: RelayCounters, chaos: RelayCounters['udp'], rotations: number, seconds: number): string {
  const dir = (name: string, from: PeerReport, to: PeerReport) =>
    `${name} sent ${from.sent} delivered ${to.received.delivered} duplicated ${to.received.duplicated} reordered ${to.received.outOfOrder}`;
  const u = (d: 'a2b' | 'b2a') => {
    const c = relay.udp[d];
    return `${d} fwd ${c.forwarded} drop ${c.droppedByLoss}+${c.droppedByBlock}blk dup ${c.duplicated} reord ${c.reordered}`;
  };
  const states = (r: PeerReport) => r.transitions.map((t) => `${t.to}@${((t.time - t0) / 1000).toFixed(1)}`).join(' > ');
  const pct = (n: number, of: number) => `${((100 * n) / Math.max(of, 1)).toFixed(1)}%`;
  const phase = (d: 'a2b' | 'b2a') => {
    const c = chaos[d];
    const arrived = c.forwarded - c.duplicated + c.dropped;
    return `${d} ${arrived} in, lost ${pct(c.droppedByLoss, arrived)}, duplicated ${pct(c.duplicated, arrived)}, reordered ${pct(c.reordered, c.forwarded)}`;
  };
  return [
    `chaos[${label}] ${seconds.toFixed(1)} s: ${dir('A→B', a, b)}; ${dir('B→A', b, a)}`,
    `  transport at the end A ${a.transport} (link ${a.linkTransport}), B ${b.transport} (link ${b.linkTransport})`,
    `  rotations ${rotations} (key epoch A ${a.keyEpoch}, B ${b.keyEpoch}); fallbacks to μTCP ${a.fallbacks} (A dialled μTCP ${a.tcpFallbacks}×); queue-full retries A ${a.limitHits} B ${b.limitHits}`,
    `  chaos phase udp ${phase('a2b')}; ${phase('b2a')}`,
    `  relay totals udp ${u('a2b')}; ${u('b2a')}; tcp a2b ${relay.tcp.a2b.bytes} B, b2a ${relay.tcp.b2a.bytes} B, ${relay.tcp.connections} conns (${relay.tcp.heldConnections} held), stalled ${relay.tcp.a2b.stalledMs} ms`,
    `  states A: ${states(a)}`,
    `  states B: ${states(b)}`,
  ].join('\n');
}

/** Every move is one the table allows. */
function illegalMoves(transitions: Transition[]): string[] {
  return transitions.filter((t) => !Object.values(TRANSITIONS[t.from]).includes(t.to)).map((t) => `${t.from}→${t.to} (${t.reason})`);
}

/** The reductions of a state sequence to what the brief names: established → degraded → … → established. */
function afterDegraded(transitions: Transition[]): SessionState[] {
  const at = transitions.findIndex((t) => t.from === 'established' && t.to === 'degraded');
  return at < 0 ? [] : transitions.slice(at).map((t) => t.to);
}

/** The scenario's claims, as jest expectations. */
export function checkScenario(r: ScenarioResult, opts: { relayImpairs: boolean }): void {
  for (const [from, to] of [
    [r.a, r.b],
    [r.b, r.a],
  ]) {
    expect(from.errors).toEqual([]);
    expect(from.sent).toBeGreaterThan(0);
    expect(to.received).toMatchObject({ delivered: from.sent, duplicated: 0, outOfOrder: 0, corrupt: 0, highest: from.sent - 1 });
  }
  for (const side of [r.a, r.b]) {
    expect(illegalMoves(side.transitions)).toEqual([]);
    // established → degraded → established (short partition), then → degraded → suspended → … → established.
    const tail = afterDegraded(side.transitions);
    expect(tail[0]).toBe('degraded');
    const suspended = tail.indexOf('suspended');
    expect(tail.slice(0, suspended)).toContain('established');
    expect(suspended).toBeGreaterThan(0);
    expect(tail.slice(suspended)).toContain('established');
    expect(side.state).toBe('established');
    expect(side.transport).toBe(side.linkTransport);
    expect(side.transitions.filter((t) => t.to === 'rotating').length).toBeGreaterThanOrEqual(r.rotations);
  }
  // From suspended the dialling side retries with new handshakes; one timed out in the partition.
  const afterSuspended = r.a.transitions.slice(r.a.transitions.findIndex((t) => t.to === 'suspended'));
  expect(afterSuspended[1]).toMatchObject({ from: 'suspended', to: 'handshake_initiated' });
  expect(afterSuspended).toContainEqual(expect.objectContaining({ from: 'handshake_initiated', to: 'failed', reason: 'timeout' }));
  expect(r.a.transitions.slice(0, 2).map((t) => t.to)).toEqual(['handshake_initiated', 'established']);
  expect(r.b.transitions.slice(0, 2).map((t) => t.to)).toEqual(['handshake_received', 'established']);
  // The UDP block is invisible to the caller: the first move over μTCP is the partition's degrade.
  for (const side of [r.a, r.b]) {
    const first = side.transitions.find((t) => t.transport === 'tcp');
    expect(first && `${first.from}→${first.to}`).toBe('established→degraded');
  }
  expect(r.a.fallbacks).toBeGreaterThanOrEqual(1);
  expect(r.a.tcpFallbacks).toBeGreaterThanOrEqual(1);
  const udp = r.relay.udp;
  expect(udp.a2b.droppedByBlock + udp.b2a.droppedByBlock).toBeGreaterThan(0);
  expect(r.relay.tcp.a2b.bytes).toBeGreaterThan(0);
  expect(r.relay.tcp.b2a.bytes).toBeGreaterThan(0);
  if (opts.relayImpairs) {
    const c = r.chaosPhase;
    expect(c.a2b.droppedByLoss + c.b2a.droppedByLoss).toBeGreaterThan(0);
    expect(c.a2b.duplicated + c.b2a.duplicated).toBeGreaterThan(0);
    expect(c.a2b.reordered + c.b2a.reordered).toBeGreaterThan(0);
  }
}
