/**
 * The unmodified cloud server SDK (@fishjam-cloud/js-server-sdk 0.25.0) against a real Shoal:
 * every FishjamClient method (and the FishjamAgent it returns), the SDK's exception mapping for
 * 400/401/404/503, and FishjamWSNotifier receiving each notification Shoal can produce without media,
 * in order. Peers are driven by a raw `ws` socket speaking the peer protocol (PeerMessage protobuf).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { WebSocket } from 'ws';
import {
  BadRequestException,
  FishjamAgent,
  FishjamBaseException,
  FishjamClient,
  FishjamNotFoundException,
  FishjamWSNotifier,
  PeerNotFoundException,
  RoomNotFoundException,
  ServiceUnavailableException,
  UnauthorizedException,
  UnknownException,
  type ExpectedEvents,
  type PeerId,
  type RoomId,
  type TrackId,
} from '@fishjam-cloud/js-server-sdk';
import { PeerMessageSchema } from '../../src/gen/fishjam/peer_notifications_pb.js';
import { ServerMessageSchema } from '../../src/gen/fishjam/server_notifications_pb.js';
import { freePort, startShoal, type TestShoal } from '../helpers/server.js';

/** Cloud proto `ServerMessage.PeerType` (the SDK does not export the enum). */
const PEER_TYPE_WEBRTC = 1;
const PEER_TYPE_AGENT = 2;
/** Cloud proto `TrackType.TRACK_TYPE_AUDIO`. */
const TRACK_TYPE_AUDIO = 2;

const WAIT_MS = 5000;

const NOTIFICATION_KINDS: ExpectedEvents[] = [
  'roomCreated',
  'roomDeleted',
  'roomCrashed',
  'peerAdded',
  'peerDeleted',
  'peerConnected',
  'peerDisconnected',
  'peerMetadataUpdated',
  'peerCrashed',
  'streamConnected',
  'streamDisconnected',
  'viewerConnected',
  'viewerDisconnected',
  'trackAdded',
  'trackRemoved',
  'trackMetadataUpdated',
];

interface Received {
  kind: ExpectedEvents;
  roomId?: string;
  peerId?: string;
  peerType?: number;
  metadata?: string;
  msg: Record<string, unknown>;
}

type Matcher = (e: Received) => boolean;

