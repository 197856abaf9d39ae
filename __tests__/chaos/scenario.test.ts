/**
 * The chaos scenario (scenario.ts) on real networking, each node a separate process using the built
 * package (dist/):
 *   1. loopback: both nodes on 127.0.0.1, the chaos relay in this process — always runs;
 *   2. namespaces: nodes in their own network namespaces, the relay in a third, joined by veths
 *      (needs root; CI runs as root, so there a failure to build the namespaces fails the test);
 *   3. tc netem: the same namespaces with the kernel impairing the veths — only where netem exists.
 * No assertion depends on speed; the timeouts are generous.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChaosRelay } from '../../tools/chaos/relay';
import { spawnRpc } from '../../tools/chaos/rpc';
import type { RpcClient } from '../../tools/chaos/rpc';
import { ADDR, createTopology, inNamespace, netem, netemCheck, netemOff } from './netns';
import type { Topology } from './netns';
import { checkScenario, runScenario } from './scenario';
import type { Harness, Impairer, RelayCounters } from './scenario';

jest.setTimeout(180_000);

const ROOT = path.join(__dirname, '..', '..');
const PEER = path.join(ROOT, 'tools/chaos/peer.js');
const RELAY_CLI = path.join(ROOT, 'tools/chaos/relay-cli.js');
const CHAOS = { loss: 0.2, delay: 50, jitter: 20, reorder: 0.1, duplicate: 0.05 };
const NETEM_CHAOS = ['loss', '20%', 'delay', '50ms', '20ms', 'reorder', '10%', 'duplicate', '5%'];

const isRoot = process.getuid?.() === 0;
const netemStatus = isRoot ? netemCheck() : { available: false, reason: 'not root' };

const children: RpcClient[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build:ts` first');
});

function spawnTracked(command: string, args: string[]): RpcClient {
  const child = spawnRpc(command, args);
  children.push(child);
  return child;
}

/** Impairments by the relay, whether in this process or behind its control channel. */
function relayImpairer(control: { set(c: object): unknown; clear(): unknown; stats(): unknown }): Impairer {
  return {
    chaos: async () => void (await control.set(CHAOS)),
    blockUdp: async () => void (await control.set({ blockUdp: true })),
    partition: async () => void (await control.set({ partition: true })),
    recover: async () => void (await control.clear()),
    stats: async () => (await control.stats()) as RelayCounters,
  };
}

/** The relay in namespace `r`, listening on A's side and sending from B's. */
async function namespacedRelay(topo: Topology, b: { quic: string; tcp: string }) {
  const [cmd, args] = inNamespace(topo.ns.r, process.execPath, [RELAY_CLI, '--host', ADDR.ra, '--upstream-host', ADDR.rb, '--udp-target', b.quic, '--tcp-target', b.tcp]);
  const relay = spawnTracked(cmd, args);
  const ready = await relay.once<{ udp: string; tcp: string }>('ready');
  const control = { set: (c: object) => relay.call('set', c), clear: () => relay.call('clear'), stats: () => relay.call('stats') };
  return { ready, control };
}

function namespaceHarness(label: string, topo: Topology, impair: 'relay' | 'netem'): Harness {
  return {
    label,
    hostA: ADDR.a,
    hostB: ADDR.b,
    spawnPeer: (which) => spawnTracked(...inNamespace(which === 'a' ? topo.ns.a : topo.ns.b, process.execPath, [PEER])),
    async startPath(b) {
      const { ready, control } = await namespacedRelay(topo, b);
      if (impair === 'relay') return { quic: ready.udp, tcp: ready.tcp, impair: relayImpairer(control) };
      // The kernel impairs both veths of the relay host; the relay only blocks and partitions.
      const devices = ['to-a', 'to-b'];
      const base = relayImpairer(control);
      return {
        quic: ready.udp,
        tcp: ready.tcp,
        impair: {
          ...base,
          chaos: async () => devices.forEach((dev) => netem(topo.ns.r, dev, NETEM_CHAOS)),
          recover: async () => {
            devices.forEach((dev) => netemOff(topo.ns.r, dev));
            await base.recover();
          },
        },
      };
    },
  };
}

const log = (line: string) => console.log(line);

test('chaos scenario on loopback (relay in process): exactly once, in order, through rotations, μTCP fallback, partition and recovery', async () => {
  const harness: Harness = {
    label: 'loopback',
    hostA: '127.0.0.1',
    hostB: '127.0.0.1',
    spawnPeer: () => spawnTracked(process.execPath, [PEER]),
    async startPath(b) {
      const relay = await ChaosRelay.start({ host: '127.0.0.1', udp: { target: b.quic }, tcp: { target: b.tcp } });
      cleanups.push(() => relay.close());
      return { quic: relay.addresses.udp!, tcp: relay.addresses.tcp!, impair: relayImpairer(relay) };
    },
  };
  checkScenario(await runScenario(harness, log), { relayImpairs: true });
});

// Namespaces need root. CI runs as root, so there this always runs; elsewhere it says why it skipped.
const asRoot = isRoot ? test : test.skip;
if (!isRoot) console.log('chaos: network-namespace variants skipped: not root (CI runs them as root)');

asRoot('chaos scenario across network namespaces (A, relay, B as separate hosts on veths)', async () => {
  const topo = createTopology();
  cleanups.push(() => topo.destroy());
  checkScenario(await runScenario(namespaceHarness('netns+relay', topo, 'relay'), log), { relayImpairs: true });
});

const withNetem = netemStatus.available ? test : test.skip;
if (isRoot && !netemStatus.available) console.log(`chaos: tc netem variant skipped: netem unavailable: ${netemStatus.reason}`);

withNetem('chaos scenario across network namespaces under tc netem', async () => {
  const topo = createTopology();
  cleanups.push(() => topo.destroy());
  checkScenario(await runScenario(namespaceHarness('netns+netem', topo, 'netem'), log), { relayImpairs: false });
});
