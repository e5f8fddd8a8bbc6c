// StreamGuard, the TCP/TLS connection rules of the TURN server (issue 10, item 3), with explicit times:
// per-IP cap (released slots are reusable, other IPs unaffected), the authentication deadline (only an
// allocation lifts it; traffic does not), the idle timeout (any received chunk resets it), the counters,
// and the defaults (10 s / 60 s / 64) against Chromium's TURN keepalive intervals.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_STREAM_LIMITS, StreamGuard, type StreamCloseReason } from '../../src/turn/stream-guard.js';
import { emptyTurnStats } from '../../src/turn/turn-stats.js';

function setup(limits = { authTimeoutMs: 10_000, idleTimeoutMs: 60_000, maxPerIp: 3 }) {
  const stats = emptyTurnStats();
  const guard = new StreamGuard(limits, stats);
  const closed: [string, StreamCloseReason][] = [];
  const admit = (name: string, ip = '192.0.2.1', now = 0) => guard.admit(ip, now, (reason) => closed.push([name, reason]));
  return { stats, guard, closed, admit };
}

describe('StreamGuard', () => {
  test('caps connections per IP; a released slot can be reused; other IPs are unaffected', () => {
    const { stats, guard, admit } = setup();
    const a = [admit('a1'), admit('a2'), admit('a3')];
    assert.ok(a.every(Boolean));
    assert.equal(admit('a4'), undefined);
    assert.equal(stats.tcpRefused, 1);
    assert.ok(admit('b1', '192.0.2.2'), 'another IP');
    assert.equal(stats.tcpConnections, 4);
    guard.release(a[0]!);
    guard.release(a[0]!); // idempotent
    assert.equal(stats.tcpConnections, 3);
    assert.ok(admit('a5'));
    assert.equal(admit('a6'), undefined);
    assert.equal(stats.tcpRefused, 2);
  });

  test('closes a connection without an allocation at the authentication deadline, even if it keeps talking', () => {
    const { stats, guard, closed, admit } = setup();
    const talker = admit('talker')!;
    const allocated = admit('allocated')!;
    for (let t = 1000; t < 10_000; t += 1000) {
      talker.active = true;
      guard.sweep(t);
    }
    assert.deepEqual(closed, []);
    allocated.allocated = true;
    talker.active = true;
    guard.sweep(10_000);
    assert.deepEqual(closed, [['talker', 'unauthenticated']]);
    assert.equal(stats.tcpUnauthenticatedClosed, 1);
    assert.equal(stats.tcpConnections, 1);
    assert.equal(guard.size, 1);
    guard.sweep(11_000);
    assert.equal(closed.length, 1, 'closed once');
  });

  test('closes an allocated connection after the idle timeout without data; data resets it', () => {
    const { stats, guard, closed, admit } = setup();
    const s = admit('s')!;
    s.allocated = true;
    guard.sweep(59_999);
    assert.deepEqual(closed, []);
    s.active = true;
    guard.sweep(59_999); // data seen: idle from here
    guard.sweep(119_998);
    assert.deepEqual(closed, []);
    guard.sweep(119_999);
    assert.deepEqual(closed, [['s', 'idle']]);
    assert.equal(stats.tcpIdleClosed, 1);
    assert.equal(stats.tcpConnections, 0);
    assert.ok(admit('next'), 'its slot is free again');
  });

  test('defaults: 10 s to authenticate, 60 s idle, 64 per IP; a sweep at least every second', () => {
    assert.deepEqual(DEFAULT_STREAM_LIMITS, { authTimeoutMs: 10_000, idleTimeoutMs: 60_000, maxPerIp: 64 });
    const guard = new StreamGuard(DEFAULT_STREAM_LIMITS, emptyTurnStats());
    assert.equal(guard.sweepIntervalMs, 1000);
    // A Chromium TURN connection in use gets an ICE check every 2.5 s, a backup one every 25 s, and a
    // Refresh / permission / channel refresh within minutes: far inside the 60 s idle timeout.
    assert.ok(DEFAULT_STREAM_LIMITS.idleTimeoutMs >= 2 * 25_000);
    assert.equal(new StreamGuard({ authTimeoutMs: 200, idleTimeoutMs: 300, maxPerIp: 1 }, emptyTurnStats()).sweepIntervalMs, 50);
  });

  test('rejects limits that are not positive integers', () => {
    assert.throws(() => new StreamGuard({ authTimeoutMs: 0, idleTimeoutMs: 1, maxPerIp: 1 }, emptyTurnStats()), /authTimeoutMs/);
    assert.throws(() => new StreamGuard({ authTimeoutMs: 1, idleTimeoutMs: 1, maxPerIp: 1.5 }, emptyTurnStats()), /maxPerIp/);
  });
});