function withTimeout<T>(p: Promise<T>, label: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Records every event a FishjamWSNotifier emits and lets a test await the n-th matching one. */
class NotifierLog {
  readonly events: Received[] = [];
  readonly closes: { code: number; reason: string }[] = [];
  readonly errors: unknown[] = [];
  readonly notifier: FishjamWSNotifier;
  private readonly waiters = new Set<() => void>();
  private readonly closeWaiters = new Set<() => void>();
  /** Resolves when Shoal acknowledged the SDK's subscribe request (the SDK itself drops that frame). */
  readonly subscribed: Promise<void>;

  constructor(s: TestShoal, managementToken = s.apiToken) {
    this.notifier = new FishjamWSNotifier(
      { fishjamId: s.httpUrl, managementToken },
      (err) => this.errors.push(err),
      (code, reason) => {
        this.closes.push({ code, reason });
        for (const w of [...this.closeWaiters]) w();
      },
    );
    for (const kind of NOTIFICATION_KINDS) {
      this.notifier.on(kind, (msg: unknown) => {
        const m = msg as Record<string, unknown>;
        this.events.push({
          kind,
          roomId: m.roomId as string | undefined,
          peerId: m.peerId as string | undefined,
          peerType: m.peerType as number | undefined,
          metadata: m.metadata as string | undefined,
          msg: m,
        });
        for (const w of [...this.waiters]) w();
      });
    }
    this.subscribed = new Promise((resolve) => {
      this.socket.addEventListener('message', (ev) => {
        const msg = fromBinary(ServerMessageSchema, new Uint8Array(ev.data as ArrayBuffer));
        if (msg.content.case === 'subscribeResponse') resolve();
      });
    });
  }

  /** The SDK's private WebSocket (it offers no close method of its own). */
  get socket(): WebSocket {
    return (this.notifier as unknown as { client: WebSocket }).client;
  }

  /** The n-th (1-based) recorded event matching `match`, waiting for it if needed. */
  nth(match: Matcher, n: number, label: string): Promise<Received> {
    let check = () => {};
    return withTimeout(
      new Promise<Received>((resolve) => {
        check = () => {
          const found = this.events.filter(match);
          if (found.length >= n) resolve(found[n - 1]);
        };
        this.waiters.add(check);
        check();
      }),
      label,
    ).finally(() => this.waiters.delete(check));
  }

  first(kind: ExpectedEvents, roomId: string, peerId?: string): Promise<Received> {
    return this.nth((e) => e.kind === kind && e.roomId === roomId && (peerId === undefined || e.peerId === peerId), 1, `${kind} ${roomId} ${peerId ?? ''}`);
  }

  forRoom(roomId: string): Received[] {
    return this.events.filter((e) => e.roomId === roomId);
  }

  closed(): Promise<{ code: number; reason: string }> {
    return withTimeout(
      new Promise((resolve) => {
        const check = () => {
          if (this.closes.length > 0) {
            this.closeWaiters.delete(check);
            resolve(this.closes[0]);
          }
        };
        this.closeWaiters.add(check);
        check();
      }),
      'notifier close',
    );
  }

  close(): void {
    this.socket.close();
  }
}

/** A raw peer-protocol client (what a browser ts-client would be), authenticated with `token`. */
interface RawPeer {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  sendMediaEvent(event: unknown): void;
}

function openPeerSocket(s: TestShoal, token: string): { ws: WebSocket; authenticated: Promise<void>; closed: Promise<{ code: number; reason: string }> } {
  const ws = new WebSocket(`${s.wsUrl}/socket/peer/websocket`);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  const authenticated = new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () => {
      ws.send(toBinary(PeerMessageSchema, create(PeerMessageSchema, { content: { case: 'authRequest', value: { token } } })));
    });
    ws.on('message', (data: Buffer) => {
      const msg = fromBinary(PeerMessageSchema, new Uint8Array(data));
      if (msg.content.case === 'authenticated') resolve();
    });
    void closed.then(({ code, reason }) => reject(new Error(`peer socket closed before auth: ${code} ${reason}`)));
  });
  return { ws, authenticated, closed };
}

async function connectPeer(s: TestShoal, token: string): Promise<RawPeer> {
  const { ws, authenticated, closed } = openPeerSocket(s, token);
  await withTimeout(authenticated, 'peer authenticated');
  return {
    ws,
    closed: withTimeout(closed, 'peer socket close'),
    sendMediaEvent(event: unknown) {
      ws.send(toBinary(PeerMessageSchema, create(PeerMessageSchema, { content: { case: 'mediaEvent', value: { data: JSON.stringify(event) } } })));
    },
  };
}

/** Asserts `p` rejects with exactly `cls` carrying `statusCode` and `details`. */
async function rejectsWith(p: Promise<unknown>, cls: new (...args: never[]) => FishjamBaseException, statusCode: number, details: unknown): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    assert.equal(err.constructor, cls, `expected exactly ${cls.name}, got ${err.constructor.name}`);
    assert.equal(err.statusCode, statusCode);
    assert.deepEqual(err.details, details);
    return true;
  });
}

const missingRoom = 'no-such-room' as RoomId;
const missingPeer = '00000000-0000-4000-8000-000000000000' as PeerId;

