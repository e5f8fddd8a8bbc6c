// Tests of the native UDP port in worker threads (the addon is context-aware): two ports in two workers at
// once, workers that exit or are terminated with their port open (no crash, the socket is closed), and a
// throwing onBatch that reaches the worker's 'uncaughtException'.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { UDP_MAX_BATCH, UDP_META_WORDS, loadNativeAddon } from '../../src/dataplane/native-addon.js';
import { collect, dgramPeer, payload, portIsFree, sendAll, within } from './udp-test-helpers.js';

const load = loadNativeAddon();

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
