/**
 * src/media/wire/sdp.ts and sdp-answer.ts against real headless Chromium: the offers Chromium makes for
 * the transceivers ts-client 0.5.0 creates (sendonly audio/video, rid-simulcast l/m/h video, recvonly
 * audio/video, lines made inactive by removeTrack) are parsed, answered with buildAnswer(), and the answer
 * must be accepted by setRemoteDescription: directions, negotiated codecs, simulcast encodings and the
 * `track` events (stream id from our a=msid) are read back from the RTCPeerConnection.
 *
 * The same flows produce the unit-test fixtures in test/media/wire/fixtures/*.sdp: each test checks that
 * this Chromium still makes offers of the fixture's shape. After a Chromium upgrade changes them, regenerate:
 *   SHOAL_WRITE_SDP_FIXTURES=1 node --import tsx --test test/media/wire/sdp-browser.test.ts
 *
 * Functions passed to page.evaluate must not bind named functions (`const f = () => ...`): tsx/esbuild
 * then injects a `__name(...)` helper that does not exist in the page.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  closeClientPage,
  closeStaticServer,
  formatPageLogs,
  getPageEvents,
  launchBrowser,
  openClientPage,
  waitForPageEvent,
  type Browser,
  type Page,
} from '../../helpers/browser.js';
import {
  chooseCodec,
  matchCodec,
  parseOffer,
  supportedExtensions,
  type Codec,
  type OfferedMedia,
  type ParsedOffer,
} from '../../../src/media/wire/sdp.js';
import { buildAnswer, type AnswerMedia } from '../../../src/media/wire/sdp-answer.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const WRITE_FIXTURES = process.env.SHOAL_WRITE_SDP_FIXTURES === '1';

const SERVER = {
  iceUfrag: 'shoalUfrag',
  icePwd: 'shoalIcePasswordOf24Chr',
  // Chromium only checks the fingerprint's syntax at setRemoteDescription; DTLS never starts here.
  fingerprint: {
    algorithm: 'sha-256',
    value: Array.from({ length: 32 }, (_, i) => (i * 7 + 16).toString(16).toUpperCase().padStart(2, '0')).join(':'),
  },
  sessionId: '4611686018427387904',
};

interface TrackEventData {
  mid: string | null;
  kind: string;
  streams: string[];
}

interface PcState {
  mids: (string | null)[];
  currentDirections: (string | null)[];
  senderRids: string[][];
  senderCodecs: string[][];
  senderExtensions: string[][];
}

/** Builds an answer: every line defaults to inactive with the kept extensions; `plan` overrides per line. */
function answer(offer: ParsedOffer, version: number, plan: (m: OfferedMedia) => Partial<AnswerMedia>): string {
  return buildAnswer({
    ...SERVER,
    sessionVersion: version,
    media: offer.media.map((m) => ({
      mid: m.mid,
      kind: m.kind,
      direction: 'inactive' as const,
      extensions: supportedExtensions(m),
      offered: m,
      ...plan(m),
    })),
  });
}

/** What must stay stable between the committed fixtures and what this Chromium offers. */
function shape(offer: ParsedOffer) {
  return offer.media.map((m) => ({
    mid: m.mid,
    kind: m.kind,
    direction: m.direction,
    rejected: m.port === 0,
    codecs: m.codecs.map((c) => `${c.payloadType} ${c.name}/${c.clockRate} ${c.fmtp ?? ''} rtx=${c.rtxPayloadType ?? '-'}`),
    extensions: m.extensions.map((e) => `${e.id} ${e.uri}`),
    rids: m.rids,
    msid: m.msid ? (m.msid.streamId === '-' ? 'no stream' : 'stream') : 'none',
    ssrcs: m.ssrcs.length,
  }));
}

