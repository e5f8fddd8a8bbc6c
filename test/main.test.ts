// The server process and its shutdown (issue 10), as an operator runs it: `npm start` is the server
// itself (SIGTERM to it stops the server, no orphan keeps the port); the first SIGTERM drains — peers
// are told to reconnect (1012 'Server is shutting down', a reason neither client treats as final), the
// backend's webhook receives peerDeleted and roomDeleted before the process exits, new rooms/peers get 503
// and new peer sockets are hung up while the drain waits — and a second signal exits at once.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { fromBinary } from '@bufbuild/protobuf';
import { ServerMessageSchema } from '../src/gen/fishjam/server_notifications_pb.js';
import { freePort } from './helpers/server.js';
import { killShoalProcesses, spawnShoal, type ShoalProcess } from './helpers/shoal-process.js';
import { RawPeer, waitFor } from './helpers/raw-peer.js';

const TOKEN = 'shutdown-test-token';
const servers: Server[] = [];
after(async () => {
  killShoalProcesses();
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
});

type Started = ShoalProcess;

/** Starts `command` (npm start, or node on src/main.ts) and waits (bounded) for it to listen. */
const start = (command: string[], env: Record<string, string> = {}) => spawnShoal({ token: TOKEN, command, env });

function exitWithin(s: Started, ms: number): Promise<number | null> {
  return Promise.race([s.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${ms} ms:\n${s.output()}`)), ms))]);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

async function rest(port: number, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** A webhook receiver: records the event kinds; `hold` keeps requests unanswered. */
async function receiver(hold = false): Promise<{ url: string; events: string[] }> {
  const events: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      events.push(fromBinary(ServerMessageSchema, new Uint8Array(Buffer.concat(chunks))).content.case ?? 'none');
      if (!hold) res.writeHead(200).end();
    });
  });
  servers.push(server);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}/hook`, events };
}

async function joinedPeer(port: number, roomId: string): Promise<RawPeer> {
  const peer = await rest(port, 'POST', `/room/${roomId}/peer`, { type: 'webrtc' });
  const raw = new RawPeer(`ws://127.0.0.1:${port}`);
  await raw.join(peer.json.data.token, { name: 'p' });
  return raw;
}

describe('the server process', () => {
  test('npm start is the server: SIGTERM to it stops the server and frees the port', async () => {
    const s = await start(['npm', 'start', '--silent']);
    assert.ok(await portOpen(s.port));
    s.child.kill('SIGTERM');
    await exitWithin(s, 20_000);
    const deadline = Date.now() + 10_000;
    while (await portOpen(s.port)) {
      assert.ok(Date.now() < deadline, `the port is still served after npm exited:\n${s.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  test('SIGTERM drains: peers get 1012 to reconnect, webhooks deliver peerDeleted and roomDeleted, then exit 0', async () => {
    const hook = await receiver();
    const s = await start([process.execPath, '--import', 'tsx', 'src/main.ts']);
    const room = (await rest(s.port, 'POST', '/room', { webhookUrl: hook.url })).json.data.room;
    const peer = await joinedPeer(s.port, room.id);
    s.child.kill('SIGTERM');
    const closed = await peer.waitClosed(10_000);
    assert.deepEqual(closed, { code: 1012, reason: 'Server is shutting down' });
    assert.equal(await exitWithin(s, 20_000), 0);
    for (const kind of ['peerDisconnected', 'peerDeleted', 'roomDeleted']) assert.ok(hook.events.includes(kind), `${kind} in ${hook.events.join(', ')}`);
    assert.ok(hook.events.indexOf('peerDeleted') < hook.events.indexOf('roomDeleted'));
  });

  test('while the drain waits: new rooms and peers get 503, new peer sockets 1012; a second signal exits at once', async () => {
    const hook = await receiver(true);
    const s = await start([process.execPath, '--import', 'tsx', 'src/main.ts'], { FJ_DRAIN_TIMEOUT_MS: '60000', FJ_WEBHOOK_TIMEOUT_MS: '60000' });
    const room = (await rest(s.port, 'POST', '/room', { webhookUrl: hook.url })).json.data.room;
    const late = await rest(s.port, 'POST', `/room/${room.id}/peer`, { type: 'webrtc' });
    const peer = await joinedPeer(s.port, room.id);
    s.child.kill('SIGTERM');
    await peer.waitClosed(10_000);
    assert.deepEqual(await rest(s.port, 'POST', '/room', {}), { status: 503, json: { errors: 'Shoal is shutting down' } });
    assert.equal((await rest(s.port, 'POST', `/room/${room.id}/peer`, { type: 'webrtc' })).status, 503);
    const newcomer = new RawPeer(`ws://127.0.0.1:${s.port}`);
    await newcomer.opened();
    newcomer.send({ content: { case: 'authRequest', value: { token: late.json.data.token } } });
    const refused = await newcomer.waitClosed(10_000);
    assert.ok(refused.code === 1012 || refused.code === 1000, JSON.stringify(refused));
    await waitFor([0], () => s.output().includes('draining'), 10_000, 'the drain log line', (cb) => {
      const t = setInterval(cb, 50);
      return () => clearInterval(t);
    });
    assert.equal(s.child.exitCode, null, 'still draining: the receiver holds the webhook');
    s.child.kill('SIGTERM');
    assert.equal(await exitWithin(s, 5_000), 1);
  });
});
