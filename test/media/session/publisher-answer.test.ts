// What Shoal answers a publisher's sendonly m-lines (issue 12, upstream), on a real Chromium offer that
// offers red, ulpfec (and flexfec in another fixture) next to opus/VP8: only the chosen codec and its rtx
// are answered (RED/FEC refused, so the publisher never sends them), the transport-wide-cc extension and
// `a=rtcp-fb:<pt> transport-cc` are kept (Shoal answers with transport-cc feedback), video keeps nack and
// nack pli, the rtx payload type points at the codec (apt), and video carries x-google-start-bitrate.
import { after, before, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { fixtureText } from '../wire/sdp-mutations.js';
import { EXT_TWCC } from '../../../src/media/wire/sdp.js';
import { PUBLISHER_START_BITRATE_KBPS } from '../../../src/media/session/peer-session.js';
import { room, type Room } from './session-harness.js';

const PUBLISH = fixtureText('chromium-publish-receive.sdp'); // 0 audio, 1 video (FID), 2 simulcast: sendonly
const MIDS = { '0': 'audio-track', '1': 'video-track', '2': 'simulcast-track' };

function section(sdp: string, mid: string): string {
  const found = sdp.split(/\r\n(?=m=)/).find((p) => p.includes(`\r\na=mid:${mid}\r\n`));
  assert.ok(found, `answer has no m-line ${mid}`);
  return found;
}

let r: Room;
before(async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  r = await room();
});
after(() => mock.timers.reset());

describe('answer to a publisher', () => {
  test('RED and FEC are refused; transport-cc, nack and rtx are kept', () => {
    assert.match(PUBLISH, /a=rtpmap:\d+ red\/90000/);
    assert.match(PUBLISH, /a=rtpmap:\d+ ulpfec\/90000/);
    const { session, host } = r.open('pub-answer');
    session.handleOffer(PUBLISH, {}, MIDS);
    const sdp = host.answers()[0]!.sdp;
    for (const mid of ['0', '1', '2']) {
      const s = section(sdp, mid);
      assert.match(s, /\r\na=recvonly\r\n/);
      assert.doesNotMatch(s, /red\/|ulpfec|flexfec/i, `mid ${mid} answers no RED/FEC`);
      const pts = /^m=\w+ 9 UDP\/TLS\/RTP\/SAVPF ([\d ]+)/.exec(s)![1]!.split(' ');
      const rtpmaps = [...s.matchAll(/a=rtpmap:(\d+) ([^\r]+)/g)].map((m) => [m[1], m[2]]);
      assert.deepEqual(rtpmaps.map((m) => m[0]), pts, 'one rtpmap per listed payload type');
      assert.match(s, new RegExp(`a=extmap:\\d+ ${EXT_TWCC.replace(/[./]/g, '\\$&')}\r\n`));
      assert.match(s, new RegExp(`a=rtcp-fb:${pts[0]} transport-cc(\r\n|$)`));
      if (mid === '0') {
        assert.deepEqual(rtpmaps.map((m) => m[1]), ['opus/48000/2']);
        assert.doesNotMatch(s, /x-google-start-bitrate/);
      } else {
        assert.match(s, new RegExp(`a=fmtp:${pts[0]} (.*;)?x-google-start-bitrate=${PUBLISHER_START_BITRATE_KBPS}(\r\n|$)`), 'video starts its estimate at 2.5 Mbit/s');
        assert.equal(pts.length, 2, `mid ${mid}: codec + rtx`);
        assert.equal(rtpmaps[1]![1], 'rtx/90000');
        assert.match(s, new RegExp(`a=fmtp:${pts[1]} apt=${pts[0]}(\r\n|$)`));
        assert.match(s, new RegExp(`a=rtcp-fb:${pts[0]} nack(\r\n|$)`));
        assert.match(s, new RegExp(`a=rtcp-fb:${pts[0]} nack pli(\r\n|$)`));
      }
    }
    session.close();
  });
});
