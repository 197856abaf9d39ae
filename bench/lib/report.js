// Turns one run's results into the targets of issue 5, a Markdown report and an SVG chart.
'use strict';

const fmt = (x, digits = 0) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const ops = (x) => (x >= 1e6 ? `${fmt(x / 1e6, 2)} M/s` : x >= 1e3 ? `${fmt(x / 1e3, 1)} k/s` : `${fmt(x, 0)}/s`);
const ratio = (x) => (x === null || x === undefined || Number.isNaN(x) ? '–' : `×${fmt(x, 2)}`);
const sizeName = (n) => (n >= 1024 ? `${n / 1024} KiB` : `${n} B`);

/** The fastest of our AEAD variants at `size`. */
function bestOurs(aead, size) {
  return aead.rows.filter((r) => r.size === size && r.id.startsWith('l2-')).sort((a, b) => b.opsPerSecond - a.opsPerSecond)[0];
}

/** Bulk figures are compared at the largest message size measured. */
function bulkAt(placement) {
  const size = Math.max(...placement.bulk.map((r) => r.size));
  const get = (id) => placement.bulk.find((r) => r.size === size && r.id === id);
  return { size, get };
}

/** Every issue-5 target this run can judge: { target, measured, ratio, goal, met }. */
function targets(r) {
  const out = [];
  const add = (target, measured, value, goal, higherIsBetter = true) =>
    out.push({ target, measured, value, goal, status: value === null || value === undefined || Number.isNaN(value) ? 'NOT MEASURED' : (higherIsBetter ? value >= goal : value <= goal) ? 'MET' : 'MISSED' });
  if (r.aead) {
    const a = r.aead;
    const at = (size, id) => a.rows.find((x) => x.size === size && x.id === id);
    if (a.sizes.includes(16384)) {
      const b = bestOurs(a, 16384);
      add('AEAD 16 KiB seal+open ≥ 2.0× Node crypto', `${b.name}: ${fmt(b.mbPerSecond)} MB/s vs ${fmt(at(16384, 'node').mbPerSecond)} MB/s`, b.ratio.node, 2.0);
      add('AEAD 16 KiB seal+open ≥ 0.85× openssl speed ceiling (½ one-direction rate)', a.openssl ? `${fmt(b.mbPerSecond)} MB/s vs ${fmt(a.openssl.find((o) => o.size === 16384).sealOpenMBps)} MB/s` : 'openssl absent', b.ratio.openssl ?? null, 0.85);
    }
    if (a.sizes.includes(64)) {
      const b = at(64, 'l2-packed');
      add('AEAD 64 B batched ≥ 2,000,000 seal+open/s', `${ops(b.opsPerSecond)}`, b.opsPerSecond / 2e6, 1);
      add('AEAD 64 B batched ≥ 30× Node crypto', `${ops(b.opsPerSecond)} vs ${ops(at(64, 'node').opsPerSecond)}`, b.ratio.node, 30);
      add('AEAD 64 B batched ≥ 4× sodium-native', `${ops(b.opsPerSecond)} vs ${ops(at(64, 'sodium').opsPerSecond)}`, b.ratio.sodium, 4);
    }
  }
  if (r.handshake) {
    const c = r.handshake.cryptoOnly;
    add('Handshakes, crypto only, one thread ≥ 5× fastest JS-assembled hybrid', `${fmt(c.l2PerSecond)}/s vs ${fmt(c.jsPerSecond)}/s (${c.jsKem})`, c.ratio, 5);
    const l = r.handshake.loopback;
    add('Handshakes over loopback μTCP, new connection each, 1 in flight ≥ 3× Node TLS 1.3', `${fmt(l.l2Tcp1)}/s vs ${fmt(l.tls1)}/s`, l.ratio1, 3);
  }
  if (r.transport) {
    for (const p of r.transport.placements) {
      const { size, get } = bulkAt(p);
      const tag = `${p.placement}, ${sizeName(size)} messages`;
      add(`Bulk μTCP ≥ 1.5× Node TLS 1.3 ChaCha20 (${tag})`, `${fmt(get('l2-tcp').mbPerSecond)} vs ${fmt(get('tls-chacha').mbPerSecond)} MB/s`, get('l2-tcp').ratio.tlsChacha, 1.5);
      add(`Bulk QUIC ≥ 0.8× Node TLS 1.3 ChaCha20 (${tag})`, `${fmt(get('l2-quic').mbPerSecond)} vs ${fmt(get('tls-chacha').mbPerSecond)} MB/s`, get('l2-quic').ratio.tlsChacha, 0.8);
      add(`Bulk QUIC ≥ 10× @chainsafe/libp2p-quic (${tag})`, `${fmt(get('l2-quic').mbPerSecond)} vs ${fmt(get('libp2p-quic').mbPerSecond)} MB/s`, get('l2-quic').ratio.libp2pQuic, 10);
      const rtt = (id) => p.rtt.find((x) => x.id === id);
      for (const id of ['l2-tcp', 'l2-quic']) {
        add(`64 B RTT p50 ${id === 'l2-tcp' ? 'μTCP' : 'QUIC'} ≤ 1.2× Node TLS (${p.placement})`, `${fmt(rtt(id).p50us)} µs vs ${fmt(rtt('tls-chacha').p50us)} µs`, rtt(id).p50RatioVsTlsChacha, 1.2, false);
      }
    }
  }
  if (r.scale) {
    for (const s of r.scale.runs) {
      const worst = Math.max(s.memoryPerSession.initiator.rssBytes, s.memoryPerSession.responder.rssBytes);
      add(`${fmt(s.sessions)} idle sessions over ${s.transport === 'quic' ? 'QUIC' : 'μTCP'} ≤ 16 KiB each (RSS, worse side)`, `${fmt(worst / 1024, 1)} KiB`, worst / 1024, 16, false);
    }
  }
  return out;
}

