// Issue 12, shaped-link case 3: the publisher's uplink loses 5 % of its packets at random and, through the
// delay relay, every packet it sends waits 50 ms more. The loss is an nftables bridge rule in the router
// namespace (frames from the publisher's veth), not net-link.ts's setLoss 'up' (an output rule in the
// client's namespace): a packet refused there fails Chromium's send() with EPERM and Chromium sends it
// again, so only ~0.25 % (5 % of 5 %) is really lost (measured: 308 drops, ~11 gaps at Shoal in 15 s). Shoal must repair the
// losses itself (NACK to the publisher, its RTX unwrapped into the stream): a ts-client 0.5.0 subscriber on
// a clean link keeps decoding at ≥ 80 % of the frame rate it had on the clean link, freezes stay bounded,
// and Shoal's NACK-sent and RTX-received counters rise. Media in the main thread and in a worker.
// Skipped without network namespaces (not root).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnavailable, sh, type NetClient, type NetTopology } from '../helpers/netns.js';
import { startNetScene } from '../helpers/net-scene.js';
import { receiveSample, type ReceiveSample } from '../helpers/net-stats.js';
import { noisyClip } from '../helpers/net-y4m.js';
import { publishToSubscriber } from '../helpers/net-pubsub.js';
import type { Page } from '../helpers/browser.js';

const unavailable = await netnsUnavailable();
const PHASE_MS = 15_000;
/** Freezes allowed in the lossy phase beyond those of the clean phase (Chromium counts a freeze from ~150 ms of
 *  no frame; a lost keyframe packet that needs one RTX round trip of ≈100 ms plus the relay's 50 ms can cost one).
 *  Relative to the clean phase because a loaded CI machine freezes a clean link too (measured: 2.03 s in 15 s). */
const MAX_LOSSY_FREEZE_S = 1.5;

const UPLOSS_TABLE = 'shoal_uploss';

/** Drops `percent` % of the frames the client's host sends, in the router's bridge (0: removes the rule). */
async function wireLoss(topo: NetTopology, c: NetClient, percent: number): Promise<void> {
  const rules = [`table bridge ${UPLOSS_TABLE} {`, '  chain up { type filter hook forward priority 0; policy accept; }', '}', `flush chain bridge ${UPLOSS_TABLE} up`];
  if (percent > 0) rules.push(`add rule bridge ${UPLOSS_TABLE} up iifname "${c.routerDev}" numgen random mod 100 < ${percent} counter drop`);
  await sh('ip', ['netns', 'exec', topo.routerNs, 'nft', '-f', '-'], { input: `${rules.join('\n')}\n` });
}

/** Frames the wire-loss rule dropped so far. */
async function wireDrops(topo: NetTopology): Promise<number> {
  const out = await sh('ip', ['netns', 'exec', topo.routerNs, 'nft', 'list', 'table', 'bridge', UPLOSS_TABLE]);
  return Number(/counter packets (\d+)/.exec(String(out))?.[1] ?? 0);
}

async function counter(metricsUrl: string, name: string, label = ''): Promise<number> {
  const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
  const line = text.split('\n').find((l) => (label ? l.startsWith(`${name}{`) && l.includes(label) : l.startsWith(`${name} `)));
  return line ? Number(line.split(/\s+/).at(-1)) : 0;
}

/** The subscriber over one phase: frames per second, freeze seconds, packets lost / retransmitted. */
async function phase(page: Page, ms: number): Promise<{ fps: number; freezeS: number; a: ReceiveSample; b: ReceiveSample }> {
  const a = await receiveSample(page);
  await new Promise((r) => setTimeout(r, ms));
  const b = await receiveSample(page);
  return { fps: ((b.framesDecoded - a.framesDecoded) * 1000) / (b.t - a.t), freezeS: b.totalFreezesDuration - a.totalFreezesDuration, a, b };
}

