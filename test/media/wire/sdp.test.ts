/**
 * Unit tests of src/media/wire/sdp.ts (offer side) and sdp-answer.ts (answer side) on real Chromium 156
 * offers stored in test/media/wire/fixtures/*.sdp (made by test/media/wire/sdp-browser.test.ts, which also
 * proves Chromium accepts the answers):
 * - chromium-publish-receive.sdp: sendonly audio (0), sendonly video (1), rid-simulcast l/m/h video (2),
 *   recvonly audio (3), recvonly video (4) — ts-client 0.5.0's transceivers;
 * - chromium-renegotiate-removed.sdp: the next offer after removeTrack on the simulcast video (inactive);
 * - chromium-h264-first.sdp: sendonly video with H264 main / pm=0 first by setCodecPreferences, recvonly video;
 * - chromium-datachannel.sdp: recvonly audio + a data channel.
 * Values that change per capture (ssrcs, ICE credentials, fingerprint, msid) are read from the raw text.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseSdp } from 'sdp-transform';
import {
  chooseCodec,
  matchCodec,
  parseOffer,
  SdpError,
  supportedExtensions,
  type Codec,
  type OfferedMedia,
  type ParsedOffer,
} from '../../../src/media/wire/sdp.js';
import { buildAnswer, type AnswerMedia, type AnswerParams } from '../../../src/media/wire/sdp-answer.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const PUBLISH = fixture('chromium-publish-receive.sdp');
const RENEGOTIATE = fixture('chromium-renegotiate-removed.sdp');
const H264 = fixture('chromium-h264-first.sdp');
const DATACHANNEL = fixture('chromium-datachannel.sdp');

const EXT = {
  audioLevel: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  absSendTime: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  twcc: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01',
  mid: 'urn:ietf:params:rtp-hdrext:sdes:mid',
  rid: 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  rrid: 'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  toffset: 'urn:ietf:params:rtp-hdrext:toffset',
};
const VIDEO_FB = ['goog-remb', 'transport-cc', 'ccm fir', 'nack', 'nack pli'];

/** First capture group of `re` in `text` (fixtures' per-capture values). */
function grab(text: string, re: RegExp): string {
  const m = re.exec(text);
  assert.ok(m?.[1], `fixture has no ${re}`);
  return m[1];
}

/** SDP text split into [session, m-section 0, m-section 1, …], each a list of lines. */
function sections(sdp: string): string[][] {
  const out: string[][] = [[]];
  for (const line of sdp.split('\r\n').filter((l) => l !== '')) {
    if (line.startsWith('m=')) out.push([]);
    out[out.length - 1]!.push(line);
  }
  return out;
}

/** Rebuilds SDP text from sections(). */
const join2 = (parts: string[][]) => parts.flat().join('\r\n') + '\r\n';

/** The offer with every line matching `re` removed (optionally only inside m-section `only`). */
function without(sdp: string, re: RegExp, only?: number): string {
  return join2(sections(sdp).map((lines, i) => (only === undefined || i === only + 1 ? lines.filter((l) => !re.test(l)) : lines)));
}

function throwsSdpError(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SdpError, `expected SdpError, got ${String(err)}`);
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'SdpError');
    assert.equal(err.message, message);
    return true;
  });
}

const SERVER = {
  iceUfrag: 'shoalUfrag',
  icePwd: 'shoalIcePasswordOf24Chr',
  fingerprint: { algorithm: 'sha-256', value: 'AB:CD:EF' },
  sessionId: '4611686018427387904',
  sessionVersion: 7,
};
const SEND = { ssrc: 111111, rtxSsrc: 222222, cname: 'shoal-cname', streamId: 'peer-a', trackId: 'track-v' };

function answerParams(offer: ParsedOffer, plan: (m: OfferedMedia) => Partial<AnswerMedia>): AnswerParams {
  return {
    ...SERVER,
    media: offer.media.map((m) => ({
      mid: m.mid,
      kind: m.kind,
      direction: 'inactive' as const,
      extensions: supportedExtensions(m),
      offered: m,
      ...plan(m),
    })),
  };
}