function markdown(r) {
  const L = [];
  const m = r.machine;
  L.push(`# l2-session benchmark results`, '');
  L.push(`Run ${r.date}${r.quick ? ' (--quick)' : ''}: ${m.cpuModel}, ${m.cores} CPUs, ${m.totalMemoryGiB} GiB, Node ${m.node}, ${m.platform}.`);
  L.push(`Load average at start ${m.loadAverageAtStart.join(' / ')}; over the run the machine was ${fmt(m.busyPercent, 1)}% busy (all processes) with ${fmt(m.stealPercent, 2)}% CPU steal.`);
  L.push('', 'Ours and the baselines ran in alternating rounds in this one process; figures are medians of the rounds, ratios are ours ÷ baseline from this run only.', '');
  const t = targets(r);
  if (t.length) {
    L.push('## Targets (issue 5)', '', '| target | measured | value | goal | status |', '|---|---|---|---|---|');
    for (const x of t) L.push(`| ${x.target} | ${x.measured} | ${x.value === null || x.value === undefined ? '–' : fmt(x.value, 2)} | ${x.goal} | **${x.status}** |`);
    L.push('');
  }
  if (r.aead) {
    const a = r.aead;
    L.push('## 1. AEAD seal+open (ChaCha20-Poly1305)', '');
    L.push('| size | implementation | seal+open/s | MB/s | ÷ node | ÷ sodium | ÷ openssl ceiling |', '|---|---|---|---|---|---|---|');
    for (const x of a.rows) L.push(`| ${sizeName(x.size)} | ${x.name} | ${ops(x.opsPerSecond)} | ${fmt(x.mbPerSecond)} | ${ratio(x.ratio.node)} | ${ratio(x.ratio.sodium)} | ${ratio(x.ratio.openssl)} |`);
    if (a.openssl) for (const o of a.openssl) L.push(`| ${sizeName(o.size)} | openssl speed (ceiling, ½ of ${fmt(o.oneDirectionMBps)} MB/s one way) | | ${fmt(o.sealOpenMBps)} | | | |`);
    else L.push('', `openssl ceiling: ${a.opensslNote}.`);
    L.push('');
  }
  if (r.handshake) {
    const c = r.handshake.cryptoOnly;
    const l = r.handshake.loopback;
    L.push('## 2. Handshakes', '');
    L.push('| | ours | baseline | ratio |', '|---|---|---|---|');
    L.push(`| crypto only, both sides in one thread | ${fmt(c.l2PerSecond)}/s | ${fmt(c.jsPerSecond)}/s JS-assembled (Node X25519/Ed25519/SHA3/HKDF + ${c.jsKem}) | ${ratio(c.ratio)} |`);
    L.push(`| loopback, new connection each, 1 in flight | ${fmt(l.l2Tcp1)}/s (μTCP establish) | ${fmt(l.tls1)}/s Node TLS 1.3 (${l.tlsCert}) | ${ratio(l.ratio1)} |`);
    L.push(`| loopback, new connection each, 16 in flight | ${fmt(l.l2Tcp16)}/s | ${fmt(l.tls16)}/s | ${ratio(l.ratio16)} |`);
    L.push('', `ML-KEM-768 candidates (keygen+encaps+decaps per second): ${c.kemCandidates.map((k) => `${k.name} ${k.error ? `unusable: ${k.error}` : fmt(k.kemRoundTripsPerSecond)}`).join('; ')}; the fastest was used.`, '');
  }
  if (r.transport) {
    L.push('## 3. One session over loopback (server in a child process)', '');
    for (const p of r.transport.placements) {
      L.push(`### ${p.placement === 'pinned' ? 'Client on CPU 0, server on CPU 1 (taskset)' : 'Unpinned'}`, '');
      L.push('| message size | implementation | MB/s | ÷ TLS ChaCha20 | ÷ plain TCP | ÷ libp2p-quic |', '|---|---|---|---|---|---|');
      for (const x of p.bulk) L.push(`| ${sizeName(x.size)} | ${x.name} | ${fmt(x.mbPerSecond)} | ${ratio(x.ratio.tlsChacha)} | ${ratio(x.ratio.tcp)} | ${ratio(x.ratio.libp2pQuic)} |`);
      L.push('', '| 64 B round trip | p50 µs | p99 µs | p50 ÷ TLS ChaCha20 | samples |', '|---|---|---|---|---|');
      for (const x of p.rtt) L.push(`| ${x.name} | ${fmt(x.p50us)} | ${fmt(x.p99us)} | ${ratio(x.p50RatioVsTlsChacha)} | ${x.count} |`);
      L.push('');
    }
  }
  if (r.scale) {
    L.push('## 4. Scale: idle sessions (responder in a child process)', '');
    for (const s of r.scale.runs) {
      const row = (name, x) => `| ${name} | ${fmt(x.rssBytes / 1024, 1)} KiB | ${fmt(x.heapBytes / 1024, 1)} KiB | ${fmt(x.externalBytes / 1024, 2)} KiB |`;
      L.push(`### ${fmt(s.sessions)} sessions over ${s.transport === 'quic' ? 'QUIC' : 'μTCP'}`, '');
      L.push(`Handshake rate with ${s.concurrency} concurrent initiators: **${fmt(s.handshakesPerSecond)}/s** overall; by tenth of the sessions: ${s.handshakesPerSecondByTenth.map((x) => fmt(x)).join(', ')}/s. Refused or failed at the responder: ${JSON.stringify(s.responderDrops)}.`, '');
      L.push('| memory per idle session (after GC, delta ÷ sessions) | RSS | JS heap | external |', '|---|---|---|---|');
      L.push(row('initiator process', s.memoryPerSession.initiator), row('responder process', s.memoryPerSession.responder), '');
      const h = s.heartbeat;
      L.push(`CPU per heartbeat message (probe or answer; heartbeat every ${s.config.heartbeatInterval}, ${fmt(h.intervalMs / 1000, 0)} s idle): initiator ${fmt(h.initiator.cpuMicrosPerMessage)} µs over ${fmt(h.initiator.messages)} messages, responder ${fmt(h.responder.cpuMicrosPerMessage)} µs over ${fmt(h.responder.messages)}; together **${fmt(h.cpuMicrosPerMessage)} µs** of process CPU per message.`, '');
    }
  }
  L.push(`Self-checks passed during the run: ${fmt(r.checks)} (opened bytes, echoed payloads, bulk hashes, handshake keys).`, '');
  if (r.notes.length) L.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return L.join('\n');
}

