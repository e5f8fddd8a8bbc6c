// DataChannels against werift's SCTP as the client: DCEP open and ack, messages both ways with their
// labels, and the buffering bound (lossy dropped, reliable channel closed) when the client stops acking.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createLogger } from '../../../src/log/logger.js';
import { DataChannels } from '../../../src/media/transport/data-channels.js';

const req = createRequire(import.meta.url);
const { SCTP } = req(path.join(path.dirname(req.resolve('werift')), '../../sctp/src/index.js'));

function dcepOpen(label: string, unordered: boolean, maxRetransmits?: number): Buffer {
  const l = Buffer.from(label);
  const b = Buffer.alloc(12 + l.length);
  b[0] = 0x03;
  b[1] = (unordered ? 0x80 : 0) | (maxRetransmits !== undefined ? 0x01 : 0);
  b.writeUInt32BE(maxRetransmits ?? 0, 4);
  b.writeUInt16BE(l.length, 8);
  l.copy(b, 12);
  return b;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function connect() {
  const state = { stalled: false };
  const clientTransport: { onData?: (b: Buffer) => void; send: (b: Buffer) => Promise<void>; close: () => void } = {
    send: async (b) => server.receive(b),
    close: () => {},
  };
  const server = new DataChannels(
    (b) => {
      if (!state.stalled) setImmediate(() => clientTransport.onData?.(b));
    },
    { maxBuffered: 64 * 1024 },
    createLogger('silent', false),
  );
  const client = SCTP.client(clientTransport, 5000);
  const heard: [number, number, Buffer][] = [];
  client.onReceive.subscribe((s: number, p: number, d: Buffer) => heard.push([s, p, d]));
  server.start(5000);
  void client.start(5000);
  return { server, client, heard, state };
}

test('DCEP: the client opens reliable and lossy channels, the server acks, messages flow both ways', async () => {
  const { server, client, heard } = connect();
  const got: [string, Buffer][] = [];
  server.on('message', (label, data) => got.push([label, data]));
  await until(() => client.state === 'connected', 'association up');
  await client.send(0, 50, dcepOpen('reliable', false));
  await client.send(2, 50, dcepOpen('lossy', true, 0), { ordered: false, maxRetransmits: 0 });
  await until(() => heard.filter(([, p]) => p === 50).length === 2, 'two DCEP acks');
  assert.deepEqual(heard.map(([s, p, d]) => [s, p, [...d]]), [[0, 50, [2]], [2, 50, [2]]]);
  assert.deepEqual(server.channel('lossy'), { label: 'lossy', streamId: 2, ordered: false, maxRetransmits: 0, closed: false });
  assert.equal(server.channel('reliable')?.ordered, true);

  await client.send(0, 53, Buffer.from([1, 2, 3]));
  await client.send(2, 53, Buffer.from([4]), { ordered: false, maxRetransmits: 0 });
  await until(() => got.length === 2, 'two messages');
  assert.deepEqual(got.map(([l, d]) => [l, [...d]]).sort(), [['lossy', [4]], ['reliable', [1, 2, 3]]]);

  assert.equal(server.send('reliable', Buffer.from([7, 8])), 'sent');
  assert.equal(server.send('nope', Buffer.from([1])), 'closed');
  await until(() => heard.some(([s, p]) => s === 0 && p === 53), 'message to the client');
  assert.deepEqual([...heard.find(([s, p]) => s === 0 && p === 53)![2]], [7, 8]);
  server.close();
  await client.stop();
});

test('a receiver that stops acking: lossy messages are dropped, the reliable channel is closed', async () => {
  const { server, client, state } = connect();
  const closed: string[] = [];
  server.on('close', (ch) => closed.push(ch.label));
  await until(() => client.state === 'connected', 'association up');
  await client.send(0, 50, dcepOpen('reliable', false));
  await client.send(2, 50, dcepOpen('lossy', true, 0), { ordered: false, maxRetransmits: 0 });
  await until(() => server.channel('lossy') !== undefined, 'channels open');
  await new Promise((r) => setTimeout(r, 50));
  state.stalled = true;
  const big = Buffer.alloc(1000);
  const lossy = Array.from({ length: 500 }, () => server.send('lossy', big));
  assert.ok(lossy.includes('dropped'), 'some lossy messages dropped');
  assert.ok(server.buffered <= 64 * 1024 + 1000, `buffered ${server.buffered}`);
  const reliable = Array.from({ length: 200 }, () => server.send('reliable', big));
  assert.ok(reliable.includes('closed'));
  assert.equal(server.channel('reliable'), undefined);
  assert.deepEqual(closed, ['reliable'], 'the close is reported once');
  assert.equal(server.send('reliable', big), 'closed');
  server.close();
  await client.stop();
});

test('the client resets a channel\'s stream: the channel is reported closed once and its label may open again', async () => {
  const { server, client } = connect();
  const events: string[] = [];
  server.on('open', (ch) => events.push(`open ${ch.label} ${ch.streamId}`));
  server.on('close', (ch) => events.push(`close ${ch.label} ${ch.streamId}`));
  await until(() => client.state === 'connected', 'association up');
  await client.send(0, 50, dcepOpen('reliable', false));
  await until(() => server.channel('reliable') !== undefined, 'channel open');
  client.reconfigQueue.push(0);
  await client.transmitReconfigRequest();
  await until(() => events.length === 2, 'close reported');
  assert.equal(server.channel('reliable'), undefined);
  await client.send(4, 50, dcepOpen('reliable', false));
  await until(() => events.length === 3, 'reopened');
  assert.deepEqual(events, ['open reliable 0', 'close reliable 0', 'open reliable 4']);
  assert.equal(server.channel('reliable')?.streamId, 4);
  server.close();
  await client.stop();
});
