// RemoteMediaSession (the main thread's stand-in for a session in a media worker) and WorkerMediaPlane's
// handling of sessions it cannot place: calls become messages, the worker's callbacks reach the room,
// every method of the protocol's list is forwarded, nothing passes after close, and fail() tells the room.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { dtlsCertificate } from '../../../src/media/transport/dtls-certificate.js';
import type { MediaSessionHost } from '../../../src/room/media-port.js';
import { SESSION_METHODS, type ToWorker } from '../../../src/media/plane/worker-protocol.js';
import { RemoteMediaSession } from '../../../src/media/plane/remote-media-session.js';
import { WorkerMediaPlane } from '../../../src/media/plane/worker-media-plane.js';
import { createLogger } from '../../../src/log/logger.js';
import type { TrackInfo } from '../../../src/room/track.js';

const track = (id: string): TrackInfo => ({ id, type: 'video', metadata: null, simulcast: { enabled: false, active: ['h'], disabled: [] } });

function recordingHost(): { host: MediaSessionHost; calls: [string, unknown[]][] } {
  const calls: [string, unknown[]][] = [];
  const rec = (name: string) => (...args: unknown[]) => void calls.push([name, args]);
  return {
    calls,
    host: {
      send: rec('send'),
      published: rec('published'),
      unpublished: rec('unpublished'),
      trackMetadataChanged: rec('trackMetadataChanged'),
      voiceActivity: rec('voiceActivity'),
      failed: rec('failed'),
    },
  };
}

describe('RemoteMediaSession', () => {
  test('calls become messages; host callbacks reach the room', () => {
    const posted: ToWorker[] = [];
    const { host, calls } = recordingHost();
    let ended = 0;
    const s = new RemoteMediaSession(7, (m) => posted.push(m), host, () => ended++);
    s.subscribe('pub', [track('t1')]);
    s.requestNegotiation();
    s.handleOffer('v=0', {}, { '0': 't9' });
    const updated = { type: 'trackUpdated' as const, endpointId: 'pub', trackId: 't1', metadata: { n: 2 } };
    s.trackEvent('pub', { ...track('t1'), metadata: { n: 2 } }, updated);
    assert.deepEqual(posted, [
      { type: 'call', session: 7, method: 'subscribe', args: ['pub', [track('t1')]] },
      { type: 'call', session: 7, method: 'requestNegotiation', args: [] },
      { type: 'call', session: 7, method: 'handleOffer', args: ['v=0', {}, { '0': 't9' }] },
      { type: 'call', session: 7, method: 'trackEvent', args: ['pub', { ...track('t1'), metadata: { n: 2 } }, updated] },
    ]);
    s.deliver({ method: 'send', args: [{ type: 'tracksAdded', endpointId: 'pub', tracks: [track('t1')] }] });
    s.deliver({ method: 'published', args: [[track('t9')]] });
    s.deliver({ method: 'send', args: [{ type: 'tracksRemoved', endpointId: 'pub', trackIds: ['t1'] }] });
    assert.deepEqual(
      calls.map(([name]) => name),
      ['send', 'published', 'send'],
    );
    s.close();
    s.close();
    assert.equal(ended, 1);
    assert.deepEqual(posted.at(-1), { type: 'close', session: 7 });
    const before = posted.length;
    s.subscribe('pub', [track('t2')]);
    s.deliver({ method: 'voiceActivity', args: ['t9', 'speech'] });
    s.fail('too late');
    assert.equal(posted.length, before, 'nothing is posted after close');
    assert.equal(calls.length, 3, 'nothing reaches the room after close');
  });

  test('every method of SESSION_METHODS is forwarded under its own name; a message naming another is not delivered', () => {
    const posted: ToWorker[] = [];
    const { host, calls } = recordingHost();
    const s = new RemoteMediaSession(3, (m) => posted.push(m), host, () => {});
    for (const method of SESSION_METHODS) (s[method] as (...a: unknown[]) => void)('a', 1);
    assert.deepEqual(
      posted.map((m) => (m.type === 'call' ? m.method : m.type)),
      [...SESSION_METHODS],
    );
    s.deliver({ method: 'close', args: [] } as never);
    s.deliver({ method: 'toString', args: [] } as never);
    assert.deepEqual(calls, [], 'only host callbacks of the protocol list are replayed');
    // A session may end itself in the worker (a silent livestream client): its failed() is replayed too.
    s.deliver({ method: 'failed', args: ['client went silent'] });
    assert.deepEqual(calls, [['failed', ['client went silent']]]);
  });

  test('fail() ends the session once and tells the room why; later callbacks are dropped', () => {
    const { host, calls } = recordingHost();
    let ended = 0;
    const s = new RemoteMediaSession(1, () => {}, host, () => ended++);
    s.fail('media worker 0 exited');
    s.fail('again');
    s.deliver({ method: 'send', args: [{ type: 'error', message: 'x' }] });
    s.close();
    assert.equal(ended, 1);
    assert.deepEqual(calls, [['failed', ['media worker 0 exited']]]);
  });
});

describe('WorkerMediaPlane without a running worker', () => {
  test('a session opened while no worker runs fails at once instead of hanging', async () => {
    const plane = new WorkerMediaPlane({
      workers: 1,
      turn: { listenIp: '127.0.0.1', udpPort: 0, tcpPort: undefined, advertisedIp: '127.0.0.1', realm: 'test', secret: 'turn-secret' },
      certificate: await dtlsCertificate(),
      credentialTtlSeconds: 60,
      dataPlane: 'js',
      log: createLogger('silent', false),
      logLevel: 'silent',
      structuredLogging: false,
    });
    assert.deepEqual(plane.turnServers('room', 'peer'), [], 'no TURN entries before a worker is ready');
    const { host, calls } = recordingHost();
    const failed = new Promise<void>((resolve) => {
      host.failed = (reason) => {
        calls.push(['failed', [reason]]);
        resolve();
      };
    });
    const s = plane.open({ roomId: 'room', peerId: 'peer', roomCodec: null, permissions: { canPublish: true, canSubscribe: true, canPublishData: true }, enableSimulcast: true }, host);
    await Promise.race([failed, once(AbortSignal.timeout(2000), 'abort').then(() => assert.fail('no failure reported'))]);
    assert.deepEqual(calls, [['failed', ['media worker 0 is not running']]]);
    s.requestNegotiation();
    assert.deepEqual(plane.load(), { threads: [{ thread: 'worker-0', rooms: 0, sessions: 0 }], workerRestarts: 0 });
  });
});
