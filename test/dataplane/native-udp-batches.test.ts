// NativeUdpSocket hands a recvmmsg batch to the TURN server datagram by datagram, but what follows a DTLS
// datagram (ChannelData whose payload starts 20–63) waits for the next turn of the event loop, as node:dgram
// would deliver it (werift's DTLS/SCTP finish each record's asynchronous work first); order is kept, SRTP
// before any DTLS goes at once, and later batches queue behind held-back datagrams.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import pino from 'pino';
import { loadNativeAddon, type NativeUdpPort } from '../../src/dataplane/native-addon.js';
import { NativeUdpSocket } from '../../src/dataplane/native-udp.js';

const { addon } = loadNativeAddon();

function channelData(first: number, tag: number): Buffer {
  const b = Buffer.alloc(4 + 20, tag);
  b.writeUInt16BE(0x4000, 0);
  b.writeUInt16BE(20, 2);
  b[4] = first;
  return b;
}

test('a batch is split after each DTLS datagram, in order; the rest of it comes a loop turn later', async () => {
  assert.ok(addon);
  const seen: { tag: number; turn: number }[] = [];
  let turn = 0;
  const socket = new NativeUdpSocket(addon, (msg) => seen.push({ tag: msg[5]!, turn }), pino({ level: 'silent' }));
  const port = await socket.bind(0, '127.0.0.1', 1 << 20);
  const native = (socket as unknown as { port: NativeUdpPort }).port;
  native.poll(false);
  const sender = dgram.createSocket('udp4');
  try {
    // SRTP, SRTP, DTLS, SRTP, DTLS, SRTP: one batch.
    const kinds = [0x80, 0x80, 22, 0x80, 23, 0x80];
    for (const [i, k] of kinds.entries()) sender.send(channelData(k, i + 1), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    native.read();
    assert.deepEqual(seen, [{ tag: 1, turn: 0 }, { tag: 2, turn: 0 }, { tag: 3, turn: 0 }], 'up to and with the first DTLS datagram at once');
    for (let t = 1; t <= 3; t++) {
      turn = t;
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(
      seen.map((s) => s.tag),
      [1, 2, 3, 4, 5, 6],
      'all of them, in order',
    );
    assert.ok(seen[3]!.turn >= 1 && seen[5]!.turn > seen[4]!.turn, `after each DTLS datagram a later turn: ${JSON.stringify(seen)}`);
  } finally {
    sender.close();
    await socket.close();
  }
});
