// What the numbers came from: CPU, cores, Node, kernel, load, and CPU steal over the run (from
// /proc/stat when present), so a reader can tell an idle machine from a busy or oversold one.
'use strict';
const fs = require('node:fs');
const os = require('node:os');

/** Aggregate CPU ticks from /proc/stat's first line, or null off Linux. */
function cpuTicks() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...
    return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), idle: f[3] + f[4], steal: f[7] ?? 0 };
  } catch {
    return null;
  }
}

function describe() {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    totalMemoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadAverageAtStart: os.loadavg().map((x) => +x.toFixed(2)),
  };
}

/** Starts a steal/busy meter; `stop()` returns percentages over the interval. */
function meter() {
  const a = cpuTicks();
  return () => {
    const z = cpuTicks();
    if (!a || !z || z.total === a.total) return { stealPercent: null, busyPercent: null };
    const total = z.total - a.total;
    return {
      stealPercent: +((100 * (z.steal - a.steal)) / total).toFixed(2),
      busyPercent: +((100 * (total - (z.idle - a.idle))) / total).toFixed(1),
      loadAverageAtEnd: os.loadavg().map((x) => +x.toFixed(2)),
    };
  };
}

module.exports = { describe, meter };
