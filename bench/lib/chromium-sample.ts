// Join → first decoded frame with the real @fishjam-dev/ts-client 0.5.0 in headless Chromium (the test
// harness in test/helpers/browser.ts): one page publishes the fake camera into a fresh room, then S pages
// join that room one after another; each page notes performance.now() just before its client connects and
// polls its inbound-rtp statistics every 20 ms for the first packet and the first decoded video frame.
import { closeClientPage, closeStaticServer, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../../test/helpers/browser.js';
import { joinC5, publishC5 } from '../../test/helpers/media-page.js';
import type { ShoalProcess } from './shoal-process.js';

export interface ChromiumJoin {
  firstPacketMs?: number;
  firstFrameMs?: number;
  error?: string;
}

export async function chromiumFirstFrames(shoal: ShoalProcess, samples: number, timeoutMs: number, onProgress: (done: number) => void): Promise<ChromiumJoin[]> {
  let browser: Browser | undefined;
  const pages: Page[] = [];
  const host = `127.0.0.1:${shoal.httpPort}`;
  try {
    browser = await launchBrowser();
    const room = await shoal.createRoom();
    const publisher = await openClientPage(browser, 'c5');
    pages.push(publisher);
    await joinC5(publisher, { host, token: await shoal.addPeer(room), name: 'chromium-publisher' });
    await publishC5(publisher, { video: true, audio: true });
    const out: ChromiumJoin[] = [];
    for (let i = 0; i < samples; i++) {
      const page = await openClientPage(browser, 'c5');
      pages.push(page);
      const token = await shoal.addPeer(room);
      const r: ChromiumJoin = {};
      try {
        await page.evaluate(() => {
          const w = window as any;
          w.joinStartedAt = performance.now();
          const poll = setInterval(() => {
            if (!w.client) return;
            void w.client.getStatistics().then((report: RTCStatsReport) => {
              let packets = 0;
              let frames = 0;
              report.forEach((s: any) => {
                if (s.type !== 'inbound-rtp') return;
                packets += s.packetsReceived ?? 0;
                if (s.kind === 'video') frames += s.framesDecoded ?? 0;
              });
              const now = performance.now() - w.joinStartedAt;
              if (packets > 0 && w.firstPacketMs === undefined) {
                w.firstPacketMs = now;
                window.pushEvent('benchFirstPacket', { ms: now });
              }
              if (frames > 0) {
                clearInterval(poll);
                window.pushEvent('benchFirstFrame', { ms: now });
              }
            });
          }, 20);
        });
        await joinC5(page, { host, token, name: `chromium-joiner-${i}` }, timeoutMs);
        r.firstFrameMs = ((await waitForPageEvent(page, 'benchFirstFrame', timeoutMs)).data as { ms: number }).ms;
        r.firstPacketMs = ((await waitForPageEvent(page, 'benchFirstPacket', 1000)).data as { ms: number }).ms;
      } catch (err) {
        r.error = (err as Error).message.split('\n')[0];
      }
      out.push(r);
      onProgress(i + 1);
    }
    return out;
  } finally {
    for (const p of pages) await closeClientPage(p);
    await browser?.close().catch(() => undefined);
    await closeStaticServer();
  }
}
