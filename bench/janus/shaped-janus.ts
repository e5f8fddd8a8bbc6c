// Janus neighbour of bench/shaped-link.ts (issue 12, case 1): a Chromium subscriber of a simulcast Chromium
// publisher through Janus 1.1.2's VideoRoom, each Chromium on its own netns "host" and Janus in the server
// namespace (where Shoal sits in shaped-link.ts), the subscriber's downlink cut to --rate kbit/s for
// --seconds between a clean lead-in and a restore at 10 Mbit/s. Every 2 s it prints what the subscriber got
// (frame width, frames decoded, freeze time, video kbit/s, NACKs, RTX) next to Janus's eth0 tx, the
// downlink qdisc's sent bytes and drops, and the substream Janus says it sends; then `RESULT <json>`.
//   node --import tsx bench/janus/shaped-janus.ts [--rate 300] [--seconds 20] [--lead 10] [--restore 10]
//        [--adapt none|slowlink] [--slowlink 4] [--hold 10] [--substream 2] [--fake-camera]
// --adapt none: Janus as shipped: the subscriber asks for --substream (default 2 = h) and keeps it (VideoRoom ignores a
//   subscriber's REMB, and does not pick substreams by bandwidth).
// --adapt slowlink: Janus's documented hook: slowlink_threshold = --slowlink lost packets/s makes the
//   VideoRoom push `slow_link` to the subscriber's handle, and "the application" (this script) steps the
//   substream down one on each, and back up one after --hold s without one.
// Needs root (network namespaces) and Debian's janus. Not part of `npm test`.
import { parseArgs } from 'node:util';
import { createTopology, netnsUnavailable } from '../../test/helpers/netns.js';
import { devCounters, linkCounters, setRate, tbfParams } from '../../test/helpers/net-link.js';
import { publisherLayers, receiveSample, waitForSample, type ReceiveSample } from '../../test/helpers/net-stats.js';
import { launchNetBrowser, netPageLogs, openNetPage } from '../../test/helpers/net-browser.js';
import { noisyClip } from '../../test/helpers/net-y4m.js';
import type { Browser, Page } from '../../test/helpers/browser.js';
import { createRoom, JanusSession } from './janus-client.js';
import { janusVersion } from './janus-server.js';
import { startShapedJanus, type ShapedJanus } from './shaped-server.js';
import { installJanusPage, publishJanus, subscribeJanus } from './browser-videoroom.js';

const { values: flags } = parseArgs({
  options: {
    rate: { type: 'string', default: '300' },
    seconds: { type: 'string', default: '20' },
    lead: { type: 'string', default: '10' },
    restore: { type: 'string', default: '10' },
    adapt: { type: 'string', default: 'none' },
    slowlink: { type: 'string', default: '4' },
    hold: { type: 'string', default: '10' },
    substream: { type: 'string', default: '2' },
    'fake-camera': { type: 'boolean', default: false },
  },
});
const rate = Number(flags.rate);
const cutS = Number(flags.seconds);
const leadS = Number(flags.lead);
const restoreS = Number(flags.restore);
const adapt = flags.adapt === 'slowlink' ? 'slowlink' : 'none';
const holdMs = Number(flags.hold) * 1000;
const WINDOW_MS = 2000;
/** The substream the subscriber asks for (0 = l, 1 = m, 2 = h). */
const WANTED = Math.max(0, Math.min(2, Number(flags.substream) || 0));

interface Window {
  phase: 'clean' | 'cut' | 'restored';
  t: number;
  width: number;
  framesDecoded: number;
  freezeS: number;
  videoKbit: number;
  nacks: number;
  rtxReceived: number;
  janusTxKbit: number;
  qdiscSentKbit: number;
  qdiscDrops: number;
  /** substream asked for / last one Janus reported sending (-1: none reported yet) */
  asked: number;
  sending: number;
  slowLinks: number;
}

