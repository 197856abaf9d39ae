// Starts bench/peer.js as a child process (optionally pinned to one CPU with taskset) and talks
// to it over the IPC channel.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const PEER = path.join(__dirname, '..', 'peer.js');

/**
 * Node limits of every bench node. All initiators come from 127.0.0.1, where a relay would see many
 * sources, so the per-source admission limits are lifted and the session cap raised to the scale run;
 * node-wide pending-handshake limits stay at their defaults.
 */
const BENCH_LIMITS = { maxSessions: 1 << 20, handshakeRatePerSource: 1 << 20, handshakeBurstPerSource: 1 << 20, maxPendingHandshakesPerSource: 1 << 20 };

function startPeer({ role, cpu, sessionConfig }) {
  const nodeArgs = [PEER, role];
  const [cmd, args] = cpu === undefined ? [process.execPath, nodeArgs] : ['taskset', ['-c', String(cpu), process.execPath, ...nodeArgs]];
  const env = { ...process.env };
  if (sessionConfig) env.L2_BENCH_SESSION_CONFIG = JSON.stringify(sessionConfig);
  const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  let nextId = 0;
  const waiting = new Map();
  return new Promise((resolve, reject) => {
    const fail = (why) => reject(new Error(`bench peer (${role}) ${why}`));
    child.once('error', (err) => fail(err.message));
    child.once('exit', (code) => {
      fail(`exited with ${code}`);
      for (const w of waiting.values()) w.reject(new Error(`bench peer exited with ${code}`));
    });
    child.on('message', (m) => {
      if (m.type === 'ready') {
        resolve({
          info: m.info,
          measure: (opts = {}) =>
            new Promise((res, rej) => {
              const id = nextId++;
              waiting.set(id, { resolve: res, reject: rej });
              child.send({ type: 'measure', id, ...opts });
            }),
          stop: () =>
            new Promise((res) => {
              child.removeAllListeners('exit');
              child.once('exit', () => res());
              child.send({ type: 'stop' });
            }),
        });
      } else if (m.type === 'measured') {
        waiting.get(m.id).resolve(m);
        waiting.delete(m.id);
      }
    });
  });
}

module.exports = { startPeer, BENCH_LIMITS };
