// The protobuf ServerMessage a notification becomes (server socket and webhooks), read back with the
// generated cloud schema: the data-channel notifications carry room id, peer id (endpoint_info) and the
// channel id at the cloud protos' field numbers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary } from '@bufbuild/protobuf';
import { ServerMessageSchema } from '../../src/gen/fishjam/server_notifications_pb.js';
import { encodeNotification } from '../../src/notify/server-message.js';

test('channelAdded and channelRemoved encode as ServerMessage fields 28 and 29', () => {
  for (const [type, field] of [['channelAdded', 28], ['channelRemoved', 29]] as const) {
    const bytes = encodeNotification({ type, roomId: 'room-1', peerId: 'peer-1', channelId: 'reliable' });
    assert.equal(bytes[0], (field << 3) | 2, `field ${field}, length-delimited`);
    const m = fromBinary(ServerMessageSchema, bytes);
    assert.equal(m.content.case, type);
    const v = m.content.value as { roomId: string; endpointInfo: { case: string; value: string }; channelId: string };
    assert.deepEqual({ roomId: v.roomId, endpoint: v.endpointInfo, channelId: v.channelId }, { roomId: 'room-1', endpoint: { case: 'peerId', value: 'peer-1' }, channelId: 'reliable' });
  }
});