describe('cloud js-server-sdk 0.25.0 against Shoal', () => {
  let s: TestShoal;
  let fishjam: FishjamClient;
  let log: NotifierLog;
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
  const extraNotifiers: NotifierLog[] = [];
  const rawSockets: WebSocket[] = [];
  const agents: FishjamAgent[] = [];

  before(async () => {
    // Node 20 has no global WebSocket; the SDK's notifier and agent use the global one.
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    s = await startShoal();
    fishjam = new FishjamClient({ fishjamId: s.httpUrl, managementToken: s.apiToken });
    log = new NotifierLog(s);
    await withTimeout(log.subscribed, 'notifier subscribed');
  });

  after(async () => {
    for (const ws of rawSockets) ws.terminate();
    for (const a of agents) a.disconnect();
    log?.close();
    for (const n of extraNotifiers) n.close();
    await s?.stop();
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
  });

  /** Notifications published before this call have reached the notifier once this resolves. */
  async function barrier(): Promise<void> {
    const room = await fishjam.createRoom();
    await log.first('roomCreated', room.id);
    await fishjam.deleteRoom(room.id);
    await log.first('roomDeleted', room.id);
  }

  describe('rooms', () => {
    test('createRoom() with defaults returns a room with the default config and no peers', async () => {
      const room = await fishjam.createRoom();
      assert.equal(typeof room.id, 'string');
      assert.match(room.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(room.peers, []);
      assert.equal(room.config.maxPeers, null);
      assert.equal(room.config.videoCodec, null);
      assert.equal(room.config.webhookUrl, null);
      assert.equal(room.config.roomType, 'conference');
      assert.equal(room.config.public, false);
      await fishjam.deleteRoom(room.id);
    });

    test('createRoom(config) echoes every cloud RoomConfig field', async () => {
      const config = { maxPeers: 3, videoCodec: 'vp8', roomType: 'audio_only', public: true, webhookUrl: 'http://127.0.0.1:1/hook' } as const;
      const room = await fishjam.createRoom(config);
      assert.equal(room.config.maxPeers, 3);
      assert.equal(room.config.videoCodec, 'vp8');
      assert.equal(room.config.roomType, 'audio_only');
      assert.equal(room.config.public, true);
      assert.equal(room.config.webhookUrl, 'http://127.0.0.1:1/hook');
      await fishjam.deleteRoom(room.id);
    });

    test('getRoom() and getAllRooms() return the created room', async () => {
      const room = await fishjam.createRoom({ maxPeers: 5, videoCodec: 'h264' });
      const got = await fishjam.getRoom(room.id);
      assert.equal(got.id, room.id);
      assert.deepEqual(got.config, room.config);
      assert.deepEqual(got.peers, []);
      const all = await fishjam.getAllRooms();
      assert.ok(Array.isArray(all));
      const listed = all.find((r) => r.id === room.id);
      assert.ok(listed, 'room is listed');
      assert.deepEqual(listed.config, room.config);
      await fishjam.deleteRoom(room.id);
      assert.equal((await fishjam.getAllRooms()).some((r) => r.id === room.id), false);
    });

    test('deleteRoom() removes the room; getRoom() then throws RoomNotFoundException', async () => {
      const room = await fishjam.createRoom();
      await fishjam.deleteRoom(room.id);
      await rejectsWith(fishjam.getRoom(room.id), RoomNotFoundException, 404, `Room ${room.id} does not exist`);
    });

    test('getRoom()/deleteRoom() of a missing room throw RoomNotFoundException (404)', async () => {
      await rejectsWith(fishjam.getRoom(missingRoom), RoomNotFoundException, 404, `Room ${missingRoom} does not exist`);
      await rejectsWith(fishjam.deleteRoom(missingRoom), RoomNotFoundException, 404, `Room ${missingRoom} does not exist`);
    });

    test('getRoom() of a malformed id throws BadRequestException (400)', async () => {
      await rejectsWith(fishjam.getRoom('bad id!' as RoomId), BadRequestException, 400, 'Invalid room ID: bad id!');
    });

    test('createRoom() with an invalid config throws BadRequestException (400)', async () => {
      await rejectsWith(
        fishjam.createRoom({ videoCodec: 'av1' as 'vp8' }),
        BadRequestException,
        400,
        "Expected videoCodec to be 'h264' or 'vp8', got: av1",
      );
      await rejectsWith(fishjam.createRoom({ maxPeers: -1 }), BadRequestException, 400, 'Expected maxPeers to be a number, got: -1');
      await rejectsWith(fishjam.createRoom({ webhookUrl: 'https://example.com' }), BadRequestException, 400, 'Expected webhookUrl to be valid URL, got: https://example.com');
      await rejectsWith(
        fishjam.createRoom({ roomType: 'party' as 'conference' }),
        BadRequestException,
        400,
        'Expected roomType to be one of full_feature, audio_only, broadcaster, livestream, conference, audio_only_livestream, got: party',
      );
    });
  });

  describe('peers', () => {
    let roomId: RoomId;

    before(async () => {
      roomId = (await fishjam.createRoom()).id;
    });

    after(async () => {
      await fishjam.deleteRoom(roomId).catch(() => {});
    });

    test('createPeer() with defaults returns a disconnected webrtc peer in auto mode and a token', async () => {
      const { peer, peerToken } = await fishjam.createPeer(roomId);
      assert.equal(typeof peerToken, 'string');
      assert.ok(peerToken.length > 0);
      assert.match(peer.id, /^[0-9a-f-]{36}$/);
      assert.equal(peer.type, 'webrtc');
      assert.equal(peer.status, 'disconnected');
      assert.equal(peer.subscribeMode, 'auto');
      assert.deepEqual(peer.subscriptions, { peers: [], tracks: [] });
      assert.deepEqual(peer.tracks, []);
      assert.equal(peer.metadata, null);
      const room = await fishjam.getRoom(roomId);
      assert.deepEqual(
        room.peers.find((p) => p.id === peer.id),
        peer,
      );
    });

    test('createPeer(options) applies metadata and subscribeMode', async () => {
      const { peer } = await fishjam.createPeer(roomId, { metadata: { name: 'alice' }, subscribeMode: 'manual' });
      assert.equal(peer.subscribeMode, 'manual');
      assert.deepEqual(peer.metadata, { name: 'alice' });
      const stored = (await fishjam.getRoom(roomId)).peers.find((p) => p.id === peer.id);
      assert.equal(stored?.subscribeMode, 'manual');
      assert.deepEqual(stored?.metadata, { name: 'alice' });
    });

    test('createPeer() in a missing room throws FishjamNotFoundException (404)', async () => {
      await rejectsWith(fishjam.createPeer(missingRoom), FishjamNotFoundException, 404, `Room ${missingRoom} does not exist`);
    });

    test('createPeer() beyond maxPeers throws ServiceUnavailableException (503)', async () => {
      const room = await fishjam.createRoom({ maxPeers: 1 });
      await fishjam.createPeer(room.id);
      await rejectsWith(fishjam.createPeer(room.id), ServiceUnavailableException, 503, `Reached webrtc peers limit in room ${room.id}`);
      await rejectsWith(fishjam.createAgent(room.id), ServiceUnavailableException, 503, `Reached agent peers limit in room ${room.id}`);
      assert.equal((await fishjam.getRoom(room.id)).peers.length, 1);
      await fishjam.deleteRoom(room.id);
    });

    test('subscribePeer() and subscribeTracks() record manual subscriptions', async () => {
      const { peer: subscriber } = await fishjam.createPeer(roomId, { subscribeMode: 'manual' });
      const { peer: publisher } = await fishjam.createPeer(roomId);
      assert.equal(await fishjam.subscribePeer(roomId, subscriber.id, publisher.id), undefined);
      assert.equal(await fishjam.subscribeTracks(roomId, subscriber.id, ['track-a', 'track-b'] as TrackId[]), undefined);
      const stored = (await fishjam.getRoom(roomId)).peers.find((p) => p.id === subscriber.id);
      assert.deepEqual(stored?.subscriptions, { peers: [publisher.id], tracks: ['track-a', 'track-b'] });
    });

    test('subscribePeer()/subscribeTracks() with missing peers throw PeerNotFoundException (404)', async () => {
      const { peer } = await fishjam.createPeer(roomId, { subscribeMode: 'manual' });
      await rejectsWith(fishjam.subscribePeer(roomId, missingPeer, peer.id), PeerNotFoundException, 404, `Peer ${missingPeer} does not exist`);
      await rejectsWith(fishjam.subscribePeer(roomId, peer.id, missingPeer), PeerNotFoundException, 404, `Peer ${missingPeer} does not exist`);
      await rejectsWith(fishjam.subscribeTracks(roomId, missingPeer, ['t'] as TrackId[]), PeerNotFoundException, 404, `Peer ${missingPeer} does not exist`);
      await rejectsWith(fishjam.subscribePeer(missingRoom, peer.id, peer.id), PeerNotFoundException, 404, `Room ${missingRoom} does not exist`);
    });

    test('refreshPeerToken() returns a new token that authenticates; the old one is refused', async () => {
      const { peer, peerToken } = await fishjam.createPeer(roomId);
      const fresh = await fishjam.refreshPeerToken(roomId, peer.id);
      assert.equal(typeof fresh, 'string');
      assert.ok(fresh.length > 0);
      assert.notEqual(fresh, peerToken);

      const stale = openPeerSocket(s, peerToken);
      rawSockets.push(stale.ws);
      await assert.rejects(withTimeout(stale.authenticated, 'stale token refusal'), /closed before auth: 1000 invalid token/);

      const p = await connectPeer(s, fresh);
      rawSockets.push(p.ws);
      await log.first('peerConnected', roomId, peer.id);
      p.ws.close();
      await log.first('peerDisconnected', roomId, peer.id);
    });

    test('refreshPeerToken() of a missing peer throws PeerNotFoundException (404)', async () => {
      await rejectsWith(fishjam.refreshPeerToken(roomId, missingPeer), PeerNotFoundException, 404, `Peer ${missingPeer} does not exist`);
    });

    test('deletePeer() removes the peer; a missing peer throws PeerNotFoundException (404)', async () => {
      const { peer } = await fishjam.createPeer(roomId);
      assert.equal(await fishjam.deletePeer(roomId, peer.id), undefined);
      assert.equal((await fishjam.getRoom(roomId)).peers.some((p) => p.id === peer.id), false);
      await rejectsWith(fishjam.deletePeer(roomId, peer.id), PeerNotFoundException, 404, `Peer ${peer.id} does not exist`);
      await rejectsWith(fishjam.deletePeer(missingRoom, peer.id), PeerNotFoundException, 404, `Room ${missingRoom} does not exist`);
    });

    test('createLivestreamViewerToken() and createLivestreamStreamerToken() return { token }', async () => {
      const room = await fishjam.createRoom({ roomType: 'livestream' });
      const viewer = await fishjam.createLivestreamViewerToken(room.id);
      const streamer = await fishjam.createLivestreamStreamerToken(room.id);
      assert.deepEqual(Object.keys(viewer), ['token']);
      assert.deepEqual(Object.keys(streamer), ['token']);
      assert.equal(typeof viewer.token, 'string');
      assert.equal(typeof streamer.token, 'string');
      assert.ok(viewer.token.length > 0);
      assert.ok(streamer.token.length > 0);
      assert.notEqual(viewer.token, streamer.token);
      await fishjam.deleteRoom(room.id);
    });

    test('livestream tokens for a missing room throw FishjamNotFoundException (404)', async () => {
      await rejectsWith(fishjam.createLivestreamViewerToken(missingRoom), FishjamNotFoundException, 404, `Room ${missingRoom} does not exist`);
      await rejectsWith(fishjam.createLivestreamStreamerToken(missingRoom), FishjamNotFoundException, 404, `Room ${missingRoom} does not exist`);
    });
  });

  describe('agents', () => {
    test('createAgent() resolves, the agent connects as type "agent" and its socket survives agent frames', async () => {
      const room = await fishjam.createRoom();
      const closes: { code: number; reason: string }[] = [];
      const errors: unknown[] = [];
      const { agent, peer } = await withTimeout(
        fishjam.createAgent(room.id, { subscribeMode: 'manual', output: { audioFormat: 'pcm16', audioSampleRate: 16000 } }, {
          onClose: (code, reason) => closes.push({ code, reason }),
          onError: (e) => errors.push(e),
        }),
        'createAgent',
      );
      agents.push(agent);
      assert.ok(agent instanceof FishjamAgent);
      assert.equal(peer.type, 'agent');
      assert.equal(peer.status, 'disconnected');
      assert.equal(peer.subscribeMode, 'manual');
      assert.deepEqual(peer.subscriptions, { peers: [], tracks: [] });

      const added = await log.first('peerAdded', room.id, peer.id);
      assert.equal(added.peerType, PEER_TYPE_AGENT);
      const connected = await log.first('peerConnected', room.id, peer.id);
      assert.equal(connected.peerType, PEER_TYPE_AGENT);
      const stored = (await fishjam.getRoom(room.id)).peers.find((p) => p.id === peer.id);
      assert.equal(stored?.type, 'agent');
      assert.equal(stored?.status, 'connected');

      // FishjamAgent's own methods: they only send AgentRequest frames.
      const track = agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 }, { role: 'voice' });
      assert.equal(typeof track.id, 'string');
      assert.equal(track.type, TRACK_TYPE_AUDIO);
      assert.equal(track.metadata, '{"role":"voice"}');
      agent.sendData(track.id, new Uint8Array(640));
      agent.interruptTrack(track.id);
      agent.deleteTrack(track.id);

      agent.disconnect();
      const disconnected = await log.first('peerDisconnected', room.id, peer.id);
      assert.equal(disconnected.peerType, PEER_TYPE_AGENT);
      // A client-initiated close with no code: the server did not close the socket first.
      assert.deepEqual(closes, [{ code: 1005, reason: '' }]);
      assert.deepEqual(errors, []);
      assert.equal((await fishjam.getRoom(room.id)).peers.find((p) => p.id === peer.id)?.status, 'disconnected');

      await fishjam.deleteRoom(room.id);
      const deleted = await log.first('peerDeleted', room.id, peer.id);
      assert.equal(deleted.peerType, PEER_TYPE_AGENT);
      await log.first('roomDeleted', room.id);
    });

    test('createAgent() in a missing room throws FishjamNotFoundException (404)', async () => {
      await rejectsWith(fishjam.createAgent(missingRoom), FishjamNotFoundException, 404, `Room ${missingRoom} does not exist`);
    });
  });

  describe('client errors', () => {
    test('a wrong managementToken gives UnauthorizedException (401) on every method', async () => {
      const bad = new FishjamClient({ fishjamId: s.httpUrl, managementToken: 'wrong-token' });
      const room = await fishjam.createRoom();
      const { peer } = await fishjam.createPeer(room.id);
      const calls: [string, () => Promise<unknown>][] = [
        ['createRoom', () => bad.createRoom()],
        ['getAllRooms', () => bad.getAllRooms()],
        ['getRoom', () => bad.getRoom(room.id)],
        ['deleteRoom', () => bad.deleteRoom(room.id)],
        ['createPeer', () => bad.createPeer(room.id)],
        ['createAgent', () => bad.createAgent(room.id)],
        ['deletePeer', () => bad.deletePeer(room.id, peer.id)],
        ['subscribePeer', () => bad.subscribePeer(room.id, peer.id, peer.id)],
        ['subscribeTracks', () => bad.subscribeTracks(room.id, peer.id, [])],
        ['refreshPeerToken', () => bad.refreshPeerToken(room.id, peer.id)],
        ['createLivestreamViewerToken', () => bad.createLivestreamViewerToken(room.id)],
        ['createLivestreamStreamerToken', () => bad.createLivestreamStreamerToken(room.id)],
      ];
      for (const [name, call] of calls) {
        await rejectsWith(call(), UnauthorizedException, 401, 'Invalid token').catch((err: Error) => {
          throw new Error(`${name}: ${err.message}`);
        });
      }
      // Nothing was changed by the refused calls.
      const after = await fishjam.getRoom(room.id);
      assert.deepEqual(
        after.peers.map((p) => p.id),
        [peer.id],
      );
      await fishjam.deleteRoom(room.id);
    });

    test('an unreachable server gives UnknownException with statusCode 500', async () => {
      const port = await freePort();
      const nowhere = new FishjamClient({ fishjamId: `http://127.0.0.1:${port}`, managementToken: s.apiToken });
      await assert.rejects(nowhere.getAllRooms(), (err: unknown) => {
        assert.ok(err instanceof UnknownException);
        assert.equal(err.statusCode, 500);
        assert.equal(err.axiosCode, 'ECONNREFUSED');
        return true;
      });
    });
  });

  describe('FishjamWSNotifier', () => {
    test('full lifecycle: notifications arrive in order with their payloads', async () => {
      const room = await fishjam.createRoom();
      const created = await log.first('roomCreated', room.id);
      assert.deepEqual(created.msg, { roomId: room.id });

      const { peer, peerToken } = await fishjam.createPeer(room.id);
      const added = await log.first('peerAdded', room.id, peer.id);
      assert.deepEqual(added.msg, { roomId: room.id, peerId: peer.id, peerType: PEER_TYPE_WEBRTC });

      const p = await connectPeer(s, peerToken);
      rawSockets.push(p.ws);
      const connected = await log.first('peerConnected', room.id, peer.id);
      assert.deepEqual(connected.msg, { roomId: room.id, peerId: peer.id, peerType: PEER_TYPE_WEBRTC });

      p.sendMediaEvent({ type: 'connect', data: { metadata: { name: 'x' } } });
      const meta = await log.first('peerMetadataUpdated', room.id, peer.id);
      assert.deepEqual(meta.msg, { roomId: room.id, peerId: peer.id, metadata: '{"name":"x"}', peerType: PEER_TYPE_WEBRTC });
      assert.deepEqual(JSON.parse(meta.metadata ?? ''), { name: 'x' });
      assert.deepEqual((await fishjam.getRoom(room.id)).peers[0].metadata, { name: 'x' });

      p.ws.close();
      const disconnected = await log.first('peerDisconnected', room.id, peer.id);
      assert.deepEqual(disconnected.msg, { roomId: room.id, peerId: peer.id, peerType: PEER_TYPE_WEBRTC });
      assert.equal((await fishjam.getRoom(room.id)).peers[0].status, 'disconnected');

      await fishjam.deletePeer(room.id, peer.id);
      const deleted = await log.first('peerDeleted', room.id, peer.id);
      assert.deepEqual(deleted.msg, { roomId: room.id, peerId: peer.id, peerType: PEER_TYPE_WEBRTC });

      await fishjam.deleteRoom(room.id);
      const roomDeleted = await log.first('roomDeleted', room.id);
      assert.deepEqual(roomDeleted.msg, { roomId: room.id });

      await barrier();
      assert.deepEqual(
        log.forRoom(room.id).map((e) => e.kind),
        ['roomCreated', 'peerAdded', 'peerConnected', 'peerMetadataUpdated', 'peerDisconnected', 'peerDeleted', 'roomDeleted'],
      );
    });

    test('connect with no metadata still emits peerMetadataUpdated with "null"', async () => {
      const room = await fishjam.createRoom();
      const { peer, peerToken } = await fishjam.createPeer(room.id);
      const p = await connectPeer(s, peerToken);
      rawSockets.push(p.ws);
      p.sendMediaEvent({ type: 'connect', data: { metadata: null } });
      const meta = await log.first('peerMetadataUpdated', room.id, peer.id);
      assert.equal(meta.metadata, 'null');
      p.sendMediaEvent({ type: 'updateEndpointMetadata', data: { metadata: { mood: 'happy' } } });
      const second = await log.nth((e) => e.kind === 'peerMetadataUpdated' && e.peerId === peer.id, 2, 'second peerMetadataUpdated');
      assert.equal(second.metadata, '{"mood":"happy"}');
      await fishjam.deleteRoom(room.id);
      await log.first('roomDeleted', room.id);
    });

    test('deleting a connected peer gives peerDisconnected then peerDeleted and closes its socket "Peer removed"', async () => {
      const room = await fishjam.createRoom();
      const { peer, peerToken } = await fishjam.createPeer(room.id);
      const p = await connectPeer(s, peerToken);
      rawSockets.push(p.ws);
      await log.first('peerConnected', room.id, peer.id);
      await fishjam.deletePeer(room.id, peer.id);
      assert.deepEqual(await p.closed, { code: 1000, reason: 'Peer removed' });
      await log.first('peerDeleted', room.id, peer.id);
      await fishjam.deleteRoom(room.id);
      await log.first('roomDeleted', room.id);
      await barrier();
      assert.deepEqual(
        log.forRoom(room.id).map((e) => e.kind),
        ['roomCreated', 'peerAdded', 'peerConnected', 'peerDisconnected', 'peerDeleted', 'roomDeleted'],
      );
    });

    test('deleting a room with peers gives peerDeleted for each, then roomDeleted, and no peerDisconnected', async () => {
      const room = await fishjam.createRoom();
      const { peer: a, peerToken: tokenA } = await fishjam.createPeer(room.id);
      const { peer: b } = await fishjam.createPeer(room.id);
      const p = await connectPeer(s, tokenA);
      rawSockets.push(p.ws);
      await log.first('peerConnected', room.id, a.id);

      await fishjam.deleteRoom(room.id);
      assert.deepEqual(await p.closed, { code: 1000, reason: 'Room stopped' });
      await log.first('roomDeleted', room.id);
      await barrier();
      const tail = log.forRoom(room.id).slice(4);
      assert.deepEqual(
        log.forRoom(room.id).map((e) => e.kind),
        ['roomCreated', 'peerAdded', 'peerAdded', 'peerConnected', 'peerDeleted', 'peerDeleted', 'roomDeleted'],
      );
      assert.deepEqual(
        tail.map((e) => [e.kind, e.peerId, e.peerType]),
        [
          ['peerDeleted', a.id, PEER_TYPE_WEBRTC],
          ['peerDeleted', b.id, PEER_TYPE_WEBRTC],
          ['roomDeleted', undefined, undefined],
        ],
      );
      assert.equal(log.events.some((e) => e.kind === 'peerDisconnected' && e.roomId === room.id), false);
    });

    test('a second notifier sees the same events; a wrong token is closed with 1000 "invalid token"', async () => {
      const second = new NotifierLog(s);
      extraNotifiers.push(second);
      await withTimeout(second.subscribed, 'second notifier subscribed');
      const room = await fishjam.createRoom();
      await second.first('roomCreated', room.id);
      await log.first('roomCreated', room.id);
      await fishjam.deleteRoom(room.id);
      await second.first('roomDeleted', room.id);

      const wrong = new NotifierLog(s, 'wrong-token');
      extraNotifiers.push(wrong);
      assert.deepEqual(await wrong.closed(), { code: 1000, reason: 'invalid token' });
      assert.deepEqual(wrong.events, []);
    });
  });
});