/** The answer Shoal gives the publish-receive fixture (as in sdp-browser.test.ts). */
function publishAnswer(offer: ParsedOffer): string {
  const audio = chooseCodec(offer.media[0]!, null)!;
  const video = chooseCodec(offer.media[1]!, null)!;
  return buildAnswer(
    answerParams(offer, (m) => {
      if (m.direction === 'sendonly') {
        return { direction: 'recvonly', codec: chooseCodec(m, null), ...(m.rids.length ? { simulcastRids: m.rids } : {}) };
      }
      if (m.mid === '3') return { direction: 'sendonly', codec: matchCodec(m, audio), send: { ...SEND, rtxSsrc: undefined, trackId: 'track-a' } };
      return { direction: 'sendonly', codec: matchCodec(m, video), send: SEND };
    }),
  );
}

describe('parseOffer: Chromium publish + receive offer', () => {
  const offer = parseOffer(PUBLISH);
  const [a0, v1, s2, a3, v4] = offer.media as [OfferedMedia, OfferedMedia, OfferedMedia, OfferedMedia, OfferedMedia];

  test('m-lines: index, mid, kind, direction, port, protocol', () => {
    assert.deepEqual(
      offer.media.map((m) => [m.index, m.mid, m.kind, m.direction, m.port, m.protocol]),
      [
        [0, '0', 'audio', 'sendonly', 9, 'UDP/TLS/RTP/SAVPF'],
        [1, '1', 'video', 'sendonly', 9, 'UDP/TLS/RTP/SAVPF'],
        [2, '2', 'video', 'sendonly', 9, 'UDP/TLS/RTP/SAVPF'],
        [3, '3', 'audio', 'recvonly', 9, 'UDP/TLS/RTP/SAVPF'],
        [4, '4', 'video', 'recvonly', 9, 'UDP/TLS/RTP/SAVPF'],
      ],
    );
    assert.equal(a0.payloads, '111 63 9 0 8 13 110 126');
  });

  test('ICE credentials, fingerprint and setup (offer level and per m-line)', () => {
    const ufrag = grab(PUBLISH, /a=ice-ufrag:(\S+)/);
    const pwd = grab(PUBLISH, /a=ice-pwd:(\S+)/);
    assert.equal(offer.iceUfrag, ufrag);
    assert.equal(offer.icePwd, pwd);
    for (const m of offer.media) assert.deepEqual([m.iceUfrag, m.icePwd], [ufrag, pwd]);
    assert.deepEqual(offer.fingerprint, { algorithm: 'sha-256', value: grab(PUBLISH, /a=fingerprint:sha-256 (\S+)/) });
    assert.equal(offer.setup, 'actpass');
  });

  test('audio codecs in offer order, red listed as a normal codec', () => {
    assert.deepEqual(
      a0.codecs.map((c) => `${c.payloadType} ${c.name}/${c.clockRate}${c.channels ? `/${c.channels}` : ''}`),
      ['111 opus/48000/2', '63 red/48000/2', '9 G722/8000', '0 PCMU/8000', '8 PCMA/8000', '13 CN/8000', '110 telephone-event/48000', '126 telephone-event/8000'],
    );
    assert.deepEqual(a0.codecs[0], {
      payloadType: 111,
      name: 'opus',
      clockRate: 48000,
      channels: 2,
      fmtp: 'minptime=10;useinbandfec=1',
      rtcpFb: ['transport-cc'],
    });
    assert.deepEqual(a0.codecs[1], { payloadType: 63, name: 'red', clockRate: 48000, channels: 2, fmtp: '111/111', rtcpFb: [] });
  });

  test('video codecs: rtx folded into its apt codec and not listed; red/ulpfec listed', () => {
    for (const m of [v1, s2, v4]) assert.equal(m.codecs.filter((c) => c.name.toLowerCase() === 'rtx').length, 0);
    assert.deepEqual(
      v1.codecs.map((c) => [c.payloadType, c.name, c.rtxPayloadType ?? null]),
      [
        [96, 'VP8', 97],
        [102, 'H264', 103],
        [104, 'H264', 107],
        [108, 'H264', 109],
        [114, 'H264', 115],
        [116, 'H264', 117],
        [39, 'H264', 40],
        [45, 'AV1', 46],
        [98, 'VP9', 99],
        [100, 'VP9', 101],
        [118, 'red', 119],
        [120, 'ulpfec', null],
      ],
    );
    assert.deepEqual(v1.codecs[0], { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: VIDEO_FB, rtxPayloadType: 97 });
    assert.deepEqual(v1.codecs[1], {
      payloadType: 102,
      name: 'H264',
      clockRate: 90000,
      fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
      rtcpFb: VIDEO_FB,
      rtxPayloadType: 103,
    });
    // The receive line offers more (VP9 profiles 1/3, High 4:4:4 H264, AV1 profile 1, flexfec).
    assert.deepEqual(
      v4.codecs.map((c) => c.name),
      ['VP8', 'VP9', 'VP9', 'VP9', 'VP9', 'H264', 'H264', 'H264', 'H264', 'H264', 'H264', 'H264', 'H264', 'AV1', 'AV1', 'red', 'ulpfec', 'flexfec-03'],
    );
    assert.deepEqual(v4.codecs.at(-1), {
      payloadType: 49,
      name: 'flexfec-03',
      clockRate: 90000,
      fmtp: 'repair-window=10000000',
      rtcpFb: ['goog-remb', 'transport-cc'],
    });
  });

  test('header extensions with the offer ids, in offer order', () => {
    assert.deepEqual(a0.extensions, [
      { id: 1, uri: EXT.audioLevel },
      { id: 2, uri: EXT.absSendTime },
      { id: 3, uri: EXT.twcc },
      { id: 4, uri: EXT.mid },
    ]);
    assert.deepEqual(
      v1.extensions.map((e) => e.id),
      [14, 2, 13, 3, 5, 6, 7, 8, 4, 10, 11],
    );
    assert.deepEqual(v1.extensions[0], { id: 14, uri: EXT.toffset });
    assert.deepEqual(v1.extensions.slice(-3), [
      { id: 4, uri: EXT.mid },
      { id: 10, uri: EXT.rid },
      { id: 11, uri: EXT.rrid },
    ]);
    // The simulcast line also offers the dependency descriptor and video-layers-allocation.
    assert.deepEqual(
      s2.extensions.map((e) => e.id),
      [14, 2, 13, 3, 5, 6, 7, 8, 4, 10, 11, 12, 9],
    );
    assert.deepEqual(a3.extensions, a0.extensions);
  });

  test('rids only on the simulcast line', () => {
    assert.deepEqual(s2.rids, ['l', 'm', 'h']);
    for (const m of [a0, v1, a3, v4]) assert.deepEqual(m.rids, []);
  });

  test('ssrcs, FID group and msid of the sending lines; none on simulcast (rids) and recvonly lines', () => {
    const stream = grab(PUBLISH, /a=msid-semantic: WMS (\S+)/);
    const [, audioSec, videoSec] = sections(PUBLISH);
    const audioSsrc = Number(grab(audioSec!.join('\n'), /a=ssrc:(\d+) cname:/));
    const fid = grab(videoSec!.join('\n'), /a=ssrc-group:FID (\d+ \d+)/).split(' ').map(Number);
    assert.deepEqual(a0.ssrcs, [audioSsrc]);
    assert.deepEqual(a0.ssrcGroups, []);
    assert.deepEqual(v1.ssrcs, fid);
    assert.deepEqual(v1.ssrcGroups, [{ semantics: 'FID', ssrcs: fid }]);
    assert.equal(a0.msid?.streamId, stream);
    assert.equal(v1.msid?.streamId, stream);
    assert.match(a0.msid!.trackId, /^[0-9a-f-]{36}$/);
    assert.notEqual(a0.msid!.trackId, v1.msid!.trackId);
    assert.equal(s2.msid?.streamId, '-', 'a transceiver without streams has msid "-"');
    for (const m of [s2, a3, v4]) {
      assert.deepEqual(m.ssrcs, []);
      assert.deepEqual(m.ssrcGroups, []);
    }
    assert.equal(a3.msid, undefined);
    assert.equal(v4.msid, undefined);
  });
});

