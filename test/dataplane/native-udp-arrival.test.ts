// The native UDP socket reports each datagram's kernel receive time (SO_TIMESTAMPNS, as an age in its meta
// entry) through datagramArrivalMs() while the datagram is delivered: a datagram that waited in the socket
// buffer while the thread was busy carries the time it arrived, not the time it was handled (what
// transport-cc feedback must report); outside a delivery, and on a socket without it, it is "now".
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadNativeAddon, UDP_MAX_BATCH, UDP_META_WORDS, type NativeUdpPort } from '../../src/dataplane/native-addon.js';
import { NativeUdpSocket } from '../../src/dataplane/native-udp.js';
import { datagramArrivalMs } from '../../src/turn/udp-socket.js';
import { LOOPBACK4, within } from '../native/udp-test-helpers.js';

const { addon } = loadNativeAddon();

/** Spins the thread for `ms` (the socket cannot be read meanwhile). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* spin */
  }
}

describe('native UDP socket: kernel arrival times', () => {
  let server: NativeUdpSocket;
  let serverPort = 0;
  let sender: NativeUdpPort;
  let onDatagram: (msg: Buffer) => void = () => {};

  before(async () => {
    assert.ok(addon, 'the native addon must be built');
    server = new NativeUdpSocket(addon, (msg) => onDatagram(msg), pino({ level: 'silent' }));
    serverPort = await server.bind(0, '127.0.0.1', 1 << 20);
    sender = new addon.UdpPort(() => {}, new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS));
    sender.bind('127.0.0.1', 0, 1 << 20);
    // Linux turns receive timestamps on for the host in a deferred work item after the first socket asks
    // (net_enable_timestamp): until it has run, a datagram is stamped when it is read, not when it
    // arrived. Wait (bounded) until a datagram that waited 20 ms is reported as having waited.
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 100, 'kernel receive timestamps never took effect');
      let waited = -1;
      const got = new Promise<void>((resolve) => {
        onDatagram = () => {
          waited = performance.now() - datagramArrivalMs();
          resolve();
        };
      });
      sender.send(Buffer.from([9]), 0, 1, LOOPBACK4, serverPort);
      sender.flush();
      busy(20);
      await within(2000, 'a warm-up datagram', got);
      if (waited >= 15) break;
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  after(async () => {
    sender.close();
    await server.close();
  });

  test('datagrams that waited while the thread was busy are delivered with the time they arrived', async () => {
    const seen: { n: number; arrival: number; handled: number }[] = [];
    const all = new Promise<void>((resolve) => {
      onDatagram = (msg) => {
        seen.push({ n: msg[0]!, arrival: datagramArrivalMs(), handled: performance.now() });
        if (seen.length === 3) resolve();
      };
    });
    // Three datagrams 40 ms apart, all sent while the thread cannot read them (flush() writes at once).
    const sentAt: number[] = [];
    for (let n = 0; n < 3; n++) {
      if (n > 0) busy(40);
      sender.send(Buffer.from([n, 1, 2, 3]), 0, 4, LOOPBACK4, serverPort);
      sender.flush();
      sentAt.push(performance.now());
    }
    busy(60);
    await within(5000, 'three datagrams', all);
    assert.deepEqual(seen.map((s) => s.n), [0, 1, 2]);
    for (const [i, s] of seen.entries()) {
      assert.ok(s.handled - sentAt[i]! >= 60, `datagram ${i} was handled ${s.handled - sentAt[i]!} ms after it was sent (the thread was busy)`);
      assert.ok(Math.abs(s.arrival - sentAt[i]!) < 15, `datagram ${i}: arrival ${(s.arrival - sentAt[i]!).toFixed(2)} ms from its send, should be ~0`);
    }
    // Their spacing is the spacing they were sent with, not the moment they were all read.
    assert.ok(seen[2]!.arrival - seen[0]!.arrival >= 70, `arrivals span ${(seen[2]!.arrival - seen[0]!.arrival).toFixed(1)} ms`);
  });

  test('outside a delivery the arrival time is now', () => {
    const before = performance.now();
    const at = datagramArrivalMs();
    assert.ok(at >= before && at <= performance.now());
  });
});
