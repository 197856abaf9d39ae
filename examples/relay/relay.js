// A relay that forwards end-to-end sealed frames between peers without holding their keys.
//
// Each peer has an ordinary l2-session with the relay (hop by hop). Inside those sessions travel
// envelopes: [kind u8][DID length u8][DID][payload]. A peer addresses an envelope to a DID; the
// relay swaps in the sender's DID (authenticated by its hop session) and forwards it on the
// destination's hop session. Two peers run the hybrid handshake between themselves through these
// envelopes and then seal with its FrameCipher: the relay only ever sees handshake messages and
// ciphertext. See README.md next to this file.
'use strict';
const { EventEmitter } = require('node:events');
const { crypto, FrameType, L2Error, MAX_MESSAGE_LEN } = require('l2-session');

/** Envelope kinds. Handshake messages are numbered so each side knows its role. */
const Kind = { Hello1: 1, Hello2: 2, Hello3: 3, Frame: 4, Unreachable: 5, Welcome: 6 };
const KINDS = new Set(Object.values(Kind));
const MAX_DID = 255;
/** A sealed frame adds its 16-byte header and 16-byte tag. */
const FRAME_OVERHEAD = 32;

function encode(kind, did, payload = Buffer.alloc(0)) {
  const id = Buffer.from(did, 'utf8');
  if (id.length > MAX_DID) throw new L2Error('ERR_L2_BAD_INPUT', `DID longer than ${MAX_DID} bytes`);
  return Buffer.concat([Buffer.from([kind, id.length]), id, payload]);
}

function decode(bytes) {
  if (bytes.length < 2 || !KINDS.has(bytes[0]) || bytes.length < 2 + bytes[1]) {
    throw new L2Error('ERR_L2_BAD_INPUT', 'malformed relay envelope');
  }
  return { kind: bytes[0], did: bytes.subarray(2, 2 + bytes[1]).toString('utf8'), payload: bytes.subarray(2 + bytes[1]) };
}

/**
 * The relay: forwards envelopes between the peers that hold a session with its node. It never
 * opens a payload (it has no end-to-end keys). `forward(packet)` may be replaced to observe or
 * misbehave (tests): it returns the packets to deliver, in order.
 */
class Relay extends EventEmitter {
  #sessions = new Map();
  #queues = new Map();

  constructor(node, { forward } = {}) {
    super();
    this.node = node;
    this.forward = forward ?? ((packet) => [packet]);
    node.on('session', (s) => this.#attach(s));
  }

  get did() {
    return this.node.did;
  }

  #attach(session) {
    const from = session.peerDid;
    this.#sessions.set(from, session);
    session.on('message', (m) => this.#route(from, m));
    session.on('close', () => {
      if (this.#sessions.get(from) === session) this.#sessions.delete(from);
    });
    // Tells the peer it is routable: its establish() can resolve before our 'session' event.
    this.#deliver({ kind: Kind.Welcome, from: this.did, to: from, payload: Buffer.alloc(0) });
    this.emit('peer', from);
  }

  #route(from, message) {
    let env;
    try {
      env = decode(message);
    } catch (err) {
      this.emit('warning', err);
      return;
    }
    if (!this.#sessions.has(env.did)) {
      this.#deliver({ kind: Kind.Unreachable, from: env.did, to: from, payload: Buffer.alloc(0) });
      return;
    }
    const packet = { kind: env.kind, from, to: env.did, payload: Buffer.from(env.payload) };
    this.emit('packet', packet);
    for (const p of this.forward(packet)) this.#deliver(p);
  }

  /** Sends on the destination's hop session, one at a time per destination so order holds. */
  #deliver({ kind, from, to, payload }) {
    const session = this.#sessions.get(to);
    if (!session) return;
    const prev = this.#queues.get(to) ?? Promise.resolve();
    const next = prev.then(() => session.send(encode(kind, from, payload))).catch((err) => this.emit('warning', err));
    this.#queues.set(to, next);
  }
}

/**
 * One end-to-end channel between two peers through a relay. Frames must arrive exactly in the
 * order they were sealed: any frame that fails to open, is replayed, or skips a counter (a
 * dropped or reordered frame) fails the channel with that error, as TLS does for a bad record.
 */
class E2EChannel extends EventEmitter {
  #cipher;
  #send;
  #expected = 0;
  #inbox = [];
  #waiters = [];
  #error = null;
  #ended = false;

  constructor(peerDid, cipher, send) {
    super();
    this.peerDid = peerDid;
    this.maxMessageLength = MAX_MESSAGE_LEN - FRAME_OVERHEAD - 2 - Buffer.byteLength(peerDid);
    this.#cipher = cipher;
    this.#send = send;
  }

