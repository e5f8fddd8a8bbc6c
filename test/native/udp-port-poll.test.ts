// UdpPort's read modes: poll(false) leaves datagrams in the socket until read() (a load generator reading
// on a timer takes many per call), poll(true) goes back to reading whenever the socket is readable; and
// reuseArena(true), which writes one arena over and over instead of making a new one per MiB.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { UDP_MAX_BATCH, UDP_META_WORDS, loadNativeAddon } from '../../src/dataplane/native-addon.js';
test('poll(false): datagrams wait in the socket until read(), then arrive in one batch; poll(true) reads on its own again', async () => {
  const { addon } = loadNativeAddon();
  assert.ok(addon);
  const batches: number[] = [];
  const meta = new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS);
  const port = new addon.UdpPort((_arena, count) => batches.push(count), meta);
  const bound = port.bind('127.0.0.1', 0, 1 << 20);
  port.poll(false);
  const sender = dgram.createSocket('udp4');
  try {
    for (let i = 0; i < 20; i++) sender.send(Buffer.alloc(100, i), bound, '127.0.0.1');
    // Let the loop spin a few times: nothing may be delivered while polling is off.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(batches, []);
    port.read();
    assert.deepEqual(batches, [20], 'all twenty in one batch');
    port.poll(true);
    sender.send(Buffer.alloc(10), bound, '127.0.0.1');
    const deadline = Date.now() + 5000;
    while (batches.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(batches, [20, 1]);
  } finally {
    sender.close();
    port.close();
  }
});

test('reuseArena(true): once the arena is full the same one is written again (no new arena per MiB); by default a new one', async () => {
  const { addon } = loadNativeAddon();
  assert.ok(addon);
  for (const reuse of [false, true]) {
    const arenas = new Set<Buffer>();
    let got = 0;
    const meta = new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS);
    const port = new addon.UdpPort((arena, count) => {
      arenas.add(arena);
      got += count;
    }, meta);
    port.reuseArena(reuse);
    const bound = port.bind('127.0.0.1', 0, 8 << 20);
    port.poll(false);
    const sender = dgram.createSocket('udp4');
    try {
      // 3 MiB in 48 datagrams of 64 KiB − 1 KiB, read after each 16 (the socket buffer holds them).
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 16; i++) sender.send(Buffer.alloc(64512, i), bound, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 100));
        port.read();
      }
      assert.equal(got, 48);
      if (reuse) assert.equal(arenas.size, 1, 'one arena, reused');
      else assert.ok(arenas.size >= 3, `a new arena per MiB (saw ${arenas.size})`);
    } finally {
      sender.close();
      port.close();
    }
  }
});
