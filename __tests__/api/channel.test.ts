/** Channel sends: one at a time, in order; the first of a quiet link leaves at once. */
import { Channel } from '../../ts/api/channel';
import { FrameType } from '../../ts/handshake';

/** A link whose sends settle when the test says, and a cipher that "seals" to the plaintext. */
function harness() {
  const calls: { bytes: string; settle(ok: boolean): void }[] = [];
  let aborted = 0;
  const link = {
    send(batches: Buffer[]) {
      return new Promise<void>((resolve, reject) => {
        calls.push({ bytes: Buffer.concat(batches).toString(), settle: (ok) => (ok ? resolve() : reject(new Error('link down'))) });
      });
    },
    abort: () => void aborted++,
  };
  const cipher = { sealPacked: (data: Buffer) => Buffer.from(data), rekeyDue: false };
  const channel = new Channel(link as never, cipher as never);
  const frame = (text: string) => channel.enqueue(FrameType.Data, text.length, (out, at) => out.write(text, at));
  return { channel, calls, frame, aborted: () => aborted };
}

test('a flush with no send under way hands its batch to the link at once; later ones wait their turn, in order', async () => {
  const { channel, calls, frame } = harness();
  frame('a');
  frame('b');
  const first = channel.flush();
  expect(calls.map((c) => c.bytes)).toEqual(['ab']);
  frame('c');
  const second = channel.flush();
  await Promise.resolve();
  expect(calls).toHaveLength(1);
  expect(channel.backlog).toBe(3);
  calls[0].settle(true);
  await first;
  expect(calls.map((c) => c.bytes)).toEqual(['ab', 'c']);
  calls[1].settle(true);
  await second;
  expect(channel.backlog).toBe(0);
  frame('d');
  void channel.flush();
  expect(calls.map((c) => c.bytes)).toEqual(['ab', 'c', 'd']);
  calls[2].settle(true);
});

test('a failed send aborts the link, releases its bytes and never rejects the flush', async () => {
  const { channel, calls, frame, aborted } = harness();
  frame('xyz');
  const flushed = channel.flush();
  calls[0].settle(false);
  await expect(flushed).resolves.toBeUndefined();
  expect(aborted()).toBe(1);
  expect(channel.backlog).toBe(0);
});
