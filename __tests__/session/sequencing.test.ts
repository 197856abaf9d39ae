import { OutboundBuffer, type Outgoing } from '../../ts/session/sequencing';

const seqs = (items: readonly Outgoing[]) => items.map((m) => m.seq);

describe('OutboundBuffer', () => {
  test('sends each message once, resends all on retransmit, releases by cumulative ack', () => {
    const b = new OutboundBuffer(8);
    for (let k = 0; k < 3; k++) b.push(new Uint8Array([k]));
    expect(b.awaitingAck).toBe(false);
    expect(seqs(b.takeForSending(false))).toEqual([1, 2, 3]);
    expect(b.takeForSending(false)).toEqual([]);
    b.push(new Uint8Array([3]));
    expect(seqs(b.unacknowledged())).toEqual([1, 2, 3]);
    expect(seqs(b.takeForSending(false))).toEqual([4]);
    expect(b.awaitingAck).toBe(true);
    expect(b.acknowledge(2)).toBe(2);
    expect(seqs(b.takeForSending(true))).toEqual([3, 4]);
    expect(b.acknowledge(2)).toBe(0);
    expect(b.acknowledge(4)).toBe(2);
    expect(b.awaitingAck).toBe(false);
    expect(b.size).toBe(0);
  });

  test('an ack beyond what was sent is refused and releases nothing', () => {
    const b = new OutboundBuffer(8);
    b.push(new Uint8Array(1));
    b.takeForSending(false);
    b.push(new Uint8Array(1));
    expect(b.acknowledge(2)).toBe(-1);
    expect(b.size).toBe(2);
    expect(seqs(b.drain())).toEqual([1, 2]);
    expect(b.awaitingAck).toBe(false);
  });

  test('a full buffer throws ERR_L2_LIMIT', () => {
    const b = new OutboundBuffer(2);
    b.push(new Uint8Array(1));
    b.push(new Uint8Array(1));
    expect(() => b.push(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ERR_L2_LIMIT' }));
  });

  // The buffer keeps sent messages as a prefix instead of scanning flags; a plain model checks it
  // through long random runs of every operation.
  test('matches a reference model over random operation sequences', () => {
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const b = new OutboundBuffer(64);
    let model: { seq: number; sent: boolean }[] = [];
    let next = 1;
    let sentUpTo = 0;
    for (let step = 0; step < 4_000; step++) {
      const op = rand(6);
      if (op <= 1 && model.length < 64) {
        expect(b.push(new Uint8Array(0)).seq).toBe(next);
        model.push({ seq: next++, sent: false });
      } else if (op === 2 || op === 3) {
        const retransmit = op === 3;
        const want = model.filter((m) => retransmit || !m.sent);
        for (const m of want) {
          m.sent = true;
          sentUpTo = Math.max(sentUpTo, m.seq);
        }
        expect(seqs(b.takeForSending(retransmit))).toEqual(want.map((m) => m.seq));
      } else if (op === 4) {
        const seq = rand(next + 2);
        const before = model.length;
        const expected = seq > sentUpTo ? -1 : before - model.filter((m) => m.seq > seq).length;
        if (seq <= sentUpTo) model = model.filter((m) => m.seq > seq);
        expect(b.acknowledge(seq)).toBe(expected);
      } else {
        expect(seqs(b.unacknowledged())).toEqual(model.filter((m) => m.sent).map((m) => m.seq));
      }
      expect(b.size).toBe(model.length);
      expect(b.awaitingAck).toBe(model.some((m) => m.sent));
    }
  });
});
