/**
 * The chaos relay: a UDP and TCP forwarder that sits between two hosts and impairs what it carries,
 * because this kernel has no `tc netem`. UDP (QUIC) datagrams can be lost, delayed with jitter,
 * reordered and duplicated; TCP (μTCP) streams can be delayed (order kept: a proxy that dropped
 * stream bytes would corrupt the stream, where real loss only shows up as TCP retransmission delay).
 * `blockUdp` drops every datagram (forces the μTCP fallback); `partition` drops datagrams and stalls
 * TCP both ways, new connections included, until `clear()`.
 *
 * Directions: `a2b` is client → target (towards the listener being dialled), `b2a` the answers.
 */
'use strict';
const dgram = require('node:dgram');
const net = require('node:net');

/** Impairments with nothing set: a clean forwarder. */
const CLEAR = Object.freeze({ loss: 0, delay: 0, jitter: 0, reorder: 0, duplicate: 0, blockUdp: false, partition: false });
const FRACTIONS = ['loss', 'reorder', 'duplicate'];
const DURATIONS = ['delay', 'jitter'];
const FLAGS = ['blockUdp', 'partition'];
/** Bytes queued in one TCP direction above which the relay stops reading that side (backpressure). */
const TCP_HIGH_WATER = 4 * 1024 * 1024;

class ChaosError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ChaosError';
    this.code = 'ERR_CHAOS_BAD_INPUT';
  }
}

/** mulberry32: a small seeded generator, so a run's impairment pattern can be replayed from its seed. */
function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseEndpoint(name, value) {
  const m = typeof value === 'string' ? /^(.+):(\d{1,5})$/.exec(value) : null;
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535 || net.isIP(m[1]) === 0) throw new ChaosError(`${name}: expected "ip:port", got ${JSON.stringify(value)}`);
  return { host: m[1], port };
}

/** Checks a partial impairment object; unknown keys and out-of-range values are errors, never ignored. */
function checkImpairments(input) {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new ChaosError('impairments must be an object');
  for (const [key, value] of Object.entries(input)) {
    if (FRACTIONS.includes(key)) {
      if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new ChaosError(`${key}: expected a fraction 0..1, got ${JSON.stringify(value)}`);
    } else if (DURATIONS.includes(key)) {
      if (!Number.isInteger(value) || value < 0 || value > 60_000) throw new ChaosError(`${key}: expected whole ms 0..60000, got ${JSON.stringify(value)}`);
    } else if (FLAGS.includes(key)) {
      if (typeof value !== 'boolean') throw new ChaosError(`${key}: expected a boolean, got ${JSON.stringify(value)}`);
    } else {
      throw new ChaosError(`unknown impairment ${JSON.stringify(key)} (known: ${[...FRACTIONS, ...DURATIONS, ...FLAGS].join(', ')})`);
    }
  }
  return input;
}

function udpCounters() {
  return { forwarded: 0, dropped: 0, droppedByLoss: 0, droppedByBlock: 0, duplicated: 0, reordered: 0 };
}

function tcpCounters() {
  return { chunks: 0, bytes: 0, stalledMs: 0 };
}

class ChaosRelay {
  /**
   * Starts a relay. `udp`/`tcp`: `{ port?, target: "ip:port" }` (either may be omitted);
   * `host`: address to listen on; `upstreamHost`: address to send from towards the targets
   * (defaults to `host`); `seed`: for the impairment generator (default random).
   */
  static async start(options) {
    const relay = new ChaosRelay(options);
    try {
      await relay.#listen();
    } catch (err) {
      await relay.close();
      throw err;
    }
    return relay;
  }

  #host;
  #upstreamHost;
  #udpTarget;
  #tcpTarget;
  #options;
  #random;
  #imp = { ...CLEAR };
  #front = null;
  #flows = new Map();
  #server = null;
  #pipes = new Set();
  #held = new Set();
  #timers = new Set();
  #closed = false;
  #partitionSince = null;
  #udp = { a2b: udpCounters(), b2a: udpCounters() };
  #tcp = { a2b: tcpCounters(), b2a: tcpCounters(), connections: 0, heldConnections: 0 };
  /** Per direction: the ingress index of the latest datagram sent on, to count real reorderings. */
  #order = { a2b: { next: 0, highest: -1 }, b2a: { next: 0, highest: -1 } };

