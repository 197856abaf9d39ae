// Section 4: scale. N idle sessions between this process (initiators) and a child (responders),
// over QUIC and then over μTCP. QUIC connections share one UDP socket; a μTCP session holds one
// file descriptor on each side, so the μTCP run is capped to fit the process's open-file limit. Measured: handshake rate with many concurrent initiators, memory per idle established session
// on each side (RSS and external memory after GC, delta over N), and CPU per heartbeat message
// (process CPU time over an idle interval ÷ heartbeat probes and answers the links sent).
'use strict';
const fs = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');
const { Node, Identity } = require('..');
const { check, now, secondsSince, TINY } = require('./lib/harness');
const { startPeer, BENCH_LIMITS } = require('./lib/peer-client');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// Heartbeats every 10 s (default 30 s) so the idle window below sees every session's probe, while the
// heartbeat load during the establishing burst stays moderate; a generous handshake timeout because a
// busy shared machine must slow the burst, not fail it.
const CONFIG = { heartbeatInterval: '10s', heartbeatTimeout: '2s', handshakeTimeout: '30s' };
const CONCURRENCY = 64;

function budget(opts) {
  return {
    sessions: opts.sessions ?? (TINY ? 20 : opts.quick ? 1000 : 10000),
    // Longer than the heartbeat interval: every idle session sends at least one probe in the window.
    idleMs: opts.quick ? 11000 : 15000,
  };
}

function measureSelf(sessions) {
  for (let k = 0; k < 3; k++) gc();
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  let messagesSent = 0;
  for (const s of sessions) messagesSent += s.link?.stats().messagesSent ?? 0;
  return { rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers, cpuMicros: cpu.user + cpu.system, messagesSent };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The soft open-file limit of this process (children inherit it), or Infinity when unknown. */
function openFileLimit() {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : Infinity;
  } catch {
    return Infinity;
  }
}

// One descriptor per μTCP session on each side, plus headroom for the node's own sockets, pipes and libraries.
const tcpSessionCap = () => openFileLimit() - 1000;

const TRANSPORTS = ['quic', 'tcp'];

function plan() {
  return { steps: 4 * TRANSPORTS.length };
}

function perSession(before, after, n) {
  return {
    rssBytes: (after.rss - before.rss) / n,
    heapBytes: (after.heapUsed - before.heapUsed) / n,
    externalBytes: (after.external - before.external) / n,
  };
}

async function run(opts, progress) {
  const b = budget(opts);
  const runs = [];
  for (const kind of TRANSPORTS) {
    const n = kind === 'tcp' ? Math.min(b.sessions, tcpSessionCap()) : b.sessions;
    runs.push(await runOne(kind, { ...b, sessions: n }, progress));
  }
  return { runs };
}

async function runOne(kind, b, progress) {
  progress.phase(`scale ${kind}: ${b.sessions} sessions`);
  const peer = await startPeer({ role: 'scale', sessionConfig: CONFIG });
  const node = await Node.listen({ identity: Identity.generate(), config: CONFIG, limits: BENCH_LIMITS });
  const sessions = [];
  const to = { transport: kind, addresses: { [kind]: peer.info[kind] } };
  try {
    // Warm up (code paths, pools) before the baseline so they do not count against sessions.
    const warm = await Promise.all(Array.from({ length: 8 }, () => node.establish(peer.info.did, to)));
    await Promise.all(warm.map((s) => s.close()));
    await sleep(200);
    const base = { ours: measureSelf([]), peer: await peer.measure({ gc: true }) };
    progress.tick();

    progress.phase(`scale ${kind}: establishing ${b.sessions} sessions, ${CONCURRENCY} in flight`);
    const t0 = now();
    let next = 0;
    // Seconds at which each tenth of the sessions was up: shows whether the rate holds as sessions pile up.
    const tenths = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < b.sessions) {
          next++;
          sessions.push(await node.establish(peer.info.did, to));
          if (sessions.length % Math.ceil(b.sessions / 10) === 0) tenths.push(secondsSince(t0));
        }
      }),
    );
    const establishSecs = secondsSince(t0);
    const step = Math.ceil(b.sessions / 10);
    const tenthRates = tenths.map((t, i) => step / (t - (i ? tenths[i - 1] : 0)));
    check(sessions.length === b.sessions && sessions.every((s) => s.state === 'established'), 'scale: every session established');
    let peerNow = await peer.measure({ gc: false });
    for (let k = 0; peerNow.sessions < b.sessions && k < 100; k++) {
      await sleep(100);
      peerNow = await peer.measure({ gc: false });
    }
    check(peerNow.sessions === b.sessions, 'scale: the responder holds every session');
    progress.tick();

    progress.phase(`scale ${kind}: memory of idle sessions`);
    await sleep(500);
    const ours = measureSelf(sessions);
    const theirs = await peer.measure({ gc: true, links: true });
    progress.tick();

    progress.phase(`scale ${kind}: CPU per heartbeat`);
    const endOurs = await (async () => {
      await sleep(b.idleMs);
      return measureSelf(sessions);
    })();
    const endTheirs = await peer.measure({ gc: false, links: true });
    check(sessions.every((s) => s.state === 'established'), 'scale: sessions stay established while idle');
    const heartbeat = (a, z) => {
      const messages = z.messagesSent - a.messagesSent;
      return { messages, cpuMicros: z.cpuMicros - a.cpuMicros, cpuMicrosPerMessage: messages > 0 ? (z.cpuMicros - a.cpuMicros) / messages : null };
    };
    const hbOurs = heartbeat(ours, endOurs);
    const hbPeer = heartbeat(theirs, endTheirs);
    check(hbOurs.messages + hbPeer.messages > 0, 'scale: heartbeats flowed while idle');
    progress.tick();
    return {
      sessions: b.sessions,
      transport: kind,
      config: CONFIG,
      concurrency: CONCURRENCY,
      handshakesPerSecond: b.sessions / establishSecs,
      handshakesPerSecondByTenth: tenthRates,
      responderDrops: Object.fromEntries(Object.entries(theirs.transport.dropped).filter(([, v]) => v > 0)),
      memoryPerSession: { initiator: perSession(base.ours, ours, b.sessions), responder: perSession(base.peer, theirs, b.sessions) },
      heartbeat: {
        intervalMs: b.idleMs,
        initiator: hbOurs,
        responder: hbPeer,
        cpuMicrosPerMessage: (hbOurs.cpuMicros + hbPeer.cpuMicros) / (hbOurs.messages + hbPeer.messages),
      },
    };
  } finally {
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
    await node.close();
    await peer.stop();
  }
}

module.exports = { plan, run };