// Chart: MB/s against message size, one line per implementation, log scales; a panel for the AEAD
// and one per transport placement.
const COLORS = { ours: ['#d62728', '#ff7f0e', '#e377c2'], base: ['#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#bcbd22'], ceiling: '#555' };
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(x0, y0, w, h, title, series) {
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) return '';
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  const lo = Math.floor(Math.log10(Math.min(...pts.map((p) => p.y)))), hi = Math.ceil(Math.log10(Math.max(...pts.map((p) => p.y))));
  const top = hi === lo ? hi + 1 : hi;
  const left = 60, right = 24, titleH = 24, bottom = 40, legendH = 16 * series.length + 8;
  const pw = w - left - right, ph = h - titleH - bottom - legendH;
  const px = (x) => x0 + left + (xs.length === 1 ? pw / 2 : (pw * Math.log(x / xs[0])) / Math.log(xs[xs.length - 1] / xs[0]));
  const py = (y) => y0 + titleH + ph - (ph * (Math.log10(y) - lo)) / (top - lo);
  const o = [`<text x="${x0 + w / 2}" y="${y0 + 16}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  o.push(`<rect x="${x0 + left}" y="${y0 + titleH}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  for (let e = lo; e <= top; e++) {
    const y = py(10 ** e);
    o.push(`<line x1="${x0 + left}" x2="${x0 + left + pw}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${x0 + left - 6}" y="${y + 4}" text-anchor="end" font-size="11">${10 ** e >= 1000 ? `${10 ** (e - 3)}k` : 10 ** e}</text>`);
  }
  for (const x of xs) o.push(`<text x="${px(x)}" y="${y0 + titleH + ph + 16}" text-anchor="middle" font-size="11">${sizeName(x)}</text>`);
  o.push(`<text x="${x0 + left + pw / 2}" y="${y0 + titleH + ph + 32}" text-anchor="middle" font-size="11">message size</text>`);
  o.push(`<text transform="translate(${x0 + 14},${y0 + titleH + ph / 2}) rotate(-90)" text-anchor="middle" font-size="11">MB/s (log)</text>`);
  series.forEach((s, i) => {
    const path = s.points.sort((a, b) => a.x - b.x).map((p, k) => `${k ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    o.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="${s.ours ? 2.5 : 1.5}"${s.dash ? ' stroke-dasharray="5,4"' : ''}/>`);
    for (const p of s.points) o.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = y0 + titleH + ph + bottom + 12 + 16 * i;
    o.push(`<line x1="${x0 + left}" x2="${x0 + left + 20}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2.5"${s.dash ? ' stroke-dasharray="5,4"' : ''}/><text x="${x0 + left + 26}" y="${ly}" font-size="11">${esc(s.name)}</text>`);
  });
  return o.join('\n');
}

