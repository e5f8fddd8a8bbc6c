// Tests of the native UDP port (native/src/udp_port.cc + udp_binding.cc, NativeUdpPort of
// src/dataplane/native-addon.ts) against node:dgram peers on the loopback: received bytes, lengths and
// sources; arenas that stay intact; batched sends and the queue's overflow paths; bad sends dropped and
// counted; bind errors; close; a collected port. Worker threads: udp-port-workers.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { setImmediate as immediate } from 'node:timers/promises';
import vm from 'node:vm';
import v8 from 'node:v8';
import { UDP_MAX_BATCH, UDP_META_WORDS, loadNativeAddon, type NativeAddon, type NativeUdpPort } from '../../src/dataplane/native-addon.js';
import { BIG_BUFFER, LOOPBACK4, collect, dgramPeer, ipv6Loopback, payload, portIsFree, sendAll, within } from './udp-test-helpers.js';

const load = loadNativeAddon();
/** The kernel caps SO_RCVBUF at rmem_max: below BIG_BUFFER, bursts are sent in smaller steps. */
const smallBuffers = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')) < BIG_BUFFER;

interface Datagram {
  data: Buffer;
  family: number;
  port: number;
  address: number[];
}

/** A UdpPort with everything it delivers kept as views into its arenas. */
class Receiver {
  readonly meta = new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS);
  readonly got: Datagram[] = [];
  readonly arenas = new Set<Buffer>();
  readonly batchSizes: number[] = [];
  readonly port: NativeUdpPort;
  onBatch?: (arena: Buffer, count: number) => void;
  private waiter: { n: number; resolve: () => void } | undefined;

  constructor(addon: NativeAddon) {
    this.port = new addon.UdpPort((arena, count) => this.take(arena, count), this.meta);
  }

  private take(arena: Buffer, count: number): void {
    this.arenas.add(arena);
    this.batchSizes.push(count);
    for (let i = 0; i < count; i++) {
      const m = this.meta.subarray(i * UDP_META_WORDS, (i + 1) * UDP_META_WORDS);
      const words = m[2] === 4 ? 1 : 4;
      this.got.push({ data: arena.subarray(m[0], m[0] + m[1]), family: m[2], port: m[3], address: [...m.subarray(4, 4 + words)].map((w) => w >>> 0) });
    }
    this.onBatch?.(arena, count);
    if (this.waiter && this.got.length >= this.waiter.n) this.waiter.resolve();
  }

  waitFor(n: number, ms = 5000): Promise<void> {
    if (this.got.length >= n) return Promise.resolve();
    return within(ms, `${n} datagrams (have ${this.got.length})`, new Promise<void>((resolve) => (this.waiter = { n, resolve })));
  }
}

