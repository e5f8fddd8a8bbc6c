// A small Janus VideoRoom client for Chromium pages (the shaped-link neighbour bench): the WebRTC half runs
// in the page (script PAGE_JS, added to a net-browser page), the Janus JSON API half runs in the bench process
// over Janus's HTTP long-poll transport (janus-client.ts JanusSession/JanusHandle), so no CORS is involved
// and signaling never crosses the shaped link.
//   publisher:  join (ptype publisher) → page offers sendonly audio + simulcast video (addTransceiver with
//               rid l/m/h, scaleResolutionDownBy 4/2/1, maxBitrate 150k/500k/2.5M, as ts-client 0.5.0
//               publishes, listed h, m, l as Janus expects) → {request:"publish"} + offer → page applies Janus's answer.
//   subscriber: join (ptype subscriber, streams [{feed}]) → Janus's offer → page answers → {request:"start"}
//               → {request:"configure", streams:[{mid, substream, temporal}]}.
// The page sets `window.client.getStatistics()` to its RTCPeerConnection's getStats(), so test/helpers/
// net-stats.ts receiveSample() reads it as it reads a ts-client page.
// It must not start servers or touch the network shaping; page waits are bounded.
import type { Page } from '../../test/helpers/browser.js';
import type { JanusHandle, JanusSession } from './janus-client.js';

/** Plain JS for the page (a string, so no bundler helpers leak into page.evaluate). */
export const PAGE_JS = `
(function () {
  var gathered = function (pc) {
    return new Promise(function (resolve) {
      if (pc.iceGatheringState === 'complete') return resolve();
      var t = setTimeout(resolve, 5000);
      pc.addEventListener('icegatheringstatechange', function () {
        if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
      });
    });
  };
  var use = function (pc) {
    window.jp.pc = pc;
    window.client = { getStatistics: function () { return pc.getStats(); } };
  };
  window.jp = {
    pc: null,
    publish: async function (o) {
      var stream = await navigator.mediaDevices.getUserMedia({
        video: { width: o.width, height: o.height, frameRate: 24 }, audio: true,
      });
      var pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      use(pc);
      var video = stream.getVideoTracks()[0];
      video.contentHint = 'detail';
      pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
      pc.addTransceiver(video, {
        direction: 'sendonly', streams: [stream],
        sendEncodings: [
          // Janus 1.1.2 takes the first rid of a=simulcast as the highest substream (janus.js order h, m, l).
          { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: 2500000 },
          { rid: 'm', scaleResolutionDownBy: 2, maxBitrate: 500000 },
          { rid: 'l', scaleResolutionDownBy: 4, maxBitrate: 150000 },
        ],
      });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      return pc.localDescription.sdp;
    },
    answer: async function (sdp) {
      await window.jp.pc.setRemoteDescription({ type: 'answer', sdp: sdp });
    },
    subscribe: async function (sdp) {
      var pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      use(pc);
      pc.ontrack = function (e) {
        var el = document.createElement(e.track.kind === 'video' ? 'video' : 'audio');
        el.autoplay = true; el.muted = true; el.playsInline = true;
        el.srcObject = new MediaStream([e.track]);
        document.body.appendChild(el);
        el.play().catch(function () {});
      };
      await pc.setRemoteDescription({ type: 'offer', sdp: sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      return pc.localDescription.sdp;
    },
    state: function () { return window.jp.pc ? window.jp.pc.connectionState : 'none'; },
  };
})();
`;

export async function installJanusPage(page: Page): Promise<void> {
  await page.addScriptTag({ content: PAGE_JS });
}

async function waitConnected(page: Page, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let state = '';
  while (Date.now() < deadline) {
    state = await page.evaluate(() => (window as any).jp.state() as string);
    if (state === 'connected') return;
    if (state === 'failed') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: PeerConnection ${state || 'not connected'} after ${timeoutMs} ms`);
}

/** Publishes the page's camera (simulcast) and microphone into `room`; returns the publisher id. */
export async function publishJanus(session: JanusSession, page: Page, room: number, size: { width: number; height: number }): Promise<{ id: number; handle: JanusHandle }> {
  const handle = await session.attach();
  const joined = await handle.message({ request: 'join', ptype: 'publisher', room, display: 'pub' });
  if (joined.data?.videoroom !== 'joined') throw new Error(`publisher join → ${JSON.stringify(joined.data)}`);
  const offer = await page.evaluate((o) => (window as any).jp.publish(o) as Promise<string>, size);
  const r = await handle.message({ request: 'publish' }, { type: 'offer', sdp: offer });
  if (!r.jsep) throw new Error(`publish → no answer: ${JSON.stringify(r.data)}`);
  await page.evaluate((sdp) => (window as any).jp.answer(sdp) as Promise<void>, r.jsep.sdp);
  await waitConnected(page, 'publisher');
  return { id: joined.data.id as number, handle };
}

export interface JanusSubscription {
  handle: JanusHandle;
  videoMid: string;
  /** Asks Janus for substream (0 = l … 2 = h) and temporal layer of the video stream. */
  configure(substream: number, temporal?: number): Promise<void>;
}

/** Subscribes the page to publisher `feed` of `room` and asks for `substream`. */
export async function subscribeJanus(session: JanusSession, page: Page, room: number, feed: number, substream: number): Promise<JanusSubscription> {
  const handle = await session.attach();
  const joined = await handle.message({ request: 'join', ptype: 'subscriber', room, streams: [{ feed }] });
  if (!joined.jsep) throw new Error(`subscriber join → no offer: ${JSON.stringify(joined.data)}`);
  const streams = (joined.data?.streams ?? []) as { mid: string; type: string }[];
  const video = streams.find((s) => s.type === 'video');
  if (!video) throw new Error(`subscriber join → no video stream: ${JSON.stringify(joined.data)}`);
  const answer = await page.evaluate((sdp) => (window as any).jp.subscribe(sdp) as Promise<string>, joined.jsep.sdp);
  await handle.message({ request: 'start' }, { type: 'answer', sdp: answer });
  await waitConnected(page, 'subscriber');
  const sub: JanusSubscription = {
    handle,
    videoMid: video.mid,
    async configure(s, temporal = 2) {
      await handle.message({ request: 'configure', streams: [{ mid: video.mid, substream: s, temporal }] });
    },
  };
  await sub.configure(substream);
  return sub;
}
