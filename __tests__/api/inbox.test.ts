/** receive() timeouts: one timer for the inbox, not one per receive. */
import { Inbox } from '../../ts/api/inbox';
import { L2Error } from '../../ts/errors';

afterEach(() => jest.restoreAllMocks());

test('receives answered in time arm one timer between them, which holds the process only while a timed receive waits', async () => {
  const timeouts = jest.spyOn(global, 'setTimeout');
  const inbox = new Inbox();
  for (let k = 0; k < 1000; k++) {
    const next = inbox.take({ timeout: 60_000 });
    inbox.push(Buffer.from([k & 0xff]));
    expect((await next)[0]).toBe(k & 0xff);
  }
  expect(timeouts).toHaveBeenCalledTimes(1);
  const timer = timeouts.mock.results[0].value as NodeJS.Timeout;
  expect(timer.hasRef()).toBe(false);
  const waiting = inbox.take({ timeout: 60_000 });
  expect(timer.hasRef()).toBe(true);
  inbox.push(Buffer.from('x'));
  await waiting;
  expect(timer.hasRef()).toBe(false);
  inbox.close(() => new L2Error('ERR_L2_CLOSED', 'closed'));
});

test('a receive times out at its own deadline, also after earlier ones were answered and beside one that is not due', async () => {
  const inbox = new Inbox();
  const answered = inbox.take({ timeout: 60_000 });
  inbox.push(Buffer.from('a'));
  await answered;
  const late = inbox.take({ timeout: 60_000 });
  await expect(inbox.take({ timeout: 20 })).rejects.toMatchObject({ code: 'ERR_L2_TIMEOUT', message: 'no message within 20 ms' });
  inbox.push(Buffer.from('b'));
  expect(String(await late)).toBe('b');
  await expect(inbox.take({ timeout: 0 })).rejects.toMatchObject({ code: 'ERR_L2_TIMEOUT' });
  const aborted = new AbortController();
  const gone = inbox.take({ timeout: 60_000, signal: aborted.signal });
  aborted.abort();
  await expect(gone).rejects.toMatchObject({ code: 'ERR_L2_ABORTED' });
  inbox.close(() => new L2Error('ERR_L2_CLOSED', 'closed'));
});