async function checkFixture(name: string, sdp: string): Promise<void> {
  const file = join(FIXTURES, name);
  if (WRITE_FIXTURES) {
    await writeFile(file, sdp);
    return;
  }
  const stored = await readFile(file, 'utf8');
  assert.deepEqual(
    shape(parseOffer(sdp)),
    shape(parseOffer(stored)),
    `this Chromium's offer no longer has the shape of fixtures/${name}; regenerate with SHOAL_WRITE_SDP_FIXTURES=1`,
  );
}

describe('sdp: Chromium accepts buildAnswer() answers to its own offers', () => {
  let browser: Browser;
  let page: Page;

  before(async () => {
    browser = await launchBrowser();
    page = await openClientPage(browser, 'c5');
  });

  after(async () => {
    if (page) await closeClientPage(page);
    await browser?.close();
    await closeStaticServer();
  });

  /** Makes a fresh RTCPeerConnection in the page (closing the last one) whose ontrack pushes 'track'. */
  async function newPc(): Promise<void> {
    await page.evaluate(() => {
      const w = window as unknown as { pc?: RTCPeerConnection };
      w.pc?.close();
      window.events.length = 0;
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      pc.ontrack = (e) =>
        window.pushEvent('track', { mid: e.transceiver.mid, kind: e.track.kind, streams: e.streams.map((s) => s.id) });
      w.pc = pc;
    });
  }

  async function createOffer(): Promise<string> {
    return page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
  }

  /** setRemoteDescription(answer); returns the error text, or the state read back from the pc. */
  async function applyAnswer(sdp: string): Promise<PcState> {
    const result = await page.evaluate(async (sdp) => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp });
      } catch (err) {
        return { error: String(err) };
      }
      const ts = pc.getTransceivers();
      return {
        state: {
          mids: ts.map((t) => t.mid),
          currentDirections: ts.map((t) => t.currentDirection),
          senderRids: ts.map((t) => t.sender.getParameters().encodings.map((e) => e.rid ?? '')),
          senderCodecs: ts.map((t) =>
            t.sender.getParameters().codecs.map((c) => `${c.payloadType} ${c.mimeType} ${c.sdpFmtpLine ?? ''}`.trim()),
          ),
          senderExtensions: ts.map((t) => t.sender.getParameters().headerExtensions.map((h) => `${h.id} ${h.uri}`)),
        },
      };
    }, sdp);
    if ('error' in result) assert.fail(`Chromium refused the answer: ${result.error}\n--- answer ---\n${sdp}\n${formatPageLogs(page)}`);
    return result.state;
  }

  async function trackEvents(): Promise<TrackEventData[]> {
    return (await getPageEvents(page)).filter((e) => e.name === 'track').map((e) => e.data as TrackEventData);
  }

  const send = (mid: string, rtx: boolean) => ({
    ssrc: 0x10000000 + Number(mid),
    ...(rtx ? { rtxSsrc: 0x20000000 + Number(mid) } : {}),
    cname: 'shoal',
    streamId: `peer-a-stream-${mid}`,
    trackId: `peer-a-track-${mid}`,
  });

  test('publish audio + video + simulcast video, receive audio + video, one extra slot; then removeTrack; then a stopped slot', async () => {
    await newPc();
    const first = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const audio = stream.getAudioTracks()[0]!;
      const video = stream.getVideoTracks()[0]!;
      pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
      pc.addTransceiver(video, { direction: 'sendonly', streams: [stream] });
      pc.addTransceiver(video.clone(), {
        direction: 'sendonly',
        sendEncodings: [{ rid: 'l', scaleResolutionDownBy: 4 }, { rid: 'm', scaleResolutionDownBy: 2 }, { rid: 'h' }],
      });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' }); // a slot Shoal has no track for
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
    // (The committed fixture is the offer of the first five transceivers, C5's usual shape: next test.)
    const offer = parseOffer(first);
    assert.deepEqual(
      offer.media.map((m) => `${m.mid} ${m.kind} ${m.direction}`),
      ['0 audio sendonly', '1 video sendonly', '2 video sendonly', '3 audio recvonly', '4 video recvonly', '5 video recvonly'],
    );

    const published = { audio: chooseCodec(offer.media[0]!, 'vp8')!, video: chooseCodec(offer.media[1]!, 'vp8')! };
    assert.equal(published.audio.name, 'opus');
    assert.equal(published.video.name, 'VP8');
    assert.notEqual(published.video.rtxPayloadType, undefined);
    const recvAudio = matchCodec(offer.media[3]!, published.audio)!;
    const recvVideo = matchCodec(offer.media[4]!, published.video)!;

    const plan = (m: OfferedMedia): Partial<AnswerMedia> => {
      switch (m.mid) {
        case '0':
          return { direction: 'recvonly', codec: published.audio };
        case '1':
          return { direction: 'recvonly', codec: published.video };
        case '2':
          return { direction: 'recvonly', codec: chooseCodec(m, 'vp8'), simulcastRids: m.rids };
        case '3':
          return { direction: 'sendonly', codec: recvAudio, send: send('3', false) };
        case '4':
          return { direction: 'sendonly', codec: recvVideo, send: send('4', true) };
        default:
          return {}; // inactive, first offered codec
      }
    };
    const state = await applyAnswer(answer(offer, 1, plan));

    // ontrack for the two lines Shoal sends on, carrying our stream ids; none for the inactive slot.
    await waitForPageEvent(page, (e) => e.name === 'track' && (e.data as TrackEventData).mid === '4', 5_000);
    const tracks = await trackEvents();
    assert.deepEqual(
      tracks.map((t) => ({ mid: t.mid, kind: t.kind, stream: t.streams[0] })).sort((a, b) => String(a.mid).localeCompare(String(b.mid))),
      [
        { mid: '3', kind: 'audio', stream: 'peer-a-stream-3' },
        { mid: '4', kind: 'video', stream: 'peer-a-stream-4' },
      ],
    );
    assert.deepEqual(state.mids, ['0', '1', '2', '3', '4', '5']);
    assert.deepEqual(state.currentDirections, ['sendonly', 'sendonly', 'sendonly', 'recvonly', 'recvonly', 'inactive']);
    // Simulcast accepted: all three encodings survive (without a=simulcast:recv only 'l' would).
    assert.deepEqual(state.senderRids[2], ['l', 'm', 'h']);
    // Only the chosen codec (+ its rtx) is negotiated for sending, with the offer's payload types. (Chromium's
    // receiver.getParameters().codecs lists the receiver's own offered codecs, not the answer's: not checked.)
    assert.deepEqual(state.senderCodecs[0], [`${published.audio.payloadType} audio/opus minptime=10;useinbandfec=1`]);
    for (const i of [1, 2]) {
      assert.deepEqual(state.senderCodecs[i], [
        `${published.video.payloadType} video/VP8`,
        `${published.video.rtxPayloadType} video/rtx apt=${published.video.payloadType}`,
      ]);
    }
    // The header extensions Chromium will send are exactly the kept ones, with the offer's ids.
    assert.deepEqual(
      [...state.senderExtensions[1]!].sort(),
      supportedExtensions(offer.media[1]!).map((e) => `${e.id} ${e.uri}`).sort(),
    );
    assert.deepEqual(
      [...state.senderExtensions[0]!].sort(),
      supportedExtensions(offer.media[0]!).map((e) => `${e.id} ${e.uri}`).sort(),
    );

    // Round 2, C5's removeTrack (peer-protocol §2.5 e): the simulcast line becomes inactive.
    const secondSdp = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      pc.removeTrack(pc.getTransceivers()[2]!.sender);
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
    const second = parseOffer(secondSdp);
    assert.deepEqual(
      second.media.map((m) => m.direction),
      ['sendonly', 'sendonly', 'inactive', 'recvonly', 'recvonly', 'recvonly'],
    );
    const state2 = await applyAnswer(answer(second, 2, (m) => (m.mid === '2' ? {} : plan(m))));
    assert.deepEqual(state2.currentDirections, ['sendonly', 'sendonly', 'inactive', 'recvonly', 'recvonly', 'inactive']);
    assert.equal((await trackEvents()).length, 2, 'no new track events on renegotiation');

    // Round 3: the extra slot's transceiver is stopped, so it is offered with port 0 and must be rejected.
    const thirdSdp = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      pc.getTransceivers()[5]!.stop();
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
    const third = parseOffer(thirdSdp);
    assert.equal(third.media[5]!.port, 0);
    const thirdAnswer = answer(third, 3, (m) => (m.mid === '2' ? {} : plan(m)));
    assert.match(thirdAnswer, /\r\na=group:BUNDLE 0 1 2 3 4\r\n/);
    assert.match(thirdAnswer, /\r\nm=video 0 UDP\/TLS\/RTP\/SAVPF \d+\r\n/);
    const state3 = await applyAnswer(thirdAnswer);
    assert.deepEqual(state3.mids, ['0', '1', '2', '3', '4'], 'the stopped transceiver is gone');
    assert.deepEqual(state3.currentDirections, ['sendonly', 'sendonly', 'inactive', 'recvonly', 'recvonly']);
  });

  test('C5 renegotiation offer after removeTrack (fixture) is answered inactive and accepted', async () => {
    // The offer ts-client 0.5.0 sends after removing its simulcast camera: same transceivers as the
    // fixture above, second round, the simulcast line inactive.
    await newPc();
    const firstSdp = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const video = stream.getVideoTracks()[0]!;
      pc.addTransceiver(stream.getAudioTracks()[0]!, { direction: 'sendonly', streams: [stream] });
      pc.addTransceiver(video, { direction: 'sendonly', streams: [stream] });
      pc.addTransceiver(video.clone(), {
        direction: 'sendonly',
        sendEncodings: [{ rid: 'l', scaleResolutionDownBy: 4 }, { rid: 'm', scaleResolutionDownBy: 2 }, { rid: 'h' }],
      });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
    await checkFixture('chromium-publish-receive.sdp', firstSdp);
    const first = parseOffer(firstSdp);
    const audio = chooseCodec(first.media[0]!, null)!;
    const video = chooseCodec(first.media[1]!, null)!;
    const plan = (m: OfferedMedia): Partial<AnswerMedia> =>
      m.direction === 'sendonly'
        ? { direction: 'recvonly', codec: chooseCodec(m, null), ...(m.rids.length ? { simulcastRids: m.rids } : {}) }
        : m.direction === 'recvonly'
          ? { direction: 'sendonly', codec: matchCodec(m, m.kind === 'audio' ? audio : video), send: send(m.mid, m.kind === 'video') }
          : {};
    await applyAnswer(answer(first, 1, plan));

    const secondSdp = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      pc.removeTrack(pc.getTransceivers()[2]!.sender);
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
    await checkFixture('chromium-renegotiate-removed.sdp', secondSdp);
    const second = parseOffer(secondSdp);
    assert.equal(second.media[2]!.direction, 'inactive');
    const state = await applyAnswer(answer(second, 2, plan));
    assert.deepEqual(state.currentDirections, ['sendonly', 'sendonly', 'inactive', 'recvonly', 'recvonly']);
  });

  test('h264 room: constrained-baseline H264 is chosen over main/pm=0 offered first, and forwarded to a receiver', async () => {
    await newPc();
    const sdp = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      const t = pc.addTransceiver(stream.getVideoTracks()[0]!, { direction: 'sendonly', streams: [stream] });
      // H264 first, in an order where the first H264 entries are not constrained baseline / pm=1.
      const all = RTCRtpReceiver.getCapabilities('video')!.codecs;
      const ranked = all.map((c) => {
        const f = c.sdpFmtpLine ?? '';
        let rank = 3;
        if (c.mimeType !== 'video/H264') rank = 10;
        else if (f.includes('profile-level-id=4d001f') && f.includes('packetization-mode=1')) rank = 0;
        else if (f.includes('profile-level-id=42e01f') && f.includes('packetization-mode=0')) rank = 1;
        else if (f.includes('profile-level-id=42e01f') && f.includes('packetization-mode=1')) rank = 2;
        return { rank, c };
      });
      t.setCodecPreferences(ranked.sort((a, b) => a.rank - b.rank).map((r) => r.c));
      pc.addTransceiver('video', { direction: 'recvonly' });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
    await checkFixture('chromium-h264-first.sdp', sdp);
    const offer = parseOffer(sdp);
    assert.equal(offer.media[0]!.codecs[0]!.name, 'H264');
    const chosen = chooseCodec(offer.media[0]!, 'h264')!;
    assert.match(chosen.fmtp ?? '', /packetization-mode=1/);
    assert.match(chosen.fmtp ?? '', /profile-level-id=42e01f/);
    assert.deepEqual(chooseCodec(offer.media[0]!, null), chosen, 'no room codec: first VP8 / CB-H264 in offer order');
    const forwarded = matchCodec(offer.media[1]!, chosen)!;
    assert.equal(forwarded.fmtp, chosen.fmtp);

    const state = await applyAnswer(
      answer(offer, 1, (m) =>
        m.mid === '0'
          ? { direction: 'recvonly', codec: chosen }
          : { direction: 'sendonly', codec: forwarded, send: send(m.mid, true) },
      ),
    );
    assert.deepEqual(state.currentDirections, ['sendonly', 'recvonly']);
    assert.deepEqual(state.senderCodecs[0], [
      `${chosen.payloadType} video/H264 ${chosen.fmtp}`,
      `${chosen.rtxPayloadType} video/rtx apt=${chosen.payloadType}`,
    ]);
    const ev = await waitForPageEvent(page, 'track', 5_000);
    assert.deepEqual(ev.data, { mid: '1', kind: 'video', streams: ['peer-a-stream-1'] });
  });

  test('a data-channel m-line is rejected (port 0) and Chromium accepts it', async () => {
    await newPc();
    const sdp = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.createDataChannel('shoal');
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      return offer.sdp!;
    });
    await checkFixture('chromium-datachannel.sdp', sdp);
    const offer = parseOffer(sdp);
    assert.deepEqual(
      offer.media.map((m) => [m.mid, m.kind, m.protocol, m.payloads]),
      [
        ['0', 'audio', 'UDP/TLS/RTP/SAVPF', offer.media[0]!.payloads],
        ['1', 'application', 'UDP/DTLS/SCTP', 'webrtc-datachannel'],
      ],
    );
    const opus: Codec = chooseCodec(offer.media[0]!, null)!;
    const sdpAnswer = answer(offer, 1, (m) => (m.kind === 'audio' ? { direction: 'sendonly', codec: opus, send: send('0', false) } : {}));
    assert.match(sdpAnswer, /\r\na=group:BUNDLE 0\r\n/);
    assert.match(sdpAnswer, /\r\nm=application 0 UDP\/DTLS\/SCTP webrtc-datachannel\r\nc=IN IP4 0\.0\.0\.0\r\na=mid:1\r\n$/);
    const state = await applyAnswer(sdpAnswer);
    assert.deepEqual(state.currentDirections, ['recvonly']);
    const sctp = await page.evaluate(() => (window as unknown as { pc: RTCPeerConnection }).pc.sctp);
    assert.equal(sctp, null, 'no SCTP transport after the application line is rejected');
    const ev = await waitForPageEvent(page, 'track', 5_000);
    assert.deepEqual(ev.data, { mid: '0', kind: 'audio', streams: ['peer-a-stream-0'] });
  });
});