describe('parseOffer: other Chromium offers', () => {
  test('renegotiation after removeTrack: the simulcast line is inactive and keeps its rids; candidates inline', () => {
    const offer = parseOffer(RENEGOTIATE);
    assert.deepEqual(
      offer.media.map((m) => [m.mid, m.kind, m.direction]),
      [
        ['0', 'audio', 'sendonly'],
        ['1', 'video', 'sendonly'],
        ['2', 'video', 'inactive'],
        ['3', 'audio', 'recvonly'],
        ['4', 'video', 'recvonly'],
      ],
    );
    assert.deepEqual(offer.media[2]!.rids, ['l', 'm', 'h']);
    assert.match(RENEGOTIATE, /\r\na=candidate:/);
    assert.notEqual(offer.media[0]!.port, 9, 'the first m-line carries the default candidate port');
  });

  test('data channel: application m-line with no codecs or extensions', () => {
    const offer = parseOffer(DATACHANNEL);
    const app = offer.media[1]!;
    assert.deepEqual(
      { kind: app.kind, mid: app.mid, protocol: app.protocol, payloads: app.payloads, codecs: app.codecs, extensions: app.extensions },
      { kind: 'application', mid: '1', protocol: 'UDP/DTLS/SCTP', payloads: 'webrtc-datachannel', codecs: [], extensions: [] },
    );
    assert.equal(app.direction, 'sendrecv', 'no direction attribute: the SDP default');
  });

  test('all-digit tokens stay strings (mid, ice-ufrag, ice-pwd)', () => {
    const sdp = PUBLISH.replace(/a=ice-ufrag:\S+/g, 'a=ice-ufrag:1234').replace(/a=ice-pwd:\S+/g, 'a=ice-pwd:123456789012345678901234');
    const offer = parseOffer(sdp);
    assert.equal(offer.iceUfrag, '1234');
    assert.equal(offer.icePwd, '123456789012345678901234');
    assert.equal(offer.media[0]!.mid, '0');
    assert.equal(offer.media[4]!.iceUfrag, '1234');
  });

  test('session-level ICE credentials and fingerprint are used when m-lines lack them', () => {
    const parts = sections(without(without(without(PUBLISH, /^a=ice-ufrag:/), /^a=ice-pwd:/), /^a=fingerprint:/));
    parts[0]!.push('a=ice-ufrag:sess', 'a=ice-pwd:sessionlevelpasswordxxxxx', 'a=fingerprint:sha-256 00:11');
    const offer = parseOffer(join2(parts));
    assert.deepEqual([offer.iceUfrag, offer.icePwd], ['sess', 'sessionlevelpasswordxxxxx']);
    assert.deepEqual([offer.media[3]!.iceUfrag, offer.media[3]!.icePwd], ['sess', 'sessionlevelpasswordxxxxx']);
    assert.deepEqual(offer.fingerprint, { algorithm: 'sha-256', value: '00:11' });
  });
});

