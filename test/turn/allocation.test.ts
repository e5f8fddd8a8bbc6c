import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Allocation,
  CHANNEL_LIFETIME_S,
  CHANNEL_REUSE_GUARD_S,
  PERMISSION_LIFETIME_S,
  allocateLifetime,
  isValidChannelNumber,
  refreshLifetime,
} from '../../src/turn/allocation.js';
import { PortPool } from '../../src/turn/port-pool.js';

const T0 = 1_700_000_000_000;
const S = 1000;

function makeAllocation(lifetimeSeconds = 600): Allocation {
  return new Allocation({
    id: 'a1',
    transport: 'udp',
    client: { address: '127.0.0.1', port: 5000 },
    username: '1:p',
    key: Buffer.alloc(16),
    relayed: { address: '127.0.0.1', port: 60000 },
    createTransactionId: Buffer.alloc(12),
    lifetimeSeconds,
    now: T0,
  });
}

const VIRTUAL = { address: '127.0.0.1', port: 50001 };
const OTHER = { address: '127.0.0.1', port: 50002 };

describe('allocation lifetimes', () => {
  it('Allocate: default 600 s when absent or smaller, capped at 3600 s', () => {
    assert.equal(allocateLifetime(undefined), 600);
    assert.equal(allocateLifetime(30), 600);
    assert.equal(allocateLifetime(1200), 1200);
    assert.equal(allocateLifetime(99999), 3600);
  });

  it('Refresh: 0 deletes, absent is the default, capped at 3600 s', () => {
    assert.equal(refreshLifetime(0), 0);
    assert.equal(refreshLifetime(undefined), 600);
    assert.equal(refreshLifetime(60), 60);
    assert.equal(refreshLifetime(99999), 3600);
  });

  it('expires at its lifetime and refresh() extends it', () => {
    const a = makeAllocation(600);
    assert.equal(a.isExpired(T0 + 599 * S), false);
    assert.equal(a.isExpired(T0 + 600 * S), true);
    assert.equal(a.remainingSeconds(T0 + 100 * S), 500);
    a.refresh(600, T0 + 500 * S);
    assert.equal(a.isExpired(T0 + 1099 * S), false);
    assert.equal(a.isExpired(T0 + 1100 * S), true);
  });
});

describe('permissions', () => {
  it('are per IP, last 300 s and are refreshed by reinstalling', () => {
    const a = makeAllocation();
    assert.equal(a.hasPermission('127.0.0.1', T0), false);
    a.installPermission('127.0.0.1', T0);
    assert.equal(a.hasPermission('127.0.0.1', T0 + (PERMISSION_LIFETIME_S - 1) * S), true);
    assert.equal(a.hasPermission('127.0.0.2', T0), false);
    assert.equal(a.hasPermission('127.0.0.1', T0 + PERMISSION_LIFETIME_S * S), false);
    a.installPermission('127.0.0.1', T0 + 200 * S);
    assert.equal(a.hasPermission('127.0.0.1', T0 + 400 * S), true);
    a.sweep(T0 + 500 * S);
    assert.equal(a.sizes.permissions, 0);
  });
});

describe('channel bindings', () => {
  it('accept 0x4000-0x7fff only', () => {
    assert.equal(isValidChannelNumber(0x4000), true);
    assert.equal(isValidChannelNumber(0x7fff), true);
    assert.equal(isValidChannelNumber(0x3fff), false);
    assert.equal(isValidChannelNumber(0x8000), false);
  });

  it('bind both ways, install a permission, and last 600 s', () => {
    const a = makeAllocation();
    assert.equal(a.bindChannel(0x4001, VIRTUAL, T0), 'ok');
    assert.deepEqual(a.peerOfChannel(0x4001, T0), VIRTUAL);
    assert.equal(a.channelOfPeer(VIRTUAL, T0), 0x4001);
    assert.equal(a.hasPermission(VIRTUAL.address, T0), true);
    assert.equal(a.peerOfChannel(0x4001, T0 + (CHANNEL_LIFETIME_S - 1) * S)?.port, VIRTUAL.port);
    assert.equal(a.peerOfChannel(0x4001, T0 + CHANNEL_LIFETIME_S * S), undefined);
    assert.equal(a.channelOfPeer(VIRTUAL, T0 + CHANNEL_LIFETIME_S * S), undefined);
  });

  it('refresh with the same pair, refuse conflicting pairs (also during the reuse guard)', () => {
    const a = makeAllocation();
    assert.equal(a.bindChannel(0x4001, VIRTUAL, T0), 'ok');
    assert.equal(a.bindChannel(0x4001, VIRTUAL, T0 + 500 * S), 'ok');
    assert.equal(a.peerOfChannel(0x4001, T0 + 1000 * S)?.port, VIRTUAL.port);
    assert.equal(a.bindChannel(0x4001, OTHER, T0 + 501 * S), 'channel-bound-to-other-peer');
    assert.equal(a.bindChannel(0x4002, VIRTUAL, T0 + 501 * S), 'peer-bound-to-other-channel');
    assert.equal(a.bindChannel(0x4002, OTHER, T0 + 501 * S), 'ok');

    const expiry = T0 + 500 * S + CHANNEL_LIFETIME_S * S;
    assert.equal(a.peerOfChannel(0x4001, expiry), undefined);
    assert.equal(a.bindChannel(0x4001, { address: '127.0.0.1', port: 1 }, expiry + 1 * S), 'channel-bound-to-other-peer');
    const afterGuard = expiry + CHANNEL_REUSE_GUARD_S * S;
    assert.equal(a.bindChannel(0x4001, { address: '127.0.0.1', port: 1 }, afterGuard), 'ok');
    assert.equal(a.channelOfPeer(VIRTUAL, afterGuard), undefined);
    a.sweep(afterGuard);
    assert.equal(a.sizes.channels, 2); // 0x4001 (new peer) and 0x4002 (still in its guard)
  });
});

describe('port pool', () => {
  it('hands out distinct ports, honours reservations and releases', () => {
    const pool = new PortPool(50000, 50009);
    pool.reserve(50005);
    pool.reserve(40000); // outside: ignored
    const got = new Set<number>();
    for (let i = 0; i < 9; i++) got.add(pool.acquire()!);
    assert.equal(got.size, 9);
    assert.equal(got.has(50005), false);
    assert.equal(pool.acquire(), undefined);
    pool.release(50003);
    assert.equal(pool.acquire(), 50003);
    assert.throws(() => new PortPool(10, 5), RangeError);
  });
});