  /** Seals `data` (at most `maxMessageLength` bytes: it must fit one hop message) and hands it to the relay. */
  async send(data) {
    if (this.#error) throw this.#error;
    if (this.#ended) throw new L2Error('ERR_L2_CLOSED', 'end-to-end channel closed');
    if (data.length > this.maxMessageLength) {
      throw new L2Error('ERR_L2_BAD_INPUT', `data is ${data.length} bytes; an end-to-end message holds at most ${this.maxMessageLength}`);
    }
    await this.#transmit(this.#cipher.seal(data));
  }

  /** Sends a sealed close frame: the peer learns nothing was cut off after the last message. */
  async close() {
    if (this.#ended || this.#error) return;
    this.#ended = true;
    await this.#transmit(this.#cipher.seal(Buffer.alloc(0), FrameType.Close));
  }

  // A frame that was sealed but not handed over leaves a gap in the counters the peer would
  // report as a drop, so a failed hop send fails the channel here too.
  async #transmit(frame) {
    try {
      await this.#send(frame);
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  /** The next message; rejects with the channel's error once it failed, `ERR_L2_CLOSED` at its end. */
  receive() {
    if (this.#inbox.length > 0) return Promise.resolve(this.#inbox.shift());
    if (this.#error) return Promise.reject(this.#error);
    if (this.#ended) return Promise.reject(new L2Error('ERR_L2_CLOSED', 'end-to-end channel closed'));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Why the channel failed, or null. */
  get error() {
    return this.#error;
  }

  /** @internal A sealed frame from the relay. */
  onFrame(frame) {
    if (this.#error || this.#ended) return;
    let opened;
    try {
      opened = this.#cipher.open(frame);
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (opened.counter !== this.#expected) {
      this.#fail(new L2Error('ERR_L2_AUTH_FAILED', `end-to-end frame ${opened.counter} arrived where ${this.#expected} was due: the relay dropped or reordered frames`));
      return;
    }
    this.#expected++;
    if (opened.frameType === FrameType.Close) {
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w.reject(new L2Error('ERR_L2_CLOSED', 'end-to-end channel closed'));
      this.emit('end');
      return;
    }
    const data = Buffer.from(opened.data);
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(data);
    else this.#inbox.push(data);
    this.emit('message', data);
  }

  #fail(err) {
    this.#error = err;
    for (const w of this.#waiters.splice(0)) w.reject(err);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/**
 * A peer's side: its hop session with the relay, and its end-to-end channels through it.
 * `open(did)` starts a channel (this side initiates); channels a peer opens arrive as `channel`.
 */
class RelayClient extends EventEmitter {
  #identity;
  #session;
  #opening = new Map();
  #answering = new Map();
  #channels = new Map();

  #welcomed;

  constructor(identity, session) {
    super();
    this.#identity = identity;
    this.#session = session;
    this.#welcomed = new Promise((resolve) => this.once('welcome', resolve));
    session.on('message', (m) => this.#onEnvelope(m));
  }

  /**
   * Establishes the hop session with the relay node `relayDid` from `node`; resolves once the
   * relay has registered it (its welcome), so peers can reach this one.
   */
  static async connect(node, identity, relayDid, { timeout = 10_000, ...establishOptions } = {}) {
    const client = new RelayClient(identity, await node.establish(relayDid, establishOptions));
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new L2Error('ERR_L2_TIMEOUT', 'the relay did not register this peer')), timeout);
    });
    try {
      await Promise.race([client.#welcomed, late]);
    } catch (err) {
      await client.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** Opens an end-to-end channel to `peerDid`; resolves once both sides confirmed the keys. */
  open(peerDid, { timeout = 10_000 } = {}) {
    const hs = crypto.Handshake.initiator(this.#identity, { expectedPeer: peerDid });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#settleOpen(peerDid, new L2Error('ERR_L2_TIMEOUT', `no end-to-end handshake answer from ${peerDid}`)), timeout);
      this.#opening.set(peerDid, { hs, resolve, reject, timer });
      this.#post(Kind.Hello1, peerDid, hs.start()).catch((err) => this.#settleOpen(peerDid, err));
    });
  }

  /** Closes the hop session with the relay. */
  close() {
    return this.#session.close();
  }

  #post(kind, did, payload) {
    return this.#session.send(encode(kind, did, payload));
  }

  #settleOpen(peerDid, err, channel) {
    const o = this.#opening.get(peerDid);
    if (!o) return;
    this.#opening.delete(peerDid);
    clearTimeout(o.timer);
    if (err) o.reject(err);
    else o.resolve(channel);
  }

  #newChannel(peerDid, hs) {
    const channel = new E2EChannel(peerDid, hs.frameCipher(), (frame) => this.#post(Kind.Frame, peerDid, frame));
    this.#channels.set(peerDid, channel);
    return channel;
  }

  #onEnvelope(message) {
    let env;
    try {
      env = decode(message);
    } catch (err) {
      this.emit('warning', err);
      return;
    }
    const { kind, did, payload } = env;
    try {
      if (kind === Kind.Welcome) {
        this.emit('welcome');
      } else if (kind === Kind.Unreachable) {
        this.#settleOpen(did, new L2Error('ERR_L2_TRANSPORT', `the relay has no session with ${did}`));
      } else if (kind === Kind.Hello1) {
        const hs = crypto.Handshake.responder(this.#identity);
        this.#answering.set(did, hs);
        this.#post(Kind.Hello2, did, hs.handle(payload)).catch((err) => this.emit('warning', err));
      } else if (kind === Kind.Hello2) {
        const o = this.#opening.get(did);
        if (!o) return;
        try {
          const m3 = o.hs.handle(payload);
          const channel = this.#newChannel(did, o.hs);
          this.#post(Kind.Hello3, did, m3).then(() => this.#settleOpen(did, null, channel), (err) => this.#settleOpen(did, err));
        } catch (err) {
          this.#settleOpen(did, err);
        }
      } else if (kind === Kind.Hello3) {
        const hs = this.#answering.get(did);
        if (!hs) return;
        this.#answering.delete(did);
        hs.handle(payload);
        // The relay names the sender; the handshake proves who it is. They must agree.
        if (hs.peerDid !== did) throw new L2Error('ERR_L2_AUTH_FAILED', `end-to-end peer ${hs.peerDid} is not ${did}, the sender the relay named`);
        this.emit('channel', this.#newChannel(did, hs));
      } else if (kind === Kind.Frame) {
        const channel = this.#channels.get(did);
        if (channel) channel.onFrame(payload);
      }
    } catch (err) {
      this.emit('warning', err);
    }
  }
}

module.exports = { Relay, RelayClient, E2EChannel, Kind, encode, decode };
