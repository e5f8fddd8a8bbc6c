// The lifecycle log: every notification on the bus becomes one line with ids and types only — rooms and
// peers and tracks at info, crashes at warn, metadata updates at debug — and no metadata content or
// webhook URL ever reaches the log.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LifecycleLog } from '../../src/notify/lifecycle-log.js';
import { NotificationBus, type Notification } from '../../src/room/notifications.js';
import type { TrackInfo } from '../../src/room/track.js';
import { captureLog } from '../log/capture.js';

const track: TrackInfo = { id: 'track-1', type: 'video', metadata: { label: 'meta-SECRET-1' }, simulcast: { enabled: false, active: [], disabled: [] } };
const peer = { roomId: 'room-1', peerId: 'peer-1', peerType: 'webrtc' as const };

const ALL: Notification[] = [
  { type: 'roomCreated', roomId: 'room-1', webhookUrl: 'https://hooks.example/x?key=hook-SECRET' },
  { type: 'peerAdded', ...peer },
  { type: 'peerConnected', ...peer },
  { type: 'peerMetadataUpdated', ...peer, metadata: { name: 'meta-SECRET-2' } },
  { type: 'trackAdded', roomId: 'room-1', peerId: 'peer-1', track },
  { type: 'trackMetadataUpdated', roomId: 'room-1', peerId: 'peer-1', track },
  { type: 'trackRemoved', roomId: 'room-1', peerId: 'peer-1', track },
  { type: 'peerDisconnected', ...peer },
  { type: 'peerCrashed', ...peer, reason: 'engine failed' },
  { type: 'peerDeleted', ...peer },
  { type: 'roomCrashed', roomId: 'room-2' },
  { type: 'roomDeleted', roomId: 'room-1' },
];

describe('lifecycle log', () => {
  it('logs each notification with its ids at the right level', () => {
    const c = captureLog('debug');
    const bus = new NotificationBus();
    const lifecycle = new LifecycleLog(bus, c.log);
    for (const n of ALL) bus.publish(n);
    const got = c.records().map(({ time, ...rest }) => rest);
    assert.deepEqual(got, [
      { level: 'info', event: 'roomCreated', roomId: 'room-1', webhook: true, msg: 'room created' },
      { level: 'info', event: 'peerAdded', ...peer, msg: 'peer added' },
      { level: 'info', event: 'peerConnected', ...peer, msg: 'peer connected' },
      { level: 'debug', event: 'peerMetadataUpdated', ...peer, msg: 'peer metadata updated' },
      { level: 'info', event: 'trackAdded', roomId: 'room-1', peerId: 'peer-1', trackId: 'track-1', trackType: 'video', msg: 'track added' },
      { level: 'debug', event: 'trackMetadataUpdated', roomId: 'room-1', peerId: 'peer-1', trackId: 'track-1', trackType: 'video', msg: 'track metadata updated' },
      { level: 'info', event: 'trackRemoved', roomId: 'room-1', peerId: 'peer-1', trackId: 'track-1', trackType: 'video', msg: 'track removed' },
      { level: 'info', event: 'peerDisconnected', ...peer, msg: 'peer disconnected' },
      { level: 'warn', event: 'peerCrashed', ...peer, reason: 'engine failed', msg: 'peer crashed' },
      { level: 'info', event: 'peerDeleted', ...peer, msg: 'peer deleted' },
      { level: 'warn', event: 'roomCrashed', roomId: 'room-2', msg: 'room crashed' },
      { level: 'info', event: 'roomDeleted', roomId: 'room-1', msg: 'room deleted' },
    ]);
    assert.ok(!/SECRET/.test(c.text()), c.text());
    lifecycle.close();
    bus.publish({ type: 'roomDeleted', roomId: 'room-3' });
    assert.equal(c.find('room deleted', { roomId: 'room-3' }).length, 0);
  });

  it('at info, metadata updates are not logged; the rest is', () => {
    const c = captureLog('info');
    const bus = new NotificationBus();
    new LifecycleLog(bus, c.log);
    for (const n of ALL) bus.publish(n);
    assert.equal(c.records().length, ALL.length - 2);
    assert.ok(c.records().every((r) => !r.msg.includes('metadata')));
  });
});
