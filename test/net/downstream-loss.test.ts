// Issue 12, shaped-link case 4: the subscriber's downlink loses 3 % of its packets at random (an nftables
// input rule on the client's eth0: a packet dropped there has crossed the link and is really lost, unlike the
// client-side output rule of case 3). Shoal must repair it from its retransmission buffer on the subscriber's
// negotiated RTX stream (RFC 4588): a ts-client 0.5.0 subscriber's inbound-rtp retransmittedPacketsReceived
// rises, Shoal's RTX counter rises, and the subscriber keeps ≥ 70 % of its clean-phase frame rate with
// freezes bounded relative to the clean phase. Media in the main thread and in a worker.
// Skipped without network namespaces (not root).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnavailable } from '../helpers/netns.js';
import { setLoss } from '../helpers/net-link.js';
import { startNetScene } from '../helpers/net-scene.js';
import { receiveSample, type ReceiveSample } from '../helpers/net-stats.js';
import { noisyClip } from '../helpers/net-y4m.js';
import { publishToSubscriber } from '../helpers/net-pubsub.js';
import type { Page } from '../helpers/browser.js';

const unavailable = await netnsUnavailable();
const PHASE_MS = 15_000;
const LOSS_PERCENT = 3;
/** Lossy frame rate ≥ this × the clean one: 0.7, not 0.8, because a loaded machine slows the worker run on its own
 *  (measured: clean 18.7 fps / 2.9 s frozen, lossy 14.8 fps with all 89 losses repaired by RTX); without
 *  repair 3 % loss freezes the video for seconds (case 3 without NACKs: 2.4 fps). */
const MIN_FPS_RATIO = 0.7;
/** Freezes allowed in the lossy phase beyond the clean phase's (a lost keyframe packet costs one NACK round trip). */
const MAX_LOSSY_FREEZE_S = 1.5;

async function counter(metricsUrl: string, name: string): Promise<number> {
  const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(/\s+/).at(-1)) : 0;
}

/** The subscriber over one phase: frames per second, freeze seconds, and the samples at both ends. */
async function phase(page: Page, ms: number): Promise<{ fps: number; freezeS: number; a: ReceiveSample; b: ReceiveSample }> {
  const a = await receiveSample(page);
  await new Promise((r) => setTimeout(r, ms));
  const b = await receiveSample(page);
  return { fps: ((b.framesDecoded - a.framesDecoded) * 1000) / (b.t - a.t), freezeS: b.totalFreezesDuration - a.totalFreezesDuration, a, b };
}

for (const workers of ['0', '1']) {
  describe(`subscriber downlink with ${LOSS_PERCENT} % loss (FJ_MEDIA_WORKERS=${workers})`, { skip: unavailable ?? false, timeout: 180_000 }, () => {
    test('Shoal repairs the subscriber\'s losses with RTX: retransmissions received, ≥ 70 % of the clean frame rate, bounded freezes', async () => {
      const scene = await startNetScene({
        clients: ['pub', 'sub'], env: { FJ_MEDIA_WORKERS: workers },
        browserArgs: { pub: [`--use-file-for-fake-video-capture=${noisyClip()}`] },
      });
      const m = scene.shoal.metricsUrl;
      try {
        const { sub } = await publishToSubscriber(scene);
        const clean = await phase(sub, PHASE_MS);

        const rtx0 = await counter(m, 'shoal_rtp_retransmitted_rtx_total');
        const resent0 = await counter(m, 'shoal_rtp_retransmitted_total');
        await setLoss(scene.client('sub'), 'down', LOSS_PERCENT);
        const lossy = await phase(sub, PHASE_MS);
        await setLoss(scene.client('sub'), 'down', 0);
        const rtx = (await counter(m, 'shoal_rtp_retransmitted_rtx_total')) - rtx0;
        const resent = (await counter(m, 'shoal_rtp_retransmitted_total')) - resent0;
        const d = (k: keyof ReceiveSample) => lossy.b[k] - lossy.a[k];

        const report = `clean ${clean.fps.toFixed(1)} fps, ${clean.freezeS.toFixed(2)} s frozen, ${clean.b.retransmittedPacketsReceived - clean.a.retransmittedPacketsReceived} RTX received; ` +
          `lossy ${lossy.fps.toFixed(1)} fps, ${lossy.freezeS.toFixed(2)} s frozen, ${d('videoPackets')} video pkts, lost ${d('videoPacketsLost')}, ` +
          `NACKs ${d('nackCount')}, RTX received ${d('retransmittedPacketsReceived')}; Shoal resent ${resent} (${rtx} as RTX)`;
        console.log(`[downstream-loss workers=${workers}] ${report}`);
        assert.ok(clean.fps >= 15, `clean frame rate too low to compare: ${report}`);
        assert.ok(d('nackCount') > 0, `the subscriber sent no NACK: ${report}`);
        assert.ok(rtx > 0, `Shoal sent no RTX: ${report}`);
        assert.ok(d('retransmittedPacketsReceived') > 0, `the subscriber received no retransmission: ${report}`);
        assert.ok(lossy.fps >= MIN_FPS_RATIO * clean.fps, `frame rate fell below ${MIN_FPS_RATIO} × clean: ${report}`);
        assert.ok(lossy.freezeS <= clean.freezeS + MAX_LOSSY_FREEZE_S, `freezes over the clean phase's + ${MAX_LOSSY_FREEZE_S} s: ${report}`);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${scene.logs()}`);
      } finally {
        await scene.close();
      }
    });
  });
}
