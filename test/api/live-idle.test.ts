// A WHIP streamer whose client never connects (a page closed without DELETE looks the same) is ended after
// FJ_LIVESTREAM_IDLE_TIMEOUT_MS: the backend hears StreamerDisconnected/StreamDisconnected and the next
// streamer is accepted (201, not 409). With the SFU in the main thread and in a media worker, where the
// session's own failure has to cross the worker boundary.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startShoal, type TestShoal } from '../helpers/server.js';
import { offer } from '../helpers/live-offer.js';
import { NotificationLog } from '../helpers/raw-peer.js';

const WHIP = '/api/v1/live/api/whip';
const IDLE_MS = 1_500;

function whip(s: TestShoal, token: string): Promise<Response> {
  return fetch(`${s.httpUrl}${WHIP}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/sdp' },
    body: offer('sendonly'),
    signal: AbortSignal.timeout(10_000),
  });
}

for (const [mode, workers] of [['main thread', '0'], ['media worker', '1']] as const) {
  describe(`livestream: a silent WHIP client is ended (${mode})`, () => {
    let s: TestShoal;
    before(async () => {
      s = await startShoal({ FJ_MEDIA_WORKERS: workers, FJ_LIVESTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS) });
    });
    after(async () => {
      await s?.stop();
    });

    test('the streamer that never connects is disconnected after the idle timeout; a new streamer gets 201', async () => {
      const log = new NotificationLog(s.shoal.bus);
      try {
        const roomId = (await api(s, 'POST', '/room', { roomType: 'livestream' })).json.data.room.id as string;
        const token = (await api(s, 'POST', `/room/${roomId}/streamer`)).json.token as string;
        const first = await whip(s, token);
        assert.equal(first.status, 201, await first.text());
        const second = await whip(s, token);
        assert.equal(second.status, 409, 'the slot is held while the first streamer may still connect');
        const startedAt = Date.now();
        await log.waitFor((n) => n.type === 'streamDisconnected' && n.roomId === roomId, IDLE_MS + 8_000, 'streamDisconnected');
        assert.ok(Date.now() - startedAt >= IDLE_MS - 200, 'not before the idle timeout');
        assert.deepEqual(
          log.types(roomId).filter((t) => t.startsWith('stream')),
          ['streamConnected', 'streamerConnected', 'streamerDisconnected', 'streamDisconnected'],
        );
        const third = await whip(s, token);
        assert.equal(third.status, 201, await third.text());
      } finally {
        log.stop();
      }
    });
  });
}
