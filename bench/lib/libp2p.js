// @chainsafe/libp2p-quic (napi-rs over quinn, like ours) driven through a minimal libp2p node: QUIC
// brings its own TLS and stream multiplexing, so no encrypter or muxer is configured. Its streams
// (it-stream-types duplexes) are adapted to the small socket surface the job protocol uses
// (write/drain, data, end/close), so the same client and server code drives every contender.
'use strict';
const { EventEmitter } = require('node:events');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

// Installed on first use into bench/.deps, outside the package's lockfile:
// @chainsafe/libp2p-quic 1.1.8 lists platform packages that were never published, and `npm ci`
// refuses a lockfile without them. Versions pinned: the 2.x line needs Node ≥ 22 and libp2p 3.
const DEPS = path.join(__dirname, '..', '.deps');
const PACKAGES = ['libp2p@2.10.0', '@chainsafe/libp2p-quic@1.1.8', '@multiformats/multiaddr@12.5.1'];
let modules;

function load() {
  modules ??= (async () => {
    const entry = path.join(DEPS, 'entry.mjs');
    if (!fs.existsSync(entry)) {
      fs.mkdirSync(DEPS, { recursive: true });
      fs.writeFileSync(path.join(DEPS, 'package.json'), '{ "private": true }\n');
      process.stderr.write(`[bench] installing ${PACKAGES.join(' ')} into ${DEPS}\n`);
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', ...PACKAGES], { cwd: DEPS, stdio: ['ignore', 'ignore', 'inherit'] });
      fs.writeFileSync(entry, "export { createLibp2p } from 'libp2p';\nexport { quic } from '@chainsafe/libp2p-quic';\nexport { multiaddr } from '@multiformats/multiaddr';\n");
    }
    return import(pathToFileURL(entry).href);
  })();
  return modules;
}

// libp2p 2's queues call Promise.withResolvers (Node 22); this process may run on Node 20.
if (!Promise.withResolvers) {
  Promise.withResolvers = () => {
    let resolve, reject;
    const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  };
}

const PROTOCOL = '/l2-bench/jobs/1';
const HIGH_WATER = 64;

/** A duplex stream as a socket: write() queues for the sink, the source's chunks become 'data'. */
function asSocket(stream) {
  const sock = new EventEmitter();
  const queue = [];
  let wake = null;
  let ended = false;
  sock.setNoDelay = () => undefined;
  sock.write = (buf) => {
    queue.push(buf);
    if (wake) wake();
    return queue.length < HIGH_WATER;
  };
  sock.end = () => {
    ended = true;
    if (wake) wake();
  };
  sock.destroy = () => stream.abort?.(new Error('destroyed'));
  async function* outgoing() {
    for (;;) {
      while (queue.length) {
        yield queue.shift();
        if (queue.length === HIGH_WATER >> 1) sock.emit('drain');
      }
      if (ended) return;
      await new Promise((r) => (wake = r));
      wake = null;
    }
  }
  stream.sink(outgoing()).catch((err) => sock.emit('error', err));
  (async () => {
    try {
      for await (const chunk of stream.source) sock.emit('data', Buffer.from(chunk.subarray()));
    } catch (err) {
      sock.emit('error', err);
    }
    sock.emit('close');
  })();
  return sock;
}

async function createNode() {
  const { createLibp2p, quic } = await load();
  return createLibp2p({ transports: [quic()], addresses: { listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] } });
}

/** A listening node whose streams run `serve(socket)`; returns its multiaddr and a stop(). */
async function listen(serve) {
  const node = await createNode();
  await node.handle(PROTOCOL, ({ stream }) => serve(asSocket(stream)));
  return { addr: node.getMultiaddrs()[0].toString(), stop: () => node.stop() };
}

/** Dials `addr` and opens one stream: the socket and a stop() for the dialling node. */
async function connect(addr) {
  const { multiaddr } = await load();
  const node = await createNode();
  const stream = await node.dialProtocol(multiaddr(addr), PROTOCOL);
  return { sock: asSocket(stream), stop: () => node.stop() };
}

module.exports = { listen, connect };