describe('parseOffer: SdpError', () => {
  test('empty, garbage, no m-lines', () => {
    throwsSdpError(() => parseOffer(''), 'SDP offer is empty');
    throwsSdpError(() => parseOffer('  \r\n'), 'SDP offer is empty');
    throwsSdpError(() => parseOffer(undefined as unknown as string), 'SDP offer is empty');
    throwsSdpError(() => parseOffer('hello world'), 'SDP offer must start with "v=0"');
    throwsSdpError(() => parseOffer('{"type":"offer","sdp":"v=0"}'), 'SDP offer must start with "v=0"');
    throwsSdpError(() => parseOffer('v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'), 'SDP offer has no m-lines');
    throwsSdpError(() => parseOffer(sections(PUBLISH)[0]!.join('\r\n') + '\r\n'), 'SDP offer has no m-lines');
  });

  test('missing fingerprint', () => {
    throwsSdpError(() => parseOffer(without(PUBLISH, /^a=fingerprint:/)), 'SDP offer has no a=fingerprint');
  });

  test('missing ICE credentials, everywhere or on one m-line', () => {
    throwsSdpError(() => parseOffer(without(PUBLISH, /^a=ice-ufrag:/)), 'SDP offer has no a=ice-ufrag');
    throwsSdpError(() => parseOffer(without(PUBLISH, /^a=ice-pwd:/)), 'SDP offer has no a=ice-pwd');
    throwsSdpError(() => parseOffer(without(PUBLISH, /^a=ice-ufrag:/, 3)), 'm-line 3 (mid 3) has no a=ice-ufrag');
    throwsSdpError(() => parseOffer(without(PUBLISH, /^a=ice-pwd:/, 1)), 'm-line 1 (mid 1) has no a=ice-pwd');
  });

  test('missing or repeated mid, unsupported media type', () => {
    throwsSdpError(() => parseOffer(without(PUBLISH, /^a=mid:/, 1)), 'm-line 1 has no a=mid');
    throwsSdpError(() => parseOffer(PUBLISH.replace('a=mid:1\r\n', 'a=mid:0\r\n')), 'm-line 1 repeats mid "0"');
    throwsSdpError(() => parseOffer(PUBLISH.replace('m=audio 9 UDP/TLS/RTP/SAVPF 111 63', 'm=text 9 UDP/TLS/RTP/SAVPF 111 63')), 'm-line 0 has unsupported media type "text"');
  });

  test('sendrecv m-lines are let through for the caller to refuse', () => {
    const offer = parseOffer(PUBLISH.replace('a=sendonly', 'a=sendrecv'));
    assert.equal(offer.media[0]!.direction, 'sendrecv');
    assert.equal(offer.media[1]!.direction, 'sendonly');
  });
});

