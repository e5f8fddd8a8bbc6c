// getStats() readings for the shaped-link tests, from the page's `window.client` (ts-client 0.5.0 or
// 0.25.1): the selected ICE candidate pair (to prove media crossed the shaped veth to Shoal's address) and
// a video/audio receive sample (frame width, frames decoded, freezes, bytes) to cut into time windows.
// Functions passed to page.evaluate must not bind named functions (tsx would inject `__name`).
import type { Page } from './browser.js';

export interface SelectedPair {
  state: string;
  localType: string;
  localAddress: string;
  remoteType: string;
  remoteAddress: string;
  remotePort: number;
  bytesReceived: number;
  bytesSent: number;
  /** seconds (ICE consent checks), undefined before the first answer */
  currentRoundTripTime?: number;
}

/** The transport's selected candidate pair, or undefined while there is none. */
export async function selectedPair(page: Page): Promise<SelectedPair | undefined> {
  return page.evaluate(async () => {
    const report: RTCStatsReport = await (window as any).client.getStatistics();
    const byId = new Map<string, any>();
    report.forEach((s: any) => byId.set(s.id, s));
    let pairId: string | undefined;
    report.forEach((s: any) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    if (!pairId) report.forEach((s: any) => {
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pairId ??= s.id;
    });
    const pair = pairId ? byId.get(pairId) : undefined;
    if (!pair) return undefined;
    const local = byId.get(pair.localCandidateId) ?? {};
    const remote = byId.get(pair.remoteCandidateId) ?? {};
    return {
      state: pair.state,
      localType: local.candidateType ?? '',
      localAddress: local.address ?? local.ip ?? '',
      remoteType: remote.candidateType ?? '',
      remoteAddress: remote.address ?? remote.ip ?? '',
      remotePort: remote.port ?? 0,
      bytesReceived: pair.bytesReceived ?? 0,
      bytesSent: pair.bytesSent ?? 0,
      currentRoundTripTime: pair.currentRoundTripTime,
    };
  });
}

export interface ReceiveSample {
  /** Date.now() in the test process */
  t: number;
  /** The widest inbound video stream's frame width (0: nothing decoded yet) */
  frameWidth: number;
  framesDecoded: number;
  totalFreezesDuration: number;
  freezeCount: number;
  videoBytes: number;
  videoPackets: number;
  videoPacketsLost: number;
  nackCount: number;
  retransmittedPacketsReceived: number;
  audioPackets: number;
  concealedSamples: number;
}

/** Sums the page's inbound-rtp counters (video and audio) into one sample. */
export async function receiveSample(page: Page): Promise<ReceiveSample> {
  const s = await page.evaluate(async () => {
    const report: RTCStatsReport = await (window as any).client.getStatistics();
    const out = {
      frameWidth: 0, framesDecoded: 0, totalFreezesDuration: 0, freezeCount: 0, videoBytes: 0, videoPackets: 0,
      videoPacketsLost: 0, nackCount: 0, retransmittedPacketsReceived: 0, audioPackets: 0, concealedSamples: 0,
    };
    report.forEach((r: any) => {
      if (r.type !== 'inbound-rtp') return;
      if (r.kind === 'video') {
        out.frameWidth = Math.max(out.frameWidth, r.frameWidth ?? 0);
        out.framesDecoded += r.framesDecoded ?? 0;
        out.totalFreezesDuration += r.totalFreezesDuration ?? 0;
        out.freezeCount += r.freezeCount ?? 0;
        out.videoBytes += r.bytesReceived ?? 0;
        out.videoPackets += r.packetsReceived ?? 0;
        out.videoPacketsLost += r.packetsLost ?? 0;
        out.nackCount += r.nackCount ?? 0;
        out.retransmittedPacketsReceived += r.retransmittedPacketsReceived ?? 0;
      } else if (r.kind === 'audio') {
        out.audioPackets += r.packetsReceived ?? 0;
        out.concealedSamples += r.concealedSamples ?? 0;
      }
    });
    return out;
  });
  return { t: Date.now(), ...s };
}

/** Waits (bounded, polled every 200 ms) until `check` holds for a receive sample; returns that sample. */
export async function waitForSample(page: Page, check: (s: ReceiveSample) => boolean, what: string, timeoutMs = 20_000): Promise<ReceiveSample> {
  const deadline = Date.now() + timeoutMs;
  let last: ReceiveSample | undefined;
  while (Date.now() < deadline) {
    last = await receiveSample(page);
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last sample: ${JSON.stringify(last)}`);
}

/** Each simulcast layer the publisher sends (`client.getStatistics()` outbound-rtp): its rid, frame width and kbit/s over 2 s. */
export async function publisherLayers(page: Page): Promise<{ rid: string; width: number; kbit: number }[]> {
  const read = () =>
    page.evaluate(async () => {
      const report: RTCStatsReport = await (window as any).client.getStatistics();
      const out: { rid: string; width: number; bytes: number }[] = [];
      report.forEach((s: any) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') out.push({ rid: s.rid ?? '', width: s.frameWidth ?? 0, bytes: s.bytesSent ?? 0 });
      });
      return out;
    });
  const a = await read();
  await new Promise((r) => setTimeout(r, 2000));
  const b = await read();
  return b.map((l) => ({ rid: l.rid, width: l.width, kbit: Math.round(((l.bytes - (a.find((x) => x.rid === l.rid)?.bytes ?? 0)) * 8) / 2000) }));
}
