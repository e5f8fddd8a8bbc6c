// Shaped-link baseline (issue 12): a ts-client 0.5.0 subscriber of a simulcast ts-client 0.5.0 publisher,
// each Chromium on its own namespace "host" and Shoal in a third (test/helpers/netns.ts), with the
// subscriber's downlink cut to --rate kbit/s for --seconds, between a clean lead-in and a restore period.
// Every 2 s it prints what the subscriber got (frame width, frames decoded, freeze time, video kbit/s, NACKs
// sent, retransmissions received) next to what was put on its link (Shoal's eth0 tx, the downlink qdisc's
// sent bytes and drops) and Shoal's forward / retransmit counters; then `RESULT <json>` with every window.
//   node --import tsx bench/shaped-link.ts [--rate 300] [--seconds 20] [--lead 10] [--restore 10]
//                                          [--workers 0] [--sub c5|c25] (the subscriber's ts-client)
//                                          [--fake-camera] (default: a noisy 1280×720 clip)
// Needs root (network namespaces). It must not leave namespaces or processes behind (the harness sweeps).
import { parseArgs } from 'node:util';
import { netnsUnavailable } from '../test/helpers/netns.js';
import { devCounters, linkCounters, setRate, tbfParams } from '../test/helpers/net-link.js';
import { netMetric } from '../test/helpers/net-shoal.js';
import { startNetScene } from '../test/helpers/net-scene.js';
import { publisherLayers, receiveSample, waitForSample, type ReceiveSample } from '../test/helpers/net-stats.js';
import { noisyClip } from '../test/helpers/net-y4m.js';
import { joinC25, joinC5, publishC5 } from '../test/helpers/media-page.js';
import type { Page } from '../test/helpers/browser.js';

const { values: flags } = parseArgs({
  options: {
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '20' },
    lead: { type: 'string', default: '10' },
    restore: { type: 'string', default: '10' },
    workers: { type: 'string', default: '0' },
    sub: { type: 'string', default: 'c5' },
    'fake-camera': { type: 'boolean', default: false },
  },
});
const rate = Number(flags.rate);
const cutS = Number(flags.seconds);
const leadS = Number(flags.lead);
const restoreS = Number(flags.restore);
const WINDOW_MS = 2000;
const subKind = flags.sub === 'c25' ? 'c25' : 'c5';

interface Window {
  phase: 'clean' | 'cut' | 'restored';
  /** seconds since the cut (negative: before it) at the window's end */
  t: number;
  width: number;
  framesDecoded: number;
  freezeS: number;
  videoKbit: number;
  nacks: number;
  rtxReceived: number;
  shoalTxKbit: number;
  qdiscSentKbit: number;
  qdiscDrops: number;
  forwarded: number;
  retransmitted: number;
}

interface Snapshot {
  rx: ReceiveSample;
  shoalTx: number;
  qdiscSent: number;
  qdiscDrops: number;
  forwarded: number;
  retransmitted: number;
}

