// IdleWatch with fake timers: a client that sends nothing (not even at first) is reported once after the
// timeout, any packet restarts the wait, close stops it; and a PeerSession opened with idleTimeoutMs (as
// livestream sessions are) reports host.failed('client went silent'), one opened without never does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleWatch } from '../../../src/media/session/idle-watch.js';
import { room } from './session-harness.js';

test('silent for the timeout: reported once; packets keep it alive; close stops it', (t) => {
  t.mock.timers.enable({ apis: ['setInterval', 'Date'] });
  const fired: number[] = [];
  const count = () => fired.length;
  const silent = new IdleWatch(3000, () => fired.push(Date.now()));
  t.mock.timers.tick(2000);
  assert.equal(count(), 0);
  t.mock.timers.tick(1000);
  assert.equal(count(), 1, 'never connected: silent from the start');
  t.mock.timers.tick(10_000);
  assert.equal(count(), 1, 'reported once');

  const busy = new IdleWatch(3000, () => fired.push(-1));
  for (let i = 0; i < 10; i++) {
    busy.packet();
    t.mock.timers.tick(1000);
  }
  assert.equal(count(), 1, 'packets every second keep it alive');
  t.mock.timers.tick(4000);
  assert.deepEqual(fired.slice(1), [-1], 'then silence is reported');

  const closed = new IdleWatch(3000, () => fired.push(-2));
  closed.close();
  t.mock.timers.tick(10_000);
  assert.ok(!fired.includes(-2));
  silent.close();
});

test('a PeerSession with idleTimeoutMs reports a silent client through host.failed', async () => {
  const r = await room();
  const { session, host } = r.open('viewer-1', { idleTimeoutMs: 50 } as object);
  const reason = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no failed() within 2 s')), 2000);
    host.failed = (why) => {
      clearTimeout(timer);
      resolve(why);
    };
  });
  assert.equal(reason, 'client went silent');
  session.close();
});
