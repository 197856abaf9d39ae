#!/usr/bin/env node
// The benchmark suite (issue 5). Usage:
//   node bench/index.js [--quick] [--json PATH] [--section aead|handshake|transport|scale]... [--out DIR]
// A run of every section writes bench/results/{results.json,results.md,chart.svg}; a run of some
// sections writes them only with --out DIR (so a partial run never replaces the committed full one).
// --json PATH always writes the machine-readable results. Progress goes to stderr, the report to stdout.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Progress, checks, TINY } = require('./lib/harness');
const machine = require('./lib/machine');
const report = require('./lib/report');

const SECTIONS = {
  aead: require('./aead'),
  handshake: require('./handshake'),
  transport: require('./transport'),
  scale: require('./scale'),
};

function parseArgs(argv) {
  const o = { quick: false, json: undefined, out: undefined, sections: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = value();
    else if (a === '--out') o.out = value();
    else if (a === '--section') o.sections.push(...value().split(','));
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const s of o.sections) if (!SECTIONS[s]) throw new Error(`unknown section ${s}; one of ${Object.keys(SECTIONS).join(', ')}`);
  if (o.sections.length === 0) o.sections = Object.keys(SECTIONS);
  return o;
}

/** Rounds per section: the AEAD rounds are short, so it affords more of them. */
function rounds(section, quick) {
  if (TINY) return 1;
  if (section === 'aead') return quick ? 5 : 15;
  return quick ? 3 : 7;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write('node bench/index.js [--quick] [--json PATH] [--section aead|handshake|transport|scale]... [--out DIR]\n');
    return;
  }
  const progress = new Progress();
  const opts = (s) => ({ quick: args.quick, rounds: rounds(s, args.quick) });
  for (const s of args.sections) progress.add(SECTIONS[s].plan(opts(s)).steps);
  const results = { version: 1, date: new Date().toISOString(), quick: args.quick, sections: args.sections, machine: machine.describe(), notes: [] };
  const stop = machine.meter();
  for (const s of args.sections) {
    const t0 = Date.now();
    results[s] = await SECTIONS[s].run(opts(s), progress);
    results[s].seconds = (Date.now() - t0) / 1000;
  }
  progress.finish();
  Object.assign(results.machine, stop());
  results.checks = checks.passed;
  results.targets = report.targets(results);
  if (results.machine.stealPercent > 5 || results.machine.busyPercent > 80) {
    results.notes.push(`The machine was busy during this run (${results.machine.busyPercent}% of all CPUs, ${results.machine.stealPercent}% steal): absolute figures are low and noisy; only same-run ratios compare.`);
  }
  for (const run of results.scale?.runs ?? []) {
    if (run.sessions < 10000) results.notes.push(`Scale over ${run.transport} ran ${run.sessions} sessions${run.transport === 'tcp' && !args.quick ? ' (one file descriptor per μTCP session on each side; capped by the open-file limit)' : ''}; the target is stated for 10,000.`);
  }
  if (results.scale || results.transport || results.handshake) {
    results.notes.push('Every initiator connects from 127.0.0.1, so the bench nodes lift the per-source admission limits (rate, burst, pending per source) and raise maxSessions; node-wide limits keep their defaults.');
  }
  if (results.transport) {
    results.notes.push('@chainsafe/libp2p-quic runs as version 1.1.8 inside libp2p 2 (the 2.x line needs libp2p 3 and Node ≥ 22; with Node 20 it fails to listen), one stream per connection, no extra encrypter or muxer (QUIC provides both).');
  }

  const md = report.markdown(results);
  process.stdout.write(`${md}\n`);
  if (args.json) fs.writeFileSync(args.json, `${JSON.stringify(results, null, 2)}\n`);
  const all = Object.keys(SECTIONS).every((s) => args.sections.includes(s));
  const outDir = args.out ?? (all ? path.join(__dirname, 'results') : undefined);
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
    fs.writeFileSync(path.join(outDir, 'results.md'), md);
    fs.writeFileSync(path.join(outDir, 'chart.svg'), report.svg(results));
    process.stderr.write(`[bench] wrote ${path.relative(process.cwd(), outDir) || '.'}/{results.json,results.md,chart.svg}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`\n${err.stack ?? err}\n`);
  process.exit(1);
});