describe('chooseCodec', () => {
  const publish = parseOffer(PUBLISH);
  const h264 = parseOffer(H264);
  const pick = (m: OfferedMedia, room: 'vp8' | 'h264' | null) => {
    const c = chooseCodec(m, room);
    return c ? `${c.payloadType} ${c.name} ${c.fmtp ?? ''}`.trim() : undefined;
  };
  const only = (m: OfferedMedia, keep: (c: Codec) => boolean): OfferedMedia => ({ ...m, codecs: m.codecs.filter(keep) });

  test('audio: first opus whatever the room codec', () => {
    for (const room of ['vp8', 'h264', null] as const) {
      assert.equal(pick(publish.media[0]!, room), '111 opus minptime=10;useinbandfec=1');
      assert.equal(pick(publish.media[3]!, room), '111 opus minptime=10;useinbandfec=1');
    }
    assert.equal(chooseCodec(only(publish.media[0]!, (c) => c.name !== 'opus'), null), undefined);
  });

  test('Chromium default order: vp8 → VP8, h264 → first pm=1 42001f, null → VP8 (first)', () => {
    const v = publish.media[1]!;
    assert.equal(pick(v, 'vp8'), '96 VP8');
    assert.equal(pick(v, 'h264'), '102 H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f');
    assert.equal(pick(v, null), '96 VP8');
    assert.equal(chooseCodec(v, 'vp8')!.rtxPayloadType, 97);
  });

  test('H264 first (main, then CB pm=0): h264 and null rooms skip both and take CB pm=1', () => {
    const v = h264.media[0]!;
    assert.deepEqual(
      v.codecs.slice(0, 3).map((c) => c.fmtp),
      [
        'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f',
        'level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f',
        'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      ],
    );
    assert.equal(pick(v, 'h264'), '108 H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f');
    assert.equal(pick(v, null), '108 H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f');
    assert.equal(pick(v, 'vp8'), '96 VP8');
  });

  test('nothing acceptable → undefined', () => {
    const v = publish.media[1]!;
    const notCb = only(v, (c) => c.name === 'VP9' || (c.name === 'H264' && !/packetization-mode=1;profile-level-id=42/.test(c.fmtp ?? '')));
    assert.ok(notCb.codecs.some((c) => c.name === 'H264'));
    assert.equal(chooseCodec(notCb, 'h264'), undefined);
    assert.equal(chooseCodec(notCb, null), undefined);
    assert.equal(chooseCodec(only(v, (c) => c.name !== 'VP8'), 'vp8'), undefined);
    assert.equal(chooseCodec(only(v, (c) => c.name !== 'H264'), 'h264'), undefined);
    assert.equal(chooseCodec(parseOffer(DATACHANNEL).media[1]!, null), undefined);
  });
});

describe('matchCodec', () => {
  const publish = parseOffer(PUBLISH);
  const recvVideo = publish.media[4]!;
  const h264 = parseOffer(H264);

  test('same codec on the receiver line, with the receiver payload types', () => {
    assert.deepEqual(matchCodec(recvVideo, chooseCodec(publish.media[1]!, 'vp8')!), recvVideo.codecs[0]);
    assert.equal(matchCodec(publish.media[3]!, chooseCodec(publish.media[0]!, null)!)?.payloadType, 111);
    // Name is compared case-insensitively; the publisher's payload type does not matter.
    const like: Codec = { payloadType: 127, name: 'vp8', clockRate: 90000, rtcpFb: [] };
    assert.equal(matchCodec(recvVideo, like)?.payloadType, 96);
    assert.equal(matchCodec(recvVideo, like)?.rtxPayloadType, 97);
  });

  test('H264: same packetization-mode and profile-level-id prefix (profile + constraints), level ignored', () => {
    const h = (pt: number, fmtp: string): Codec => ({ payloadType: pt, name: 'H264', clockRate: 90000, fmtp, rtcpFb: [] });
    const recvH264 = h264.media[1]!;
    const chosen = chooseCodec(h264.media[0]!, 'h264')!;
    assert.equal(matchCodec(recvH264, chosen)?.payloadType, 108);
    assert.equal(matchCodec(recvVideo, h(1, 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f'))?.payloadType, 102);
    assert.equal(matchCodec(recvVideo, h(1, 'packetization-mode=1;profile-level-id=42E034'))?.payloadType, 108);
    assert.equal(matchCodec(recvVideo, h(1, 'profile-level-id=42e01f;packetization-mode=0'))?.payloadType, 114);
    assert.equal(matchCodec(recvVideo, h(1, 'packetization-mode=1;profile-level-id=64001f')), undefined);
    // High 4:4:4 is receivable but Chromium does not send it.
    assert.equal(matchCodec(publish.media[1]!, h(1, 'packetization-mode=1;profile-level-id=f4001f')), undefined);
    assert.equal(matchCodec(recvVideo, h(1, 'packetization-mode=1;profile-level-id=f4001f'))?.payloadType, 41);
  });

  test('no match → undefined', () => {
    const opus = chooseCodec(publish.media[0]!, null)!;
    assert.equal(matchCodec(recvVideo, opus), undefined);
    assert.equal(matchCodec(publish.media[3]!, { ...opus, clockRate: 8000 }), undefined);
    assert.equal(matchCodec(publish.media[3]!, { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] }), undefined);
  });
});

describe('supportedExtensions', () => {
  const publish = parseOffer(PUBLISH);

  test('audio keeps audio-level, abs-send-time, transport-cc, mid; video keeps abs-send-time, transport-cc, mid, rid, rrid', () => {
    assert.deepEqual(supportedExtensions(publish.media[0]!), [
      { id: 1, uri: EXT.audioLevel },
      { id: 2, uri: EXT.absSendTime },
      { id: 3, uri: EXT.twcc },
      { id: 4, uri: EXT.mid },
    ]);
    const video = [
      { id: 2, uri: EXT.absSendTime },
      { id: 3, uri: EXT.twcc },
      { id: 4, uri: EXT.mid },
      { id: 10, uri: EXT.rid },
      { id: 11, uri: EXT.rrid },
    ];
    assert.deepEqual(supportedExtensions(publish.media[1]!), video);
    assert.deepEqual(supportedExtensions(publish.media[2]!), video);
    assert.deepEqual(supportedExtensions(publish.media[4]!), video);
  });

  test('audio-level is dropped on video; application lines keep nothing', () => {
    const v = { ...publish.media[1]!, extensions: [{ id: 1, uri: EXT.audioLevel }, ...publish.media[1]!.extensions] };
    assert.equal(supportedExtensions(v).some((e) => e.uri === EXT.audioLevel), false);
    assert.deepEqual(supportedExtensions(parseOffer(DATACHANNEL).media[1]!), []);
  });
});

describe('buildAnswer', () => {
  const offer = parseOffer(PUBLISH);
  const sdp = publishAnswer(offer);
  const parts = sections(sdp);
  const fp = `a=fingerprint:sha-256 ${SERVER.fingerprint.value}`;
  const transport = [
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${SERVER.iceUfrag}`,
    `a=ice-pwd:${SERVER.icePwd}`,
    'a=ice-options:trickle',
    fp,
    'a=setup:passive',
  ];
  const videoExt = ['a=extmap:2 ' + EXT.absSendTime, 'a=extmap:3 ' + EXT.twcc, 'a=extmap:4 ' + EXT.mid, 'a=extmap:10 ' + EXT.rid, 'a=extmap:11 ' + EXT.rrid];
  const audioExt = ['a=extmap:1 ' + EXT.audioLevel, 'a=extmap:2 ' + EXT.absSendTime, 'a=extmap:3 ' + EXT.twcc, 'a=extmap:4 ' + EXT.mid];
  const vp8 = (pt: number, rtx: number) => [
    `a=rtpmap:${pt} VP8/90000`,
    ...VIDEO_FB.map((f) => `a=rtcp-fb:${pt} ${f}`),
    `a=rtpmap:${rtx} rtx/90000`,
    `a=fmtp:${rtx} apt=${pt}`,
  ];

  test('session part: v, o, s, t, BUNDLE of all mids in order, extmap-allow-mixed, ice-lite, msid-semantic', () => {
    assert.deepEqual(parts[0], [
      'v=0',
      `o=- ${SERVER.sessionId} 7 IN IP4 127.0.0.1`,
      's=-',
      't=0 0',
      'a=group:BUNDLE 0 1 2 3 4',
      'a=extmap-allow-mixed',
      'a=ice-lite',
      'a=msid-semantic: WMS *',
    ]);
    assert.ok(sdp.endsWith('\r\n'));
    assert.equal(/[^\r]\n/.test(sdp), false, 'CRLF line endings only');
    assert.deepEqual(parts.slice(1).map((p) => p.find((l) => l.startsWith('a=mid:'))), ['a=mid:0', 'a=mid:1', 'a=mid:2', 'a=mid:3', 'a=mid:4']);
  });

  test('publisher audio line: recvonly opus, exact lines in order (no rtcp-rsize for audio)', () => {
    assert.deepEqual(parts[1], [
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      ...transport,
      'a=mid:0',
      ...audioExt,
      'a=recvonly',
      'a=rtcp-mux',
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      'a=rtcp-fb:111 transport-cc',
    ]);
  });

  test('publisher simulcast line: recvonly VP8 + rtx, rid recv ×3 and simulcast:recv', () => {
    assert.deepEqual(parts[3], [
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
      ...transport,
      'a=mid:2',
      ...videoExt,
      'a=recvonly',
      'a=rtcp-mux',
      'a=rtcp-rsize',
      ...vp8(96, 97),
      'a=rid:l recv',
      'a=rid:m recv',
      'a=rid:h recv',
      'a=simulcast:recv l;m;h',
    ]);
  });

  test('receiver line: sendonly with msid (real stream id), FID group, ssrc cname + msid for media and rtx', () => {
    assert.deepEqual(parts[5], [
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
      ...transport,
      'a=mid:4',
      ...videoExt,
      'a=sendonly',
      'a=msid:peer-a track-v',
      'a=rtcp-mux',
      'a=rtcp-rsize',
      ...vp8(96, 97),
      'a=ssrc-group:FID 111111 222222',
      'a=ssrc:111111 cname:shoal-cname',
      'a=ssrc:111111 msid:peer-a track-v',
      'a=ssrc:222222 cname:shoal-cname',
      'a=ssrc:222222 msid:peer-a track-v',
    ]);
    // Audio: no rtx, so no FID group.
    assert.deepEqual(parts[4]!.filter((l) => /^a=(ssrc|msid)/.test(l)), [
      'a=msid:peer-a track-a',
      'a=ssrc:111111 cname:shoal-cname',
      'a=ssrc:111111 msid:peer-a track-a',
    ]);
  });

  test('sdp-transform reads it back: setup passive, rtcp-mux, same extension ids as the offer, one codec per line', () => {
    const parsed = parseSdp(sdp);
    assert.equal(parsed.icelite, 'ice-lite');
    assert.deepEqual(parsed.groups, [{ type: 'BUNDLE', mids: '0 1 2 3 4' }]);
    parsed.media.forEach((m, i) => {
      const offered = offer.media[i]!;
      assert.equal(m.setup, 'passive');
      assert.equal(m.rtcpMux, 'rtcp-mux');
      assert.equal(String(m.mid), offered.mid);
      assert.equal(m.type, offered.kind);
      for (const e of m.ext ?? []) {
        assert.deepEqual(offered.extensions.find((o) => o.uri === e.uri), { id: e.value, uri: e.uri }, `mid ${offered.mid} ${e.uri}`);
      }
      assert.equal(m.rtp.filter((r) => r.codec !== 'rtx').length, 1);
    });
    assert.deepEqual(
      parsed.media.map((m) => m.direction),
      ['recvonly', 'recvonly', 'recvonly', 'sendonly', 'sendonly'],
    );
  });

  test('rtcp-fb: only nack, nack pli, ccm fir, goog-remb, transport-cc; transport-cc only with the transport-cc extension', () => {
    const v = offer.media[1]!;
    const codec: Codec = { ...chooseCodec(v, 'vp8')!, rtcpFb: ['nack', 'nack pli', 'nack rpsi', 'goog-lntf', 'ccm fir', 'ccm tmmbr', 'transport-cc', 'goog-remb'] };
    const fb = (extensions: AnswerMedia['extensions']) =>
      sections(
        buildAnswer({ ...SERVER, media: [{ mid: '1', kind: 'video', direction: 'recvonly', codec, extensions, offered: v }] }),
      )[1]!.filter((l) => l.startsWith('a=rtcp-fb:'));
    assert.deepEqual(fb(supportedExtensions(v)), ['nack', 'nack pli', 'ccm fir', 'transport-cc', 'goog-remb'].map((f) => `a=rtcp-fb:96 ${f}`));
    const noTwcc = supportedExtensions(v).filter((e) => e.uri !== EXT.twcc);
    assert.deepEqual(fb(noTwcc), ['nack', 'nack pli', 'ccm fir', 'goog-remb'].map((f) => `a=rtcp-fb:96 ${f}`));
  });

  test('inactive lines without a codec use the first offered codec; send and simulcast only where they apply', () => {
    const answer = buildAnswer(
      answerParams(offer, (m) => {
        if (m.mid === '2') return { direction: 'sendonly', codec: chooseCodec(m, null), simulcastRids: m.rids, send: SEND };
        if (m.mid === '4') return { direction: 'recvonly', codec: matchCodec(m, chooseCodec(offer.media[1]!, null)!), send: SEND };
        if (m.mid === '3') return { direction: 'sendonly', codec: matchCodec(m, chooseCodec(offer.media[0]!, null)!), send: SEND };
        return {}; // inactive, no codec
      }),
    );
    const p = sections(answer);
    assert.equal(p[1]![0], 'm=audio 9 UDP/TLS/RTP/SAVPF 111');
    assert.ok(p[1]!.includes('a=inactive'));
    assert.equal(p[2]![0], 'm=video 9 UDP/TLS/RTP/SAVPF 96 97');
    assert.ok(p[2]!.includes('a=inactive'));
    assert.equal(p[0]!.find((l) => l.startsWith('a=group:')), 'a=group:BUNDLE 0 1 2 3 4', 'inactive lines stay in the BUNDLE');
    // simulcastRids ignored on a sending line, send ignored on a receiving line
    assert.equal(p[3]!.some((l) => /^a=(rid|simulcast)/.test(l)), false);
    assert.equal(p[5]!.some((l) => /^a=(ssrc|msid)/.test(l)), false);
    // rtxSsrc without an rtx payload type: no FID group, one ssrc
    assert.deepEqual(p[4]!.filter((l) => /^a=ssrc/.test(l)), ['a=ssrc:111111 cname:shoal-cname', 'a=ssrc:111111 msid:peer-a track-v']);
    // no msid/ssrc on inactive lines
    assert.equal(p[1]!.some((l) => /^a=(ssrc|msid)/.test(l)), false);
  });

  test('rejected lines: application (offered proto/fmt echoed) and lines the offerer rejected (port 0); both out of BUNDLE', () => {
    const dc = parseOffer(DATACHANNEL);
    const answer = buildAnswer(
      answerParams(dc, (m) => (m.kind === 'audio' ? { direction: 'sendonly', codec: chooseCodec(m, null), send: SEND } : {})),
    );
    const p = sections(answer);
    assert.equal(p[0]!.find((l) => l.startsWith('a=group:')), 'a=group:BUNDLE 0');
    assert.deepEqual(p[2], ['m=application 0 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', 'a=mid:1']);

    const stopped = { ...offer.media[4]!, port: 0 };
    const answer2 = buildAnswer(
      answerParams({ ...offer, media: [...offer.media.slice(0, 4), stopped] }, (m) => (m.mid === '0' ? { direction: 'recvonly', codec: chooseCodec(m, null) } : {})),
    );
    const p2 = sections(answer2);
    assert.equal(p2[0]!.find((l) => l.startsWith('a=group:')), 'a=group:BUNDLE 0 1 2 3');
    assert.deepEqual(p2[5], ['m=video 0 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=mid:4', 'a=inactive']);
    // Every line rejected: no BUNDLE group at all.
    const onlyApp = buildAnswer({ ...SERVER, media: [{ mid: '0', kind: 'application', direction: 'inactive', extensions: [] }] });
    assert.equal(onlyApp.includes('a=group:'), false);
    assert.match(onlyApp, /\r\nm=application 0 UDP\/DTLS\/SCTP webrtc-datachannel\r\n/);
  });

  test('invalid parameters → SdpError', () => {
    throwsSdpError(() => buildAnswer({ ...SERVER, sessionId: 'abc-123', media: [] }), 'answer sessionId must be decimal digits, got "abc-123"');
    throwsSdpError(() => buildAnswer({ ...SERVER, media: [] }), 'answer needs at least one m-line');
    throwsSdpError(
      () => buildAnswer({ ...SERVER, media: [{ mid: '0', kind: 'video', direction: 'inactive', extensions: [] }] }),
      'answer m-line mid 0: no codec given and no offered codec to fall back on',
    );
  });
});
