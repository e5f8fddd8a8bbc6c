// Tests of the native UDP port (native/src/udp_port.cc + udp_binding.cc, NativeUdpPort of
// src/dataplane/native-addon.ts) against node:dgram peers on the loopback: received bytes, lengths and
// sources; arenas that stay intact; batched sends and the queue's overflow paths; bad sends dropped and
// counted; bind errors; close; ports in worker threads that exit or are terminated with the port open.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { setImmediate as immediate } from 'node:timers/promises';
import vm from 'node:vm';
import v8 from 'node:v8';
import { Worker } from 'node:worker_threads';
import { UDP_MAX_BATCH, UDP_META_WORDS, loadNativeAddon, type NativeAddon, type NativeUdpPort } from '../../src/dataplane/native-addon.js';

const load = loadNativeAddon();
const LOOPBACK4 = 0x7f000001;
const BIG_BUFFER = 4 << 20;

/** Rejects when `promise` has not settled within `ms` (every wait here is bounded). */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Distinct content per seed: the seed in the first 4 bytes (when they fit), then a pattern. */
function payload(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let k = 0; k < length; k++) b[k] = (seed * 31 + k * 7) & 255;
  if (length >= 4) b.writeUInt32BE(seed, 0);
  return b;
}

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

async function dgramPeer(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type, recvBufferSize: BIG_BUFFER, sendBufferSize: BIG_BUFFER });
  await within(2000, 'dgram bind', new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, address, () => resolve());
  }));
  return s;
}

/** The next `n` datagrams `s` receives. */
function collect(s: dgram.Socket, n: number, ms = 5000): Promise<Buffer[]> {
  const out: Buffer[] = [];
  return within(ms, `${n} datagrams at the dgram peer`, new Promise<Buffer[]>((resolve) => {
    const on = (msg: Buffer): void => {
      out.push(msg);
      if (out.length === n) {
        s.off('message', on);
        resolve(out);
      }
    };
    s.on('message', on);
  }));
}

function sendAll(s: dgram.Socket, datagrams: Buffer[], port: number, address: string): Promise<void> {
  let left = datagrams.length;
  return within(5000, 'dgram sends', new Promise<void>((resolve, reject) => {
    for (const d of datagrams) s.send(d, port, address, (err) => (err ? reject(err) : --left === 0 && resolve()));
  }));
}

function ipv6Loopback(): boolean {
  return readFileSync('/proc/net/if_inet6', 'utf8').split('\n').some((l) => l.startsWith('00000000000000000000000000000001'));
}

