/**
 * Three hosts for the chaos scenario: network namespaces `l2a-TAG`, `l2r-TAG` (the relay) and
 * `l2b-TAG`, joined by veth pairs a<->r (10.200.1.0/24) and r<->b (10.200.2.0/24). A has no route to
 * B: everything between them crosses the relay. The veths are created inside the namespaces, so their
 * names never touch the host's namespace and deleting the namespaces removes them.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const ADDR = { a: '10.200.1.1', ra: '10.200.1.2', rb: '10.200.2.1', b: '10.200.2.2' } as const;

export interface Topology {
  readonly ns: { readonly a: string; readonly r: string; readonly b: string };
  /** Deletes the namespaces that exist (idempotent). */
  destroy(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function existing(): Set<string> {
  const out = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return new Set(out.split('\n').map((l) => l.split(' ')[0]).filter(Boolean));
}

/** Builds the topology; on any failure removes what was made and throws with ip's own message. */
export function createTopology(): Topology {
  const tag = `${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  const ns = { a: `l2a-${tag}`, r: `l2r-${tag}`, b: `l2b-${tag}` };
  const topology: Topology = {
    ns,
    destroy() {
      const have = existing();
      for (const name of Object.values(ns)) if (have.has(name)) ip('netns', 'del', name);
    },
  };
  try {
    for (const name of Object.values(ns)) {
      ip('netns', 'add', name);
      ip('-n', name, 'link', 'set', 'lo', 'up');
    }
    ip('-n', ns.a, 'link', 'add', 'to-r', 'type', 'veth', 'peer', 'name', 'to-a', 'netns', ns.r);
    ip('-n', ns.b, 'link', 'add', 'to-r', 'type', 'veth', 'peer', 'name', 'to-b', 'netns', ns.r);
    const addresses: [string, string, string][] = [
      [ns.a, 'to-r', ADDR.a],
      [ns.r, 'to-a', ADDR.ra],
      [ns.r, 'to-b', ADDR.rb],
      [ns.b, 'to-r', ADDR.b],
    ];
    for (const [name, dev, addr] of addresses) {
      ip('-n', name, 'addr', 'add', `${addr}/24`, 'dev', dev);
      ip('-n', name, 'link', 'set', dev, 'up');
    }
  } catch (err) {
    topology.destroy();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot build the network namespaces: ${stderr || (err as Error).message}`);
  }
  return topology;
}

/** `ip netns exec NS` prefix for a command. */
export function inNamespace(ns: string, command: string, args: readonly string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, command, ...args]];
}

/**
 * Whether this kernel has `tc netem`, checked once in a throwaway namespace (the brief's check:
 * `tc qdisc add dev lo root netem delay 1ms`). Returns tc's own message when it does not.
 */
export function netemCheck(): { available: boolean; reason: string } {
  const name = `l2netem-${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  try {
    ip('netns', 'add', name);
  } catch (err) {
    return { available: false, reason: `cannot create a namespace to check: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? err}` };
  }
  try {
    execFileSync('tc', ['-n', name, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { available: true, reason: 'tc netem works' };
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return { available: false, reason: stderr || (err as Error).message };
  } finally {
    ip('netns', 'del', name);
  }
}

/** Puts a netem qdisc on `dev` in `ns` (or replaces it), e.g. `loss 20% delay 50ms 20ms`. */
export function netem(ns: string, dev: string, params: readonly string[]): void {
  execFileSync('tc', ['-n', ns, 'qdisc', 'replace', 'dev', dev, 'root', 'netem', ...params], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Removes the qdisc from `dev` in `ns`. */
export function netemOff(ns: string, dev: string): void {
  execFileSync('tc', ['-n', ns, 'qdisc', 'del', 'dev', dev, 'root'], { stdio: ['ignore', 'ignore', 'pipe'] });
}
