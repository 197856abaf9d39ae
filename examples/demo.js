// The main job: two nodes on loopback set up a post-quantum session over QUIC, exchange
// messages, rotate keys, lose QUIC and carry on over μTCP, printing each transition and the
// throughput. Run it with `npm run demo` after `npm install`.
'use strict';
const dgram = require('node:dgram');
// By name: Node resolves a package's own name through its `exports`, in a checkout and installed.
const { Node, Identity } = require('l2-session');

const ms = (t0) => `${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`;

/** A UDP forwarder in front of bob's QUIC port: closing it is "UDP blocked". */
async function udpPath(target) {
  const [host, port] = [target.split(':')[0], Number(target.split(':')[1])];
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  let client;
  front.on('message', (m, r) => ((client = r), back.send(m, port, host)));
  back.on('message', (m) => client && front.send(m, client.port, client.address));
  await new Promise((r) => front.bind(0, '127.0.0.1', r));
  await new Promise((r) => back.bind(0, '127.0.0.1', r));
  return { address: `127.0.0.1:${front.address().port}`, block: () => (front.close(), back.close()) };
}

async function throughput(s, peer, count, size) {
  const payload = Buffer.alloc(size, 0x61);
  const t0 = process.hrtime.bigint();
  const received = (async () => {
    for (let n = 0; n < count; n++) await peer.receive({ timeout: 30_000 });
  })();
  for (let n = 0; n < count; n++) await s.send(payload);
  await received;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`  ${count} × ${size} B over ${s.transport}: ${(count / secs).toFixed(0)} msg/s, ${((count * size) / secs / 1e6).toFixed(1)} MB/s`);
}

(async () => {
  const alice = await Node.listen({ identity: Identity.generate(), quicIdleTimeout: 1000 });
  const bob = await Node.listen({ identity: Identity.generate(), quicIdleTimeout: 1000 });
  console.log(`alice ${alice.did}\nbob   ${bob.did} on quic ${bob.addresses.quic}, tcp ${bob.addresses.tcp}`);
  const path = await udpPath(bob.addresses.quic);

  const inbound = new Promise((resolve) => bob.once('session', resolve));
  const t0 = process.hrtime.bigint();
  const s = await alice.establish(bob.did, { addresses: { quic: path.address, tcp: bob.addresses.tcp }, quicTimeout: 500 });
  const peer = await inbound;
  console.log(`established over ${s.transport} in ${ms(t0)} (X-Wing + Ed25519, key epoch ${s.keyEpoch})`);
  s.on('state', (c) => console.log(`  alice: ${c.from} → ${c.to} (${c.reason})`));
  peer.on('state', (c) => console.log(`  bob:   ${c.from} → ${c.to} (${c.reason})`));

  await s.send(Buffer.from('hello bob'));
  console.log(`bob received "${await peer.receive()}" from ${peer.peerDid.slice(0, 20)}…`);
  await peer.send(Buffer.from('hello alice'));
  console.log(`alice received "${await s.receive()}"`);
  await throughput(s, peer, 20_000, 64);
  await throughput(s, peer, 2_000, 16_384);

  console.log('rotating keys…');
  const r0 = process.hrtime.bigint();
  await s.rotate();
  console.log(`rotated to key epoch ${s.keyEpoch} in ${ms(r0)}`);

  console.log('blocking UDP: QUIC dies, the session moves to μTCP…');
  path.block();
  const pending = ['sent', 'while', 'QUIC', 'died'];
  for (const m of pending) await s.send(Buffer.from(m));
  const got = [];
  for (const _ of pending) got.push(String(await peer.receive({ timeout: 30_000 })));
  console.log(`bob received "${got.join(' ')}" — session ${s.state} over ${s.transport}, no error seen by the caller`);
  await throughput(s, peer, 20_000, 64);

  await s.close();
  await Promise.all([alice.close(), bob.close()]);
  console.log('closed');
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