/** The publisher's video outbound-rtp: packets sent, NACKs it received, packets it retransmitted. */
async function sent(page: Page): Promise<{ packets: number; nacks: number; rtx: number }> {
  return page.evaluate(async () => {
    const report: RTCStatsReport = await (window as any).client.getStatistics();
    const out = { packets: 0, nacks: 0, rtx: 0 };
    report.forEach((s: any) => {
      if (s.type !== 'outbound-rtp' || s.kind !== 'video') return;
      out.packets += s.packetsSent ?? 0;
      out.nacks += s.nackCount ?? 0;
      out.rtx += s.retransmittedPacketsSent ?? 0;
    });
    return out;
  });
}

for (const workers of ['0', '1']) {
  describe(`publisher uplink with 5 % loss and 50 ms delay (FJ_MEDIA_WORKERS=${workers})`, { skip: unavailable ?? false, timeout: 180_000 }, () => {
    test('Shoal NACKs the publisher and forwards its repairs: the subscriber keeps ≥ 80 % of its clean frame rate', async () => {
      const scene = await startNetScene({
        clients: ['pub', 'sub'], delayRelay: true, env: { FJ_MEDIA_WORKERS: workers },
        browserArgs: { pub: [`--use-file-for-fake-video-capture=${noisyClip()}`] },
      });
      const m = scene.shoal.metricsUrl;
      try {
        const { pub, sub } = await publishToSubscriber(scene);
        await scene.shoal.relay!.setDelay(scene.client('pub'), 'up', 50);
        await new Promise((r) => setTimeout(r, 2000)); // the estimate settles at the new delay
        const clean = await phase(sub, PHASE_MS);

        const nacks0 = await counter(m, 'shoal_rtcp_feedback_sent_total', 'type="nack"');
        const rtx0 = await counter(m, 'shoal_rtx_received_total');
        const pub0 = await sent(pub);
        await wireLoss(scene.topo, scene.client('pub'), 5);
        const lossy = await phase(sub, PHASE_MS);
        const pub1 = await sent(pub);
        const drops = await wireDrops(scene.topo);
        const nacks = (await counter(m, 'shoal_rtcp_feedback_sent_total', 'type="nack"')) - nacks0;
        const rtx = (await counter(m, 'shoal_rtx_received_total')) - rtx0;
        await wireLoss(scene.topo, scene.client('pub'), 0);

        const report = `clean ${clean.fps.toFixed(1)} fps, ${clean.freezeS.toFixed(2)} s frozen; lossy ${lossy.fps.toFixed(1)} fps, ` +
          `${lossy.freezeS.toFixed(2)} s frozen, subscriber lost ${lossy.b.videoPacketsLost - lossy.a.videoPacketsLost} pkts; Shoal sent ${nacks} NACKs, got ${rtx} RTX; ` +
          `the publisher sent ${pub1.packets - pub0.packets} video pkts (the wire dropped ${drops} frames), got ${pub1.nacks - pub0.nacks} NACKs, retransmitted ${pub1.rtx - pub0.rtx}`;
        console.log(`[upstream-loss workers=${workers}] ${report}`);
        assert.ok(clean.fps >= 15, `clean frame rate too low to compare: ${report}`);
        assert.ok(nacks > 0, `Shoal sent no NACK: ${report}`);
        assert.ok(rtx > 0, `no RTX repair reached Shoal: ${report}`);
        assert.ok(pub1.nacks - pub0.nacks > 0, `the publisher saw no NACK: ${report}`);
        assert.ok(lossy.fps >= 0.8 * clean.fps, `frame rate fell below 80 % of clean: ${report}`);
        assert.ok(lossy.freezeS <= clean.freezeS + MAX_LOSSY_FREEZE_S, `freezes over the clean phase's + ${MAX_LOSSY_FREEZE_S} s: ${report}`);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${scene.logs()}`);
      } finally {
        await scene.close();
      }
    });
  });
}
