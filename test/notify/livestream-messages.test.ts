// The livestream notifications as protobuf ServerMessages (server socket and webhooks), read back with the
// generated cloud schema: stream_connected 22 … streamer_disconnected 27, stream id = the room id, with the
// viewer/streamer id at field 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { ServerMessageSchema } from '../../src/gen/fishjam/server_notifications_pb.js';
import { encodeNotification } from '../../src/notify/server-message.js';
import type { Notification } from '../../src/room/notifications.js';

test('stream, viewer and streamer notifications encode at fields 22–27 with the room id as stream id', () => {
  const cases: [Notification, number, Record<string, string>][] = [
    [{ type: 'streamConnected', roomId: 'r1' }, 22, { streamId: 'r1' }],
    [{ type: 'streamDisconnected', roomId: 'r1' }, 23, { streamId: 'r1' }],
    [{ type: 'viewerConnected', roomId: 'r1', viewerId: 'v1' }, 24, { streamId: 'r1', viewerId: 'v1' }],
    [{ type: 'viewerDisconnected', roomId: 'r1', viewerId: 'v1' }, 25, { streamId: 'r1', viewerId: 'v1' }],
    [{ type: 'streamerConnected', roomId: 'r1', streamerId: 's1' }, 26, { streamId: 'r1', streamerId: 's1' }],
    [{ type: 'streamerDisconnected', roomId: 'r1', streamerId: 's1' }, 27, { streamId: 'r1', streamerId: 's1' }],
  ];
  for (const [n, field, fields] of cases) {
    const bytes = encodeNotification(n);
    const tag = (field << 3) | 2;
    assert.deepEqual([bytes[0], bytes[1]], [(tag & 0x7f) | 0x80, tag >> 7], `${n.type}: field ${field}, length-delimited`);
    const m = fromBinary(ServerMessageSchema, bytes);
    assert.equal(m.content.case, n.type);
    const { $typeName: _, ...value } = m.content.value as unknown as Record<string, string>;
    assert.deepEqual(value, fields, n.type);
  }
});