function seriesFrom(rows, idKey, nameOf) {
  const byId = new Map();
  for (const r of rows) {
    if (!byId.has(r[idKey])) byId.set(r[idKey], { id: r[idKey], name: nameOf(r), points: [] });
    byId.get(r[idKey]).points.push({ x: r.size, y: r.mbPerSecond });
  }
  let o = 0, b = 0;
  return [...byId.values()].map((s) => {
    const ours = s.id.startsWith('l2-');
    return { ...s, ours, color: ours ? COLORS.ours[o++ % 3] : COLORS.base[b++ % 6] };
  });
}

function svg(r) {
  const panels = [];
  if (r.aead) {
    const s = seriesFrom(r.aead.rows, 'id', (x) => x.name.replace(/ \(\d+\/call\)/, ' (batch)'));
    if (r.aead.openssl) s.push({ name: 'openssl speed ceiling (½ one-way)', color: COLORS.ceiling, dash: true, points: r.aead.openssl.map((o) => ({ x: o.size, y: o.sealOpenMBps })) });
    panels.push(['AEAD seal+open, one thread', s]);
  }
  if (r.transport) for (const p of r.transport.placements) panels.push([`One session over loopback (${p.placement})`, seriesFrom(p.bulk, 'id', (x) => x.name)]);
  const w = 460, h = 470;
  const body = panels.map(([title, s], i) => panel(i * w, 30, w, h - 30, title, s)).join('\n');
  const m = r.machine;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.max(1, panels.length) * w}" height="${h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="18" font-size="12">${esc(`l2-session bench ${r.date.slice(0, 10)}${r.quick ? ' (quick)' : ''} — ${m.cpuModel}, ${m.cores} CPUs, Node ${m.node}; throughput vs message size (medians, same run)`)}</text>
${body}
</svg>
`;
}

module.exports = { targets, markdown, svg };