async function main(): Promise<void> {
  const why = await netnsUnavailable();
  if (why) {
    console.error(`shaped-janus bench skipped: ${why}`);
    process.exit(0);
  }
  const camera = flags['fake-camera'] ? [] : [`--use-file-for-fake-video-capture=${noisyClip()}`];
  const topo = await createTopology({ clients: ['pub', 'sub'] });
  const sub = topo.client('sub');
  let janus: ShapedJanus | undefined;
  let session: JanusSession | undefined;
  const browsers: Browser[] = [];
  const pages: Page[] = [];
  try {
    janus = await startShapedJanus({ ns: topo.server.ns, ip: topo.server.ip, slowlinkThreshold: adapt === 'slowlink' ? Number(flags.slowlink) : 0 });
    const [pubBrowser, subBrowser] = await Promise.all([
      launchNetBrowser(topo.client('pub'), { extraArgs: camera }),
      launchNetBrowser(sub),
    ]);
    browsers.push(pubBrowser, subBrowser);
    const [pubPage, subPage] = await Promise.all([openNetPage(pubBrowser, 'c5'), openNetPage(subBrowser, 'c5')]);
    pages.push(pubPage, subPage);
    await Promise.all([installJanusPage(pubPage), installJanusPage(subPage)]);

    session = await JanusSession.create(janus.url);
    const admin = await session.attach();
    const room = await createRoom(admin, 1000 + (process.pid % 100_000));
    const pub = await publishJanus(session, pubPage, room, { width: 1280, height: 720 });
    const subscription = await subscribeJanus(session, subPage, room, pub.id, WANTED);
    let asked = WANTED;
    let sending = -1;
    let slowLinks = 0;
    let lastSlow = 0;
    let switching: Promise<void> = Promise.resolve();
    const ask = (s: number) => {
      asked = s;
      switching = switching.then(() => subscription.configure(s)).catch((err: Error) => console.error(`configure ${s}: ${err.message}`));
    };
    subscription.handle.on('event', (e: any) => {
      const d = e.plugindata?.data ?? {};
      if (typeof d.substream === 'number') sending = d.substream;
      if (d.videoroom === 'slow_link') {
        slowLinks++;
        lastSlow = Date.now();
        if (adapt === 'slowlink' && asked > 0) ask(asked - 1);
      }
    });
    await waitForSample(subPage, (x) => x.framesDecoded > 48, 'the subscriber decoding', 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\npub:\n${netPageLogs(pubPage)}\nsub:\n${netPageLogs(subPage)}\njanus:\n${janus!.log().slice(-4000)}`);
    });
    const layers = await publisherLayers(pubPage);
    console.error(`publisher layers: ${JSON.stringify(layers)}`);

    const snapshot = async () => {
      const [rx, srv, link] = await Promise.all([receiveSample(subPage), devCounters(topo.server.ns, topo.server.dev), linkCounters(topo, sub)]);
      return { rx, janusTx: srv.txBytes, qdiscSent: link.downQdiscSentBytes, qdiscDrops: link.downQdiscDrops, slowLinks };
    };
    const windows: Window[] = [];
    let cutAt = 0;
    const runPhase = async (phase: Window['phase'], seconds: number) => {
      let prev = await snapshot();
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        await new Promise((r) => setTimeout(r, Math.max(0, prev.rx.t + WINDOW_MS - Date.now())));
        if (adapt === 'slowlink' && asked < WANTED && Date.now() - lastSlow > holdMs) {
          lastSlow = Date.now(); // one step per hold period
          ask(asked + 1);
        }
        const cur = await snapshot();
        const ms = cur.rx.t - prev.rx.t;
        const qSent = cur.qdiscSent >= prev.qdiscSent ? cur.qdiscSent - prev.qdiscSent : cur.qdiscSent;
        const qDrops = cur.qdiscDrops >= prev.qdiscDrops ? cur.qdiscDrops - prev.qdiscDrops : cur.qdiscDrops;
        const r: ReceiveSample = cur.rx;
        windows.push({
          phase,
          t: Math.round((r.t - cutAt) / 100) / 10,
          width: r.frameWidth,
          framesDecoded: r.framesDecoded - prev.rx.framesDecoded,
          freezeS: Math.round((r.totalFreezesDuration - prev.rx.totalFreezesDuration) * 100) / 100,
          videoKbit: Math.round(((r.videoBytes - prev.rx.videoBytes) * 8) / ms),
          nacks: r.nackCount - prev.rx.nackCount,
          rtxReceived: r.retransmittedPacketsReceived - prev.rx.retransmittedPacketsReceived,
          janusTxKbit: Math.round(((cur.janusTx - prev.janusTx) * 8) / ms),
          qdiscSentKbit: Math.round((qSent * 8) / ms),
          qdiscDrops: qDrops,
          asked,
          sending,
          slowLinks: cur.slowLinks - prev.slowLinks,
        });
        const w = windows.at(-1)!;
        console.error(`${w.phase.padEnd(8)} t=${String(w.t).padStart(5)}s width ${w.width} frames +${w.framesDecoded} freeze +${w.freezeS}s video ${w.videoKbit} kbit/s janus tx ${w.janusTxKbit} kbit/s drops ${w.qdiscDrops} substream ${w.asked}/${w.sending} slow_link ${w.slowLinks}`);
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
      server: `janus ${janusVersion()} videoroom`,
      rateKbit: rate,
      tbf: tbfParams(rate),
      adapt,
      janusSettings: { ...janus.settings, room: { videocodec: 'vp8', bitrate: 0, fir_freq: 10 }, subscriber: { substream: WANTED, temporal: 2 }, holdS: holdMs / 1000 },
      camera: flags['fake-camera'] ? 'chromium fake camera' : 'noisy 1280x720 clip',
      publisherLayers: layers,
      cut: {
        seconds: cutS,
        windowsWithoutFrames: cut.filter((w) => w.framesDecoded === 0).length,
        windows: cut.length,
        freezeS: Math.round(cut.reduce((a, w) => a + w.freezeS, 0) * 100) / 100,
        meanJanusTxKbit: Math.round(cut.reduce((a, w) => a + w.janusTxKbit, 0) / Math.max(1, cut.length)),
        qdiscDrops: cut.reduce((a, w) => a + w.qdiscDrops, 0),
        slowLinks: cut.reduce((a, w) => a + w.slowLinks, 0),
        widths: [...new Set(cut.map((w) => w.width))],
      },
    };
    console.log(`# shaped link via ${summary.server}: subscriber downlink ${rate} kbit/s for ${cutS} s (tbf burst ${summary.tbf.burstBytes} B, latency ${summary.tbf.latencyMs} ms), ${summary.camera}, Chromium pages (own VideoRoom client), substream ${WANTED}, adapt=${adapt}${adapt === 'slowlink' ? ` (slowlink_threshold ${janus.settings.slowlink_threshold}, hold ${holdMs / 1000} s)` : ''}`);
    console.log('| phase | t (s) | width | frames decoded | freeze (s) | video rx kbit/s | NACKs sent | RTX rx | Janus tx kbit/s | link sent kbit/s | link drops | substream asked/sent | slow_link |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const w of windows)
      console.log(`| ${w.phase} | ${w.t} | ${w.width} | ${w.framesDecoded} | ${w.freezeS} | ${w.videoKbit} | ${w.nacks} | ${w.rtxReceived} | ${w.janusTxKbit} | ${w.qdiscSentKbit} | ${w.qdiscDrops} | ${w.asked}/${w.sending < 0 ? '?' : w.sending} | ${w.slowLinks} |`);
    console.log(`RESULT ${JSON.stringify({ summary, windows })}`);
    await switching;
  } finally {
    await session?.destroy().catch(() => undefined);
    for (const p of pages) await p.context().close().catch(() => undefined);
    for (const b of browsers) await b.close().catch(() => undefined);
    await janus?.stop().catch(() => undefined);
    await topo.destroy();
  }
}

await main();
