// Agents and browsers, with the unmodified js-server-sdk 0.25.0 agent and ts-client 0.25.1 in Chromium,
// media in the main thread and in a media worker: an agent hears a page's microphone (Chromium's fake
// capture playing a generated 440 Hz WAV; the agent's PCM has its energy at 440 Hz, not at 1900 Hz),
// and a page receives an agent's track (audio packets arriving, a non-silent audioLevel, voice activity).
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { FishjamClient, type FishjamAgent } from '@fishjam-cloud/js-server-sdk';
import { closeClientPage, closeStaticServer, formatPageLogs, launchBrowser, openClientPage, waitForPageEvent, type Browser, type Page } from '../helpers/browser.js';
import { joinC25 } from '../helpers/media-page.js';
import { startShoal, type TestShoal } from '../helpers/server.js';
import { goertzel, rms, samples, sinePcm16, writeSineWav } from '../media/agent/audio-signal.js';

const WAIT_MS = 20_000;
const TONE_HZ = 440;
const FAR_HZ = 1900;

interface InboundAudio {
  packetsReceived: number;
  audioLevel: number;
}

async function inboundAudio(page: Page): Promise<InboundAudio[]> {
  return page.evaluate(async () => {
    const report: RTCStatsReport = await (window as any).client.getStatistics();
    const out: { packetsReceived: number; audioLevel: number }[] = [];
    report.forEach((s: any) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.push({ packetsReceived: s.packetsReceived ?? 0, audioLevel: s.audioLevel ?? 0 });
    });
    return out;
  });
}

const dir = mkdtempSync(join(tmpdir(), 'shoal-agents-'));
const wav = join(dir, 'tone-440.wav');

describe('agents and browsers (ts-client 0.25.1)', () => {
  let browser: Browser;
  const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
  const pages = new Set<Page>();
  const agents: FishjamAgent[] = [];

  before(async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    writeSineWav(wav, TONE_HZ, 48000, 10);
    browser = await launchBrowser({ extraArgs: [`--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required'] });
  });
  afterEach(async () => {
    for (const a of agents) a.disconnect();
    agents.length = 0;
    for (const p of pages) await closeClientPage(p);
    pages.clear();
  });
  after(async () => {
    await browser?.close();
    await closeStaticServer();
    (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
    rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of ['0', '1']) {
    describe(`FJ_MEDIA_WORKERS=${workers}`, () => {
      let s: TestShoal;
      let fishjam: FishjamClient;
      before(async () => {
        s = await startShoal({ FJ_MEDIA_WORKERS: workers });
        fishjam = new FishjamClient({ fishjamId: s.httpUrl, managementToken: s.apiToken });
      });
      after(async () => {
        await s?.stop();
      });

      async function joinedPage(roomId: string): Promise<Page> {
        const page = await openClientPage(browser, 'c25');
        pages.add(page);
        const { peerToken } = await fishjam.createPeer(roomId as never);
        await joinC25(page, s.wsUrl, peerToken, 'browser', WAIT_MS);
        return page;
      }

      test('an agent hears a Chromium peer’s microphone: its PCM carries the 440 Hz tone', async () => {
        const room = await fishjam.createRoom();
        const { agent } = await fishjam.createAgent(room.id, { output: { audioFormat: 'pcm16', audioSampleRate: 16000 } });
        agents.push(agent);
        const heard: Uint8Array[] = [];
        let enough: () => void = () => {};
        const gotEnough = new Promise<void>((resolve) => (enough = resolve));
        agent.on('trackData', (msg) => {
          heard.push(msg.data);
          if (heard.length === 150) enough();
        });
        const page = await joinedPage(room.id);
        await page.evaluate(() => {
          // Raw microphone: no noise suppression (it would treat a steady tone as noise) nor gain control.
          navigator.mediaDevices
            .getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } })
            .then((stream) => (window as any).client.addTrack(stream.getAudioTracks()[0], { kind: 'audio' }))
            .then(() => window.pushEvent('published'))
            .catch((e) => window.pushEvent('publishFailed', { e: String(e) }));
        });
        await waitForPageEvent(page, 'published', WAIT_MS);
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            gotEnough,
            new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`only ${heard.length} of 150 chunks heard`)), WAIT_MS))),
          ]);
        } catch (err) {
          (err as Error).message += `\n${formatPageLogs(page)}`;
          throw err;
        } finally {
          clearTimeout(timer);
        }
        // The last 2 s (the start may hold silence while the capture starts).
        const pcm = samples(Buffer.concat(heard.slice(-100)));
        const at = goertzel(pcm, TONE_HZ, 16000);
        const far = goertzel(pcm, FAR_HZ, 16000);
        assert.ok(at > 50 * far, `${TONE_HZ} Hz power ${at.toExponential(2)} vs ${FAR_HZ} Hz ${far.toExponential(2)}`);
        assert.ok(rms(pcm) > 0.05, `rms ${rms(pcm).toFixed(3)}`);
        await fishjam.deleteRoom(room.id);
      });

      test('a Chromium peer receives an agent’s track: audio packets arrive and its audioLevel is not silent', async () => {
        const room = await fishjam.createRoom();
        const page = await joinedPage(room.id);
        await page.evaluate(() => {
          (window as any).client.on('trackReady', (ctx: any) => {
            if (ctx.track?.kind !== 'audio') return;
            const el = new Audio();
            el.srcObject = ctx.stream;
            void el.play().catch((e: unknown) => window.pushEvent('playFailed', { e: String(e) }));
            document.body.appendChild(el);
            ctx.on('voiceActivityChanged', (c: any) => window.pushEvent('agentVoice', { status: c.vadStatus }));
            window.pushEvent('agentAudioReady', { trackId: ctx.trackId });
          });
        });
        const { agent } = await fishjam.createAgent(room.id);
        agents.push(agent);
        const track = agent.createTrack({ encoding: 'pcm16', sampleRate: 24000, channels: 1 }, { name: 'voice' });
        for (let t = 0; t < 15_000; t += 100) agent.sendData(track.id, sinePcm16(TONE_HZ, 24000, 100, 12000, (t * 24000) / 1000));
        const ready = await waitForPageEvent(page, 'agentAudioReady', WAIT_MS);
        assert.equal((ready.data as { trackId: string }).trackId, track.id);
        const deadline = Date.now() + WAIT_MS;
        let last: InboundAudio[] = [];
        while (!last.some((a) => a.packetsReceived > 100 && a.audioLevel > 0.05)) {
          assert.ok(Date.now() < deadline, `agent audio at the page: ${JSON.stringify(last)}\n${formatPageLogs(page)}`);
          await new Promise((r) => setTimeout(r, 200));
          last = await inboundAudio(page);
        }
        // The agent's track reports voice activity like a microphone's.
        await waitForPageEvent(page, (e) => e.name === 'agentVoice' && (e.data as { status: string }).status === 'speech', WAIT_MS);
        await fishjam.deleteRoom(room.id);
      });
    });
  }
});
