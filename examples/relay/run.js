// Runs the relay example on loopback: relay R, peers alice and bob, each with a session to R;
// alice and bob open an end-to-end channel through R and exchange messages. Prints what R saw.
// `node examples/relay/run.js`
'use strict';
const { Node, Identity } = require('l2-session');
const { Relay, RelayClient, Kind } = require('./relay');

async function main() {
  const [rId, aId, bId] = [Identity.generate(), Identity.generate(), Identity.generate()];
  const relayNode = await Node.listen({ identity: rId });
  const relay = new Relay(relayNode);
  const seen = [];
  relay.on('packet', (p) => seen.push(p));

  const aliceNode = await Node.listen({ identity: aId });
  const bobNode = await Node.listen({ identity: bId });
  const alice = await RelayClient.connect(aliceNode, aId, relay.did, { addresses: relayNode.addresses });
  const bob = await RelayClient.connect(bobNode, bId, relay.did, { addresses: relayNode.addresses });
  console.log(`relay ${relay.did}\nalice ${aId.did}\nbob   ${bId.did}`);

  const bobChannel = new Promise((resolve) => bob.once('channel', resolve));
  const a = await alice.open(bId.did);
  const b = await bobChannel;
  console.log(`end-to-end channel alice ↔ bob through the relay (bob authenticated ${b.peerDid === aId.did ? 'alice' : 'someone else'})`);

  const texts = ['hello bob, the relay cannot read this', 'second message', 'third message'];
  for (const t of texts) await a.send(Buffer.from(t));
  for (let n = 0; n < texts.length; n++) console.log(`bob received "${await b.receive()}"`);
  await b.send(Buffer.from('hello alice'));
  console.log(`alice received "${await a.receive()}"`);
  const ended = new Promise((resolve) => b.once('end', resolve));
  await a.close();
  await ended;
  console.log('bob saw the sealed close: nothing was cut off');

  const names = Object.fromEntries(Object.entries(Kind).map(([k, v]) => [v, k]));
  console.log('what the relay forwarded:');
  for (const p of seen) {
    const leaks = texts.some((t) => p.payload.includes(Buffer.from(t)));
    console.log(`  ${names[p.kind].padEnd(6)} ${p.from === aId.did ? 'alice → bob  ' : 'bob   → alice'} ${String(p.payload.length).padStart(5)} B  ${leaks ? 'PLAINTEXT VISIBLE' : 'opaque'}`);
  }
  await alice.close();
  await bob.close();
  await Promise.all([aliceNode.close(), bobNode.close(), relayNode.close()]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