describe('native UdpPort', () => {
  let addon: NativeAddon;
  const cleanup: Array<() => void> = [];
  before(() => {
    assert.ok(load.addon, `the native addon did not load from ${load.path}: ${'reason' in load ? load.reason : ''}`);
    addon = load.addon;
  });
  after(() => cleanup.forEach((c) => c()));

  function receiver(ip: string): { r: Receiver; port: number } {
    const r = new Receiver(addon);
    cleanup.push(() => r.port.close());
    return { r, port: r.port.bind(ip, 0, BIG_BUFFER) };
  }

  async function peer(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> {
    const s = await dgramPeer(type, address);
    cleanup.push(() => s.close());
    return s;
  }

  it('IPv4: datagrams of 1 to 65000 bytes arrive with their bytes, length and source', async () => {
    const { r, port } = receiver('127.0.0.1');
    const p = await peer('udp4', '127.0.0.1');
    const sizes = [1, 100, 1200, 9000, 65000];
    await sendAll(p, sizes.map((n, i) => payload(i, n)), port, '127.0.0.1');
    await r.waitFor(sizes.length);
    sizes.forEach((n, i) => {
      const d = r.got[i];
      assert.equal(d.data.length, n);
      assert.ok(d.data.equals(payload(i, n)), `datagram ${i} (${n} bytes) has its bytes`);
      assert.deepEqual([d.family, d.port, d.address], [4, p.address().port, [LOOPBACK4]]);
      assert.equal(d.data.byteOffset % 8, 0, 'offsets in the arena are 8-byte aligned');
    });
    const c = r.port.counters();
    assert.deepEqual([c.received, c.receivedBytes, c.truncated], [5, sizes.reduce((a, b) => a + b), 0]);
  });

  it('a burst of 500 arrives in full batches; nextTicks and microtasks of a batch run before the next', async () => {
    const { r, port } = receiver('127.0.0.1');
    const p = await peer('udp4', '127.0.0.1');
    const ran: string[] = [];
    const missing: number[] = [];
    r.onBatch = () => {
      const batch = r.batchSizes.length;
      if (batch > 1 && !(ran.includes(`tick ${batch - 1}`) && ran.includes(`micro ${batch - 1}`))) missing.push(batch - 1);
      process.nextTick(() => ran.push(`tick ${batch}`));
      void Promise.resolve().then(() => ran.push(`micro ${batch}`));
    };
    // all at once where the kernel grants the big receive buffer, else in steps it can hold
    const step = smallBuffers ? 100 : 500;
    for (let at = 0; at < 500; at += step) {
      await sendAll(p, Array.from({ length: step }, (_, i) => payload(at + i, 1200)), port, '127.0.0.1');
      await r.waitFor(at + step);
    }
    r.got.forEach((d, i) => assert.ok(d.data.equals(payload(i, 1200)), `datagram ${i} intact and in order`));
    assert.equal(Math.max(...r.batchSizes), UDP_MAX_BATCH);
    assert.equal(r.port.counters().batches, r.batchSizes.length);
    assert.deepEqual(missing, []);
  });

  it('views into an old arena stay intact after many more batches', async () => {
    const { r, port } = receiver('127.0.0.1');
    const p = await peer('udp4', '127.0.0.1');
    const rounds = smallBuffers ? 24 : 8;
    const perRound = smallBuffers ? 20 : 60;
    for (let round = 0; round < rounds; round++) {
      await sendAll(p, Array.from({ length: perRound }, (_, i) => payload(round * perRound + i, 9000)), port, '127.0.0.1');
      await r.waitFor((round + 1) * perRound);
    }
    assert.ok(r.arenas.size >= 3, `several arenas were used (${r.arenas.size})`);
    r.got.forEach((d, i) => assert.ok(d.data.equals(payload(i, 9000)), `datagram ${i} still intact`));
  });

  it('IPv6 ::1, and an IPv4 source on a dual-stack socket is reported as family 4', { skip: !ipv6Loopback() && 'no IPv6 loopback' }, async () => {
    const v6 = receiver('::1');
    const p6 = await peer('udp6', '::1');
    await sendAll(p6, [payload(1, 1200), payload(2, 65000)], v6.port, '::1');
    await v6.r.waitFor(2);
    for (const [i, d] of v6.r.got.entries()) {
      assert.ok(d.data.equals(payload(i + 1, d.data.length)));
      assert.deepEqual([d.family, d.port, d.address], [6, p6.address().port, [0, 0, 0, 1]]);
    }
    const dual = receiver('::');
    const p4 = await peer('udp4', '127.0.0.1');
    await sendAll(p4, [payload(3, 100)], dual.port, '127.0.0.1');
    await dual.r.waitFor(1);
    assert.deepEqual([dual.r.got[0].family, dual.r.got[0].port, dual.r.got[0].address], [4, p4.address().port, [LOOPBACK4]]);
    // and back: send() to an IPv4 address from the dual-stack socket, send6() to ::1
    const back4 = collect(p4, 1);
    dual.r.port.send(payload(4, 300), 0, 300, LOOPBACK4, p4.address().port);
    assert.equal(dual.r.port.flush(), 1);
    assert.ok((await back4)[0].equals(payload(4, 300)));
    const back6 = collect(p6, 1);
    const ip6 = Buffer.alloc(16);
    ip6[15] = 1;
    v6.r.port.send6(payload(5, 1200), 0, 1200, ip6, p6.address().port);
    assert.equal(v6.r.port.flush(), 1);
    assert.ok((await back6)[0].equals(payload(5, 1200)));
  });

  it('send/flush: one datagram, then a burst of 200 through the queue overflow', async () => {
    const { r } = receiver('127.0.0.1');
    const p = await peer('udp4', '127.0.0.1');
    const to = p.address().port;
    const one = collect(p, 1);
    const frame = Buffer.concat([Buffer.alloc(10, 0xee), payload(7, 1200)]);
    r.port.send(frame, 10, 1200, LOOPBACK4, to);
    assert.equal(r.port.counters().sent, 0, 'queued, not sent');
    assert.equal(r.port.flush(), 1);
    assert.ok((await one)[0].equals(payload(7, 1200)));

    const burst = collect(p, 200);
    const sizes = Array.from({ length: 200 }, (_, i) => 1 + ((i * 97) % 1400));
    sizes.forEach((n, i) => r.port.send(payload(i, n), 0, n, LOOPBACK4, to));
    assert.equal(r.port.counters().sent, 1 + 192, 'three full queues of 64 went out by themselves');
    assert.equal(r.port.flush(), 8);
    (await burst).forEach((m, i) => assert.ok(m.equals(payload(i, sizes[i])), `datagram ${i} intact`));
    const c = r.port.counters();
    assert.deepEqual([c.sent, c.sentBytes, c.sendErrors, c.sendDropped], [201, 1200 + sizes.reduce((a, b) => a + b), 0, 0]);
  });

  it('the send buffer overflow: big datagrams go out when the next one does not fit', async () => {
    const { r } = receiver('127.0.0.1');
    const p = await peer('udp4', '127.0.0.1');
    const got = collect(p, 5);
    for (let i = 0; i < 4; i++) r.port.send(payload(i, 60000), 0, 60000, LOOPBACK4, p.address().port);
    assert.equal(r.port.counters().sent, 0);
    r.port.send(payload(4, 60000), 0, 60000, LOOPBACK4, p.address().port);
    assert.equal(r.port.counters().sent, 4);
    assert.equal(r.port.flush(), 1);
    (await got).forEach((m, i) => assert.ok(m.equals(payload(i, 60000))));
  });

  it('bad offsets, lengths, addresses and ports are dropped and counted', async () => {
    const { r } = receiver('127.0.0.1');
    const p = await peer('udp4', '127.0.0.1');
    const to = p.address().port;
    const b = payload(9, 100);
    const big = Buffer.alloc(70000);
    const bad: Array<[number, number, number, number]> = [
      [-1, 10, LOOPBACK4, to], [0, 101, LOOPBACK4, to], [100, 1, LOOPBACK4, to], [1.5, 1, LOOPBACK4, to],
      [NaN, 1, LOOPBACK4, to], [0, Infinity, LOOPBACK4, to], [2 ** 53, 1, LOOPBACK4, to], [0, 10, NaN, to],
      [0, 10, LOOPBACK4, 0], [0, 10, LOOPBACK4, 70000], [0, 10, LOOPBACK4, -5],
    ];
    for (const [offset, length, ip, port] of bad) r.port.send(b, offset, length, ip, port);
    r.port.send(big, 0, 65508, LOOPBACK4, to);
    r.port.send6(b, 0, 10, Buffer.alloc(15), to);
    r.port.send6(b, 0, 10, Buffer.alloc(16), to); // an IPv6 address on an IPv4 socket
    assert.throws(() => r.port.send('not a buffer' as unknown as Buffer, 0, 1, LOOPBACK4, to), TypeError);
    assert.equal(r.port.flush(), 0);
    assert.deepEqual([r.port.counters().sendDropped, r.port.counters().sent], [bad.length + 3, 0]);
    const got = collect(p, 2);
    r.port.send(b, 90, 10, LOOPBACK4, to);
    r.port.send(big, 0, 65507, LOOPBACK4, to);
    assert.equal(r.port.flush(), 2);
    const [small, largest] = await got;
    assert.ok(small.equals(b.subarray(90)));
    assert.equal(largest.length, 65507);
  });

  it('bind errors are thrown with their errno code', async () => {
    const p = await peer('udp4', '127.0.0.1');
    const port = new addon.UdpPort(() => {}, new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS));
    cleanup.push(() => port.close());
    assert.throws(() => port.bind('127.0.0.1', p.address().port, 0), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && /EADDRINUSE/.test(e.message));
    assert.throws(() => port.bind('localhost', 0, 0), (e: NodeJS.ErrnoException) => e.code === 'EINVAL');
    port.bind('127.0.0.1', 0, 0);
    assert.throws(() => port.bind('127.0.0.1', 0, 0), (e: NodeJS.ErrnoException) => e.code === 'EISCONN');
    assert.throws(() => new addon.UdpPort(() => {}, new Int32Array(8)), TypeError);
  });

  it('close is idempotent, stops receiving (also from inside onBatch), and drops later sends', async () => {
    const { r, port } = receiver('127.0.0.1');
    const p = await peer('udp4', '127.0.0.1');
    r.onBatch = () => r.port.close();
    await sendAll(p, Array.from({ length: 100 }, (_, i) => payload(i, 100)), port, '127.0.0.1');
    await r.waitFor(1);
    r.port.close();
    r.port.close();
    assert.equal(r.batchSizes.length, 1, 'no batch after close');
    r.port.send(payload(1, 10), 0, 10, LOOPBACK4, p.address().port);
    assert.equal(r.port.flush(), 0);
    assert.deepEqual([r.port.counters().sent, r.port.counters().sendDropped], [0, 1]);
    assert.ok(await portIsFree(port), 'the socket is closed');
  });

  it('a port that is garbage-collected closes its socket', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const bound = ((): number => new addon.UdpPort(() => {}, new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS)).bind('127.0.0.1', 0, 0))();
    let free = false;
    for (let attempt = 0; attempt < 50 && !free; attempt++) {
      gc();
      await immediate();
      free = await portIsFree(bound);
    }
    assert.ok(free, 'the socket was closed by the finalizer');
  });
});