async function main(): Promise<void> {
  const why = await netnsUnavailable();
  if (why) {
    console.error(`shaped-link bench skipped: ${why}`);
    process.exit(0);
  }
  const camera = flags['fake-camera'] ? [] : [`--use-file-for-fake-video-capture=${noisyClip()}`];
  const scene = await startNetScene({ clients: ['pub', 'sub'], env: { FJ_MEDIA_WORKERS: flags.workers! }, browserArgs: { pub: camera } });
  const { topo, shoal: s } = scene;
  const sub = topo.client('sub');
  try {
    const roomId = await scene.room();
    const [pubPage, subPage] = await Promise.all([scene.page('pub', 'c5'), scene.page('sub', subKind)]);
    await joinC5(pubPage, { host: s.host, token: await scene.token(roomId), name: 'pub' });
    if (subKind === 'c5') await joinC5(subPage, { host: s.host, token: await scene.token(roomId), name: 'sub' });
    else await joinC25(subPage, s.wsUrl, await scene.token(roomId), 'sub');
    await publishC5(pubPage, { video: true, audio: true, simulcast: true, width: 1280, height: 720, contentHint: 'detail' });
    await waitForSample(subPage, (x) => x.framesDecoded > 48, 'the subscriber decoding', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${scene.logs()}`);
    });
    const layers = await publisherLayers(pubPage);
    console.error(`publisher layers: ${JSON.stringify(layers)}`);

    const snapshot = async (): Promise<Snapshot> => {
      const [rx, srv, link, forwarded, retransmitted] = await Promise.all([
        receiveSample(subPage),
        devCounters(topo.server.ns, topo.server.dev),
        linkCounters(topo, sub),
        netMetric(s, 'shoal_rtp_forwarded_total'),
        netMetric(s, 'shoal_rtp_retransmitted_total'),
      ]);
      return { rx, shoalTx: srv.txBytes, qdiscSent: link.downQdiscSentBytes, qdiscDrops: link.downQdiscDrops, forwarded, retransmitted };
    };
    const windows: Window[] = [];
    let cutAt = 0;
    const runPhase = async (phase: Window['phase'], seconds: number) => {
      let prev = await snapshot();
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, Math.max(0, prev.rx.t + WINDOW_MS - Date.now())));
        const cur = await snapshot();
        const ms = cur.rx.t - prev.rx.t;
        // qdisc byte counters restart when the qdisc is replaced; a negative step means "new qdisc".
        const qSent = cur.qdiscSent >= prev.qdiscSent ? cur.qdiscSent - prev.qdiscSent : cur.qdiscSent;
        const qDrops = cur.qdiscDrops >= prev.qdiscDrops ? cur.qdiscDrops - prev.qdiscDrops : cur.qdiscDrops;
        windows.push({
          phase,
          t: Math.round((cur.rx.t - cutAt) / 100) / 10,
          width: cur.rx.frameWidth,
          framesDecoded: cur.rx.framesDecoded - prev.rx.framesDecoded,
          freezeS: Math.round((cur.rx.totalFreezesDuration - prev.rx.totalFreezesDuration) * 100) / 100,
          videoKbit: Math.round(((cur.rx.videoBytes - prev.rx.videoBytes) * 8) / ms),
          nacks: cur.rx.nackCount - prev.rx.nackCount,
          rtxReceived: cur.rx.retransmittedPacketsReceived - prev.rx.retransmittedPacketsReceived,
          shoalTxKbit: Math.round(((cur.shoalTx - prev.shoalTx) * 8) / ms),
          qdiscSentKbit: Math.round((qSent * 8) / ms),
          qdiscDrops: qDrops,
          forwarded: cur.forwarded - prev.forwarded,
          retransmitted: cur.retransmitted - prev.retransmitted,
        });
        const w = windows.at(-1)!;
        console.error(`${w.phase.padEnd(8)} t=${String(w.t).padStart(5)}s width ${w.width} frames +${w.framesDecoded} freeze +${w.freezeS}s video ${w.videoKbit} kbit/s shoal tx ${w.shoalTxKbit} kbit/s drops ${w.qdiscDrops} rtx ${w.retransmitted}`);
        prev = cur;
      }
    };
    cutAt = Date.now() + leadS * 1000;
    await runPhase('clean', leadS);
    cutAt = Date.now();
    await setRate(topo, sub, 'down', rate);
    await runPhase('cut', cutS);
    await setRate(topo, sub, 'down', 10_000);
    await runPhase('restored', restoreS);

    const cut = windows.filter((w) => w.phase === 'cut');
    const summary = {
      rateKbit: rate,
      tbf: tbfParams(rate),
      workers: Number(flags.workers),
      subscriber: subKind,
      camera: flags['fake-camera'] ? 'chromium fake camera' : 'noisy 1280x720 clip',
      publisherLayers: layers,
      cut: {
        seconds: cutS,
        windowsWithoutFrames: cut.filter((w) => w.framesDecoded === 0).length,
        windows: cut.length,
        freezeS: Math.round(cut.reduce((a, w) => a + w.freezeS, 0) * 100) / 100,
        meanShoalTxKbit: Math.round(cut.reduce((a, w) => a + w.shoalTxKbit, 0) / Math.max(1, cut.length)),
        retransmitted: cut.reduce((a, w) => a + w.retransmitted, 0),
        forwarded: cut.reduce((a, w) => a + w.forwarded, 0),
        qdiscDrops: cut.reduce((a, w) => a + w.qdiscDrops, 0),
        widths: [...new Set(cut.map((w) => w.width))],
      },
    };
    console.log(`# shaped link: subscriber downlink ${rate} kbit/s for ${cutS} s (tbf burst ${summary.tbf.burstBytes} B, latency ${summary.tbf.latencyMs} ms), ${summary.camera}, subscriber ts-client ${subKind === 'c5' ? '0.5.0' : '0.25.1'}, FJ_MEDIA_WORKERS=${flags.workers}`);
    console.log('| phase | t (s) | width | frames decoded | freeze (s) | video rx kbit/s | NACKs sent | RTX rx | Shoal tx kbit/s | link sent kbit/s | link drops | fwd pkts | rtx pkts |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const w of windows)
      console.log(`| ${w.phase} | ${w.t} | ${w.width} | ${w.framesDecoded} | ${w.freezeS} | ${w.videoKbit} | ${w.nacks} | ${w.rtxReceived} | ${w.shoalTxKbit} | ${w.qdiscSentKbit} | ${w.qdiscDrops} | ${w.forwarded} | ${w.retransmitted} |`);
    console.log(`RESULT ${JSON.stringify({ summary, windows })}`);
  } finally {
    await scene.close();
  }
}

await main();