  constructor(options) {
    if (typeof options !== 'object' || options === null) throw new ChaosError('options must be an object');
    const { host = '127.0.0.1', upstreamHost = host, udp, tcp, seed = Math.floor(Math.random() * 2 ** 32) } = options;
    if (net.isIP(host) === 0 || net.isIP(upstreamHost) === 0) throw new ChaosError('host and upstreamHost must be IP addresses');
    if (!udp && !tcp) throw new ChaosError('give udp and/or tcp: { port?, target: "ip:port" }');
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new ChaosError('seed must be a 32-bit unsigned integer');
    this.#host = host;
    this.#upstreamHost = upstreamHost;
    this.#udpTarget = udp && parseEndpoint('udp.target', udp.target);
    this.#tcpTarget = tcp && parseEndpoint('tcp.target', tcp.target);
    this.#options = { udpPort: udp?.port ?? 0, tcpPort: tcp?.port ?? 0 };
    this.seed = seed;
    this.#random = prng(seed);
  }

  /** Listening addresses, `ip:port`. */
  get addresses() {
    const at = (s) => (s ? `${this.#host}:${s.address().port}` : undefined);
    return { udp: at(this.#front), tcp: at(this.#server) };
  }

  /** The impairments in force. */
  get impairments() {
    return { ...this.#imp };
  }

  /** Changes some impairments; the others keep their values. Returns the impairments in force. */
  set(changes) {
    checkImpairments(changes);
    const wasPartitioned = this.#imp.partition;
    this.#imp = { ...this.#imp, ...changes };
    if (wasPartitioned && !this.#imp.partition) this.#heal();
    if (!wasPartitioned && this.#imp.partition) this.#partitionSince = Date.now();
    return this.impairments;
  }

  /** Recovery: every impairment off; stalled TCP data and held connections move on. */
  clear() {
    return this.set({ ...CLEAR });
  }

  /** Counters since start, per protocol and direction. */
  stats() {
    const copy = (o) => JSON.parse(JSON.stringify(o));
    return { seed: this.seed, udp: copy(this.#udp), tcp: copy(this.#tcp), flows: this.#flows.size };
  }

  /** Stops listening and drops every flow and connection. */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const flow of this.#flows.values()) flow.back.close();
    this.#flows.clear();
    for (const p of this.#pipes) p.destroy();
    for (const socket of this.#held) socket.destroy();
    const closing = [];
    if (this.#front) closing.push(new Promise((r) => this.#front.close(r)));
    if (this.#server) closing.push(new Promise((r) => this.#server.close(() => r())));
    await Promise.all(closing);
  }

  async #listen() {
    const family = net.isIPv6(this.#host) ? 'udp6' : 'udp4';
    if (this.#udpTarget) {
      this.#front = dgram.createSocket(family);
      this.#front.on('message', (msg, from) => this.#fromClient(msg, from));
      await bind(this.#front, this.#options.udpPort, this.#host);
      // Send errors (an unreachable client) are the network's business, not a reason to stop.
      this.#front.on('error', () => undefined);
    }
    if (this.#tcpTarget) {
      this.#server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.#onConnection(socket));
      await new Promise((resolve, reject) => {
        this.#server.once('error', reject);
        this.#server.listen(this.#options.tcpPort, this.#host, () => {
          this.#server.off('error', reject);
          resolve();
        });
      });
    }
  }

  // ---- UDP: one upstream socket per client address, like a NAT, so answers find their way back.

  #fromClient(msg, from) {
    const key = `${from.address}:${from.port}`;
    let flow = this.#flows.get(key);
    if (!flow) {
      const back = dgram.createSocket(this.#front.type);
      // A flow whose socket cannot bind drops its datagrams, as a full NAT table would.
      flow = { back, ready: bind(back, 0, this.#upstreamHost).then(() => true, () => false) };
      back.on('message', (reply) => this.#impair('b2a', reply, (m) => this.#front.send(m, from.port, from.address)));
      // A send error on one flow (say, ICMP unreachable) must not end the relay.
      back.on('error', () => undefined);
      this.#flows.set(key, flow);
    }
    const { host, port } = this.#udpTarget;
    this.#impair('a2b', msg, (m) => flow.ready.then((ok) => ok && !this.#closed && flow.back.send(m, port, host)));
  }

  #impair(dir, msg, send) {
    const c = this.#udp[dir];
    const imp = this.#imp;
    const index = this.#order[dir].next++;
    if (imp.partition || imp.blockUdp) return drop(c, 'droppedByBlock');
    if (this.#random() < imp.loss) return drop(c, 'droppedByLoss');
    const copies = this.#random() < imp.duplicate ? 2 : 1;
    if (copies === 2) c.duplicated++;
    for (let k = 0; k < copies; k++) {
      let wait = imp.delay + (imp.jitter > 0 ? (this.#random() * 2 - 1) * imp.jitter : 0);
      // Held back past the packets behind it: one extra base delay plus the jitter, at least 5 ms.
      if (this.#random() < imp.reorder) wait += Math.max(imp.delay + imp.jitter, 5);
      wait = Math.max(0, Math.round(wait));
      if (wait === 0) this.#emit(dir, index, msg, send);
      else this.#later(wait, () => this.#emit(dir, index, msg, send));
    }
  }

  // A datagram leaves: counted as reordered when one that came in after it has already left.
  #emit(dir, index, msg, send) {
    const c = this.#udp[dir];
    // Datagrams in flight when the path goes down are lost with it.
    if (this.#imp.partition || this.#imp.blockUdp) return drop(c, 'droppedByBlock');
    const order = this.#order[dir];
    if (index < order.highest) c.reordered++;
    else order.highest = index;
    c.forwarded++;
    send(msg);
  }

  #later(ms, fn) {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(t);
  }

  // ---- TCP: a stream proxy; chunks keep their order, wait out the delay, and stall in a partition.

  #onConnection(client) {
    this.#tcp.connections++;
    client.on('error', () => undefined);
    if (this.#imp.partition) {
      // Like a SYN into a dead path: nothing answers until the partition heals.
      this.#tcp.heldConnections++;
      this.#held.add(client);
      client.once('close', () => this.#held.delete(client));
      return;
    }
    this.#connectUpstream(client);
  }

  #connectUpstream(client) {
    const { host, port } = this.#tcpTarget;
    const upstream = net.connect({ host, port, localAddress: this.#upstreamHost, noDelay: true, allowHalfOpen: true });
    client.setNoDelay(true);
    upstream.on('error', () => undefined);
    const a2b = new Pipe(this, client, upstream, this.#tcp.a2b);
    const b2a = new Pipe(this, upstream, client, this.#tcp.b2a);
    for (const p of [a2b, b2a]) this.#pipes.add(p);
    const end = () => {
      for (const p of [a2b, b2a]) {
        this.#pipes.delete(p);
        p.destroy();
      }
    };
    client.once('close', end);
    upstream.once('close', end);
    a2b.start();
    b2a.start();
  }

  #heal() {
    const stalled = this.#partitionSince === null ? 0 : Date.now() - this.#partitionSince;
    this.#partitionSince = null;
    this.#tcp.a2b.stalledMs += stalled;
    this.#tcp.b2a.stalledMs += stalled;
    const held = [...this.#held];
    this.#held.clear();
    for (const client of held) if (!client.destroyed) this.#connectUpstream(client);
    for (const p of this.#pipes) p.pump();
  }

  /** @internal Delay for the next TCP chunk. */
  tcpDelay() {
    const { delay, jitter } = this.#imp;
    return Math.max(0, Math.round(delay + (jitter > 0 ? (this.#random() * 2 - 1) * jitter : 0)));
  }

  /** @internal True while TCP must not move. */
  get stalled() {
    return this.#imp.partition;
  }
}

/** One direction of a proxied TCP connection. */
class Pipe {
  #relay;
  #src;
  #dst;
  #counters;
  #queue = [];
  #queued = 0;
  #timer = null;
  #ended = false;
  #waitingDrain = false;

  constructor(relay, src, dst, counters) {
    this.#relay = relay;
    this.#src = src;
    this.#dst = dst;
    this.#counters = counters;
  }

  start() {
    this.#src.on('data', (chunk) => {
      const last = this.#queue.length > 0 ? this.#queue[this.#queue.length - 1].at : 0;
      // Jitter never reorders a stream: a chunk leaves no earlier than the one before it.
      this.#queue.push({ at: Math.max(Date.now() + this.#relay.tcpDelay(), last), chunk });
      this.#queued += chunk.length;
      if (this.#queued > TCP_HIGH_WATER) this.#src.pause();
      this.pump();
    });
    this.#src.once('end', () => {
      this.#ended = true;
      this.pump();
    });
    this.#src.resume();
  }

  /** Sends every chunk whose time has come, unless the path is partitioned or the peer is full. */
  pump() {
    if (this.#timer !== null || this.#waitingDrain || this.#dst.destroyed) return;
    while (this.#queue.length > 0 && !this.#relay.stalled) {
      const head = this.#queue[0];
      const wait = head.at - Date.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.pump();
        }, wait);
        return;
      }
      this.#queue.shift();
      this.#queued -= head.chunk.length;
      this.#counters.chunks++;
      this.#counters.bytes += head.chunk.length;
      if (!this.#dst.write(head.chunk)) {
        this.#waitingDrain = true;
        this.#dst.once('drain', () => {
          this.#waitingDrain = false;
          this.pump();
        });
        return;
      }
    }
    if (this.#relay.stalled) return this.#src.pause();
    if (this.#queue.length === 0 && this.#ended) this.#dst.end();
    else if (this.#queued <= TCP_HIGH_WATER && !this.#ended) this.#src.resume();
  }

  destroy() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue = [];
    this.#src.destroy();
    this.#dst.destroy();
  }
}

function drop(counters, reason) {
  counters.dropped++;
  counters[reason]++;
}

function bind(socket, port, host) {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

module.exports = { ChaosRelay, ChaosError, CLEAR };
