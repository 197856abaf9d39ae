#!/usr/bin/env node
/**
 * The chaos relay as a process, for when it runs in its own network namespace:
 *   node tools/chaos/relay-cli.js --host 10.200.2.1 --udp-target 10.200.2.2:4433 --tcp-target 10.200.2.2:4434
 *        [--upstream-host IP] [--udp-port N] [--tcp-port N] [--seed N]
 * Prints {"event":"ready","data":{"udp":"ip:port","tcp":"ip:port","seed":N}}, then takes JSON-line
 * commands on stdin (tools/chaos/rpc.js): set {impairments}, clear, stats, impairments.
 * It exits when stdin closes.
 */
'use strict';
const { ChaosRelay } = require('./relay');
const { serve } = require('./rpc');

const FLAGS = { '--host': 'host', '--upstream-host': 'upstreamHost', '--udp-target': 'udpTarget', '--tcp-target': 'tcpTarget', '--udp-port': 'udpPort', '--tcp-port': 'tcpPort', '--seed': 'seed' };
const NUMERIC = new Set(['udpPort', 'tcpPort', 'seed']);

function parseArgs(argv) {
  const out = {};
  for (let k = 0; k < argv.length; k += 2) {
    const key = FLAGS[argv[k]];
    if (!key || argv[k + 1] === undefined) throw new Error(`usage: relay-cli.js ${Object.keys(FLAGS).map((f) => `[${f} VALUE]`).join(' ')} (bad argument ${argv[k]})`);
    out[key] = NUMERIC.has(key) ? Number(argv[k + 1]) : argv[k + 1];
  }
  return out;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const relay = await ChaosRelay.start({
    host: a.host,
    upstreamHost: a.upstreamHost,
    seed: a.seed,
    udp: a.udpTarget && { port: a.udpPort, target: a.udpTarget },
    tcp: a.tcpTarget && { port: a.tcpPort, target: a.tcpTarget },
  });
  const emit = serve({
    set: (changes) => relay.set(changes),
    clear: () => relay.clear(),
    stats: () => relay.stats(),
    impairments: () => relay.impairments,
  });
  emit('ready', { ...relay.addresses, seed: relay.seed });
}

main().catch((err) => {
  process.stderr.write(`chaos relay: ${err.message}\n`);
  process.exit(2);
});
