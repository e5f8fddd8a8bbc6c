// Data-channel cost in the server: one publisher and S subscribers (the unmodified @fishjam-cloud/ts-client
// 0.25.1 in headless Chromium) in one room of a Shoal child process; the publisher sends M reliable messages
// of B bytes in batches, every subscriber must hear all of them; the server's CPU (utime+stime from /proc)
// over the run is divided by the messages received and by the deliveries (M × S). Chromium's own CPU is not
// counted. Run: node --import tsx bench/data-channels.bench.ts [--subscribers 3] [--messages 3000] [--bytes 200]
import { closeClientPage, closeStaticServer, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../test/helpers/browser.js';
import { joinC25 } from '../test/helpers/media-page.js';
import { parseFlags } from './lib/args.js';
import { cpuBetween, cpuSample } from './lib/proc.js';
import { ShoalProcess } from './lib/shoal-process.js';

const USAGE = 'node --import tsx bench/data-channels.bench.ts [--subscribers 3] [--messages 3000] [--bytes 200] [--workers N]';
const flags = parseFlags(process.argv.slice(2), { subscribers: 'number', messages: 'number', bytes: 'number', workers: 'number' }, USAGE);
const subscribers = (flags.subscribers as number | undefined) ?? 3;
const messages = (flags.messages as number | undefined) ?? 3000;
const bytes = (flags.bytes as number | undefined) ?? 200;
const workers = (flags.workers as number | undefined) ?? 0;
const WAIT_MS = 60_000;

async function api(s: ShoalProcess, path: string, body: unknown): Promise<any> {
  const r = await fetch(`${s.httpUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${s.apiToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

async function joinWithData(browser: Browser, s: ShoalProcess, roomId: string, name: string): Promise<Page> {
  const { data } = await api(s, `/room/${roomId}/peer`, { type: 'webrtc', options: {} });
  const page = await openClientPage(browser, 'c25');
  await joinC25(page, s.wsUrl, data.token, name, WAIT_MS);
  await page.evaluate(() => {
    const client = (window as any).client;
    (window as any).heard = 0;
    client.createDataChannels().then(() => {
      client.subscribeData(() => (window as any).heard++, { reliable: true });
      window.pushEvent('dataReady');
    });
  });
  await waitForPageEvent(page, 'dataReady', WAIT_MS);
  return page;
}

async function main(): Promise<void> {
  const s = new ShoalProcess();
  await s.start({ workers, profileDir: process.env.BENCH_PROFILE_DIR });
  const browser = await launchBrowser();
  const pages: Page[] = [];
  try {
    const roomId = (await api(s, '/room', {})).data.room.id;
    const publisher = await joinWithData(browser, s, roomId, 'publisher');
    pages.push(publisher);
    for (let i = 0; i < subscribers; i++) pages.push(await joinWithData(browser, s, roomId, `sub-${i}`));
    const before = cpuSample(s.pid);
    // Batches of 100 with a yield between them, as an application would send (the client has no flow control).
    await publisher.evaluate(
      async ({ messages, bytes }) => {
        const client = (window as any).client;
        for (let i = 0; i < messages; i++) {
          client.publishData(new Uint8Array(bytes).fill(i & 0xff), { reliable: true });
          if (i % 100 === 99) await new Promise((r) => setTimeout(r, 0));
        }
      },
      { messages, bytes },
    );
    for (const p of pages.slice(1)) await p.waitForFunction((n) => (window as any).heard >= n, messages, { timeout: WAIT_MS, polling: 20 });
    const after = cpuSample(s.pid);
    const cpu = cpuBetween(before, after);
    const deliveries = messages * subscribers;
    const result = {
      subscribers,
      messages,
      bytes,
      workers,
      wallSeconds: cpu.wall,
      serverCpuSeconds: cpu.serverCpuSeconds,
      serverUsPerMessage: (cpu.serverCpuSeconds * 1e6) / messages,
      serverUsPerDelivery: (cpu.serverCpuSeconds * 1e6) / deliveries,
      deliveriesPerSecond: deliveries / cpu.wall,
      otherCpuPercent: cpu.otherCpuPercent,
    };
    console.log(`data channels: 1 → ${subscribers} subscribers, ${messages} reliable messages of ${bytes} B${workers ? `, ${workers} media worker(s)` : ''}`);
    console.log(`| wall s | server CPU s | µs CPU / message in | µs CPU / delivery | deliveries/s | other CPU % |`);
    console.log(`|---|---|---|---|---|---|`);
    console.log(
      `| ${result.wallSeconds.toFixed(2)} | ${result.serverCpuSeconds.toFixed(2)} | ${result.serverUsPerMessage.toFixed(0)} | ${result.serverUsPerDelivery.toFixed(0)} | ${result.deliveriesPerSecond.toFixed(0)} | ${result.otherCpuPercent.toFixed(0)} |`,
    );
    console.log(`RESULT ${JSON.stringify(result)}`);
  } finally {
    for (const p of pages) await closeClientPage(p);
    await browser.close();
    await closeStaticServer();
    await s.stop();
  }
}

await main();