/** A port that is free again (its socket closed) can be bound by dgram. */
async function portIsFree(port: number): Promise<boolean> {
  const s = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(port, '127.0.0.1', () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    s.close();
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
    await sendAll(p, Array.from({ length: 500 }, (_, i) => payload(i, 1200)), port, '127.0.0.1');
    await r.waitFor(500);
    r.got.forEach((d, i) => assert.ok(d.data.equals(payload(i, 1200)), `datagram ${i} intact and in order`));
    assert.equal(Math.max(...r.batchSizes), UDP_MAX_BATCH);
    assert.equal(r.port.counters().batches, r.batchSizes.length);
    assert.deepEqual(missing, []);
  });

  it('views into an old arena stay intact after many more batches', async () => {
    const { r, port } = receiver('127.0.0.1');
    const p = await peer('udp4', '127.0.0.1');
    const rounds = 8;
    const perRound = 60;
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

/** A worker that binds a UdpPort, echoes what it receives and reports; `end` says how it goes away. */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.path);
const meta = new Int32Array(${UDP_MAX_BATCH * UDP_META_WORDS});
let received = 0;
let text = '';
const port = new addon.UdpPort((arena, count) => {
  for (let i = 0; i < count; i++) {
    const o = i * ${UDP_META_WORDS};
    text += arena.toString('latin1', meta[o], meta[o] + meta[o + 1]);
    port.send(arena, meta[o], meta[o + 1], meta[o + 4] >>> 0, meta[o + 3]);
    received++;
  }
  if (workerData.end === 'throw') throw new Error('thrown by onBatch');
  if (received === workerData.expect) {
    parentPort.postMessage({ type: 'done', text });
    if (workerData.end === 'exit') process.exit(0);
  }
}, meta);
process.on('uncaughtException', (e) => parentPort.postMessage({ type: 'uncaught', message: e.message }));
parentPort.postMessage({ type: 'bound', port: port.bind('127.0.0.1', 0, 1 << 20) });
`;

interface WorkerRun {
  worker: Worker;
  port: number;
  next: (type: string) => Promise<{ type: string; text?: string; message?: string }>;
  exited: Promise<number>;
}

async function startWorker(path: string, expect: number, end: 'exit' | 'terminate' | 'throw'): Promise<WorkerRun> {
  const worker = new Worker(WORKER, { eval: true, workerData: { path, expect, end } });
  const messages: Array<{ type: string }> = [];
  const waiting = new Map<string, (m: { type: string }) => void>();
  worker.on('message', (m: { type: string }) => {
    const w = waiting.get(m.type);
    if (w) {
      waiting.delete(m.type);
      w(m);
    } else messages.push(m);
  });
  const exited = within(10_000, 'worker exit', new Promise<number>((resolve, reject) => {
    worker.once('exit', resolve);
    worker.once('error', reject);
  }));
  const next = (type: string): Promise<{ type: string }> => {
    const i = messages.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(messages.splice(i, 1)[0]);
    return within(5000, `worker message ${type}`, new Promise((resolve) => waiting.set(type, resolve)));
  };
  const bound = (await next('bound')) as { type: string; port: number };
  return { worker, port: bound.port, next, exited };
}

describe('native UdpPort in worker threads', () => {
  let path: string;
  let p: dgram.Socket;
  before(async () => {
    assert.ok(load.addon, `the native addon did not load from ${load.path}`);
    path = load.path;
    p = await dgramPeer('udp4', '127.0.0.1');
  });
  after(() => p.close());

  it('two workers receive and echo at once, then exit with their ports open; the sockets are closed', async () => {
    const runs = await Promise.all([startWorker(path, 20, 'exit'), startWorker(path, 20, 'terminate')]);
    const echoes = collect(p, 40);
    await Promise.all(runs.map((run, w) => sendAll(p, Array.from({ length: 20 }, (_, i) => Buffer.from(`w${w}:${i};`)), run.port, '127.0.0.1')));
    const done = await Promise.all(runs.map((run) => run.next('done')));
    done.forEach((m, w) => assert.equal(m.text, Array.from({ length: 20 }, (_, i) => `w${w}:${i};`).join('')));
    assert.equal((await echoes).length, 40);
    await runs[1].worker.terminate();
    assert.deepEqual(await Promise.all(runs.map((run) => run.exited)), [0, 1]);
    for (const run of runs) assert.ok(await portIsFree(run.port), `worker port ${run.port} was closed`);
  });

  it('a worker terminated while datagrams keep arriving does not crash the process', async () => {
    const run = await startWorker(path, 1, 'terminate');
    await sendAll(p, [Buffer.from('first')], run.port, '127.0.0.1');
    await run.next('done');
    const flood = sendAll(p, Array.from({ length: 300 }, () => payload(1, 1200)), run.port, '127.0.0.1');
    await run.worker.terminate();
    await flood;
    assert.equal(await run.exited, 1);
    assert.ok(await portIsFree(run.port));
  });

  it("a throwing onBatch reaches the worker's uncaughtException, and the port keeps working", async () => {
    const run = await startWorker(path, 2, 'throw');
    await sendAll(p, [Buffer.from('a')], run.port, '127.0.0.1');
    assert.equal((await run.next('uncaught')).message, 'thrown by onBatch');
    await sendAll(p, [Buffer.from('b')], run.port, '127.0.0.1');
    assert.equal((await run.next('uncaught')).message, 'thrown by onBatch');
    await run.worker.terminate();
    await run.exited;
  });
});
