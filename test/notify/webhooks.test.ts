// Per-room webhooks end to end: a real Shoal posts protobuf ServerMessages to a local receiver, one per
// request, in order, signed; a receiver that is down for 60 s loses nothing and order is kept.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { fromBinary } from '@bufbuild/protobuf';
import { ServerMessageSchema } from '../../src/gen/fishjam/server_notifications_pb.js';
import { verifyWebhookSignature } from '../../src/notify/webhook-sender.js';
import { api, freePort, startShoal, type TestShoal } from '../helpers/server.js';
import { RawPeer } from '../helpers/raw-peer.js';

const SECRET = 'webhook-secret-for-tests';

interface Received {
  path: string;
  contentType: string | undefined;
  signatureOk: boolean;
  event: string;
  roomId: string;
}

class Receiver {
  readonly received: Received[] = [];
  up = true;
  private server: Server | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = new Uint8Array(Buffer.concat(chunks));
        const msg = fromBinary(ServerMessageSchema, body);
        this.received.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          signatureOk: verifyWebhookSignature(SECRET, body, req.headers['x-fishjam-signature-256'] as string | undefined),
          event: msg.content.case ?? 'none',
          roomId: (msg.content.value as { roomId?: string } | undefined)?.roomId ?? '',
        });
        res.writeHead(200).end();
        for (const w of this.waiters.splice(0)) w();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  events(roomId: string): string[] {
    return this.received.filter((r) => r.roomId === roomId).map((r) => r.event);
  }

  async waitForEvent(roomId: string, event: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.events(roomId).includes(event)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`webhook ${event} for ${roomId} not received; got ${this.events(roomId).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

let s: TestShoal;
let receiver: Receiver;

before(async () => {
  s = await startShoal({ FJ_WEBHOOK_SECRET: SECRET });
  receiver = new Receiver(await freePort());
  await receiver.start();
});
after(async () => {
  await s.stop();
  await receiver.stop();
});

async function scenario(webhookUrl: string): Promise<string> {
  const created = await api(s, 'POST', '/room', { webhookUrl });
  assert.equal(created.status, 201, created.text);
  const roomId = created.json.data.room.id;
  const p = await api(s, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
  const peer = new RawPeer(s.wsUrl);
  await peer.join(p.json.data.token, { name: 'w' });
  peer.close();
  await peer.waitClosed();
  // peerDisconnected is published when the server sees the close; wait for it via REST state.
  const deadline = Date.now() + 5000;
  while ((await api(s, 'GET', `/room/${roomId}`)).json.data.peers[0].status !== 'disconnected') {
    if (Date.now() > deadline) throw new Error('peer did not become disconnected');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal((await api(s, 'DELETE', `/room/${roomId}`)).status, 204);
  return roomId;
}

const EXPECTED = ['roomCreated', 'peerAdded', 'peerConnected', 'peerMetadataUpdated', 'peerDisconnected', 'peerDeleted', 'roomDeleted'];

describe('webhooks', () => {
  test('every room event is POSTed as a signed protobuf ServerMessage, one per request, in order', async () => {
    const roomId = await scenario(`http://127.0.0.1:${receiver.port}/hooks/a`);
    await receiver.waitForEvent(roomId, 'roomDeleted', 10_000);
    assert.deepEqual(receiver.events(roomId), EXPECTED);
    for (const r of receiver.received.filter((x) => x.roomId === roomId)) {
      assert.equal(r.path, '/hooks/a');
      assert.equal(r.contentType, 'application/x-protobuf');
      assert.equal(r.signatureOk, true);
    }
  });

  test('rooms without webhookUrl send nothing; the URL is forgotten after RoomDeleted', async () => {
    const before = receiver.received.length;
    const r = await api(s, 'POST', '/room', {});
    await api(s, 'DELETE', `/room/${r.json.data.room.id}`);
    const marker = await scenario(`http://127.0.0.1:${receiver.port}/hooks/marker`);
    await receiver.waitForEvent(marker, 'roomDeleted', 10_000);
    assert.equal(receiver.received.slice(before).filter((x) => x.roomId === r.json.data.room.id).length, 0);
  });

  test('a receiver down for 60 s loses nothing and order is kept', { timeout: 150_000 }, async () => {
    await receiver.stop();
    const downAt = Date.now();
    const roomId = await scenario(`http://127.0.0.1:${receiver.port}/hooks/outage`);
    await new Promise((r) => setTimeout(r, 60_000 - (Date.now() - downAt)));
    assert.equal(receiver.events(roomId).length, 0);
    assert.ok(s.shoal.webhooks.stats.failedAttempts > 0);
    await receiver.start();
    await receiver.waitForEvent(roomId, 'roomDeleted', 30_000);
    assert.deepEqual(receiver.events(roomId), EXPECTED);
    assert.equal(s.shoal.webhooks.stats.dropped, 0);
  });
});
