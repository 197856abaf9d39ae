// The far end of the loopback benchmarks, run as a child process so client and server are separate
// processes (and can be pinned to separate CPUs). Role `serve`: an l2 Node plus Node TLS 1.3
// (ChaCha20, AES-GCM) and plain TCP servers, all speaking the job protocol of lib/jobs.js. Role
// `scale`: an l2 Node that accepts sessions and keeps them idle, reporting its memory and CPU.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const tls = require('node:tls');
const v8 = require('node:v8');
const vm = require('node:vm');
const { execFileSync } = require('node:child_process');
const { Node, Identity } = require('..');
const { serveSession, serveStream } = require('./lib/jobs');
const { BENCH_LIMITS } = require('./lib/peer-client');
const libp2p = require('./lib/libp2p');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

const role = process.argv[2];

function selfSignedCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'l2-bench-'));
  try {
    // ECDSA P-256: the usual certificate of a TLS 1.3 server today.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

async function main() {
  const config = process.env.L2_BENCH_SESSION_CONFIG ? JSON.parse(process.env.L2_BENCH_SESSION_CONFIG) : undefined;
  const node = await Node.listen({ identity: Identity.generate(), config, limits: BENCH_LIMITS });
  const sessions = new Set();
  node.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
    if (role === 'serve') serveSession(s);
  });
  const info = { did: node.did, quic: node.addresses.quic, tcp: node.addresses.tcp, pid: process.pid };
  const servers = [];
  if (role === 'serve') {
    const { key, cert } = selfSignedCert();
    // Node takes TLS 1.3 suites in `ciphers`; one suite each, so the client cannot pick another.
    const tlsServer = (ciphers) => tls.createServer({ key, cert, minVersion: 'TLSv1.3', ciphers }, (sock) => serveStream(sock));
    const chacha = tlsServer('TLS_CHACHA20_POLY1305_SHA256');
    const aes = tlsServer('TLS_AES_128_GCM_SHA256');
    const tcp = net.createServer((sock) => serveStream(sock));
    for (const s of [chacha, aes, tcp]) servers.push(s);
    Object.assign(info, { cert, certKind: 'ECDSA P-256 self-signed', tlsChacha: await listen(chacha), tlsAes: await listen(aes), plainTcp: await listen(tcp) });
    const quic = await libp2p.listen(serveStream);
    servers.push({ close: quic.stop });
    info.libp2pQuic = quic.addr;
  }
  process.on('message', async (m) => {
    if (m.type === 'measure') {
      if (m.gc) for (let k = 0; k < 3; k++) gc();
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      let messagesSent = 0;
      if (m.links) for (const s of sessions) messagesSent += s.link?.stats().messagesSent ?? 0;
      process.send({ type: 'measured', id: m.id, rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers, cpuMicros: cpu.user + cpu.system, sessions: sessions.size, messagesSent, transport: node.transport.stats() });
    } else if (m.type === 'stop') {
      for (const s of servers) await s.close();
      await node.close();
      process.exit(0);
    }
  });
  // Never outlive the benchmark that started us.
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', info });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
