// Agents' media end to end with the unmodified cloud server SDK (js-server-sdk 0.25.0 `createAgent`,
// `FishjamAgent`) against a real Shoal, with media in the main thread and in a media worker: one agent
// publishes a PCM16 tone (createTrack + sendData), others hear it as trackData in each output format
// (PCM16 at 16/24/48 kHz, Opus), paced in real time; interruptTrack drops what was queued; deleteTrack
// removes the track; manual subscribeMode; refused requests are logged and change nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpusScript from 'opusscript';
import { WebSocket } from 'ws';
import { FishjamClient, FishjamWSNotifier, type FishjamAgent, type PeerOptionsAgent, type TrackId } from '@fishjam-cloud/js-server-sdk';
import { api, type TestShoal } from '../helpers/server.js';
import { startLoggedShoal } from '../log/logged-shoal.js';
import type { CapturedLog } from '../log/capture.js';
import { goertzel, rms, samples, sinePcm16 } from '../media/agent/audio-signal.js';

const WAIT_MS = 8000;
const TONE_HZ = 440;
const FAR_HZ = 1900;

interface Heard {
  at: number;
  data: Uint8Array;
}

/** What `agent` hears from `fromPeer`, and a bounded wait for enough of it. */
function listen(agent: FishjamAgent, fromPeer: string) {
  const heard: Heard[] = [];
  const waiters = new Set<() => void>();
  agent.on('trackData', (msg) => {
    if (msg.peerId !== fromPeer) return;
    heard.push({ at: performance.now(), data: msg.data });
    for (const w of waiters) w();
  });
  return {
    heard,
    /** Resolves once `count` chunks arrived; rejects after WAIT_MS. */
    until(count: number, what: string): Promise<void> {
      if (heard.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what}: ${heard.length} of ${count} chunks heard in ${WAIT_MS} ms`));
        }, WAIT_MS);
        const check = () => {
          if (heard.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
  };
}

function pcmOf(heard: Heard[], opus: boolean): Int16Array {
  if (!opus) return samples(Buffer.concat(heard.map((h) => h.data)));
  const dec = new OpusScript(48000, 1);
  try {
    return samples(Buffer.concat(heard.map((h) => dec.decode(Buffer.from(h.data)))));
  } finally {
    dec.delete();
  }
}

/** The tone is there: strong at TONE_HZ, far weaker at FAR_HZ, and loud. */
function assertTone(pcm: Int16Array, rate: number, what: string): void {
  const body = pcm.subarray(Math.round(rate * 0.1)); // skip the codec's start-up
  const at = goertzel(body, TONE_HZ, rate);
  const far = goertzel(body, FAR_HZ, rate);
  assert.ok(at > 50 * far, `${what}: ${TONE_HZ} Hz power ${at.toExponential(2)} vs ${FAR_HZ} Hz ${far.toExponential(2)}`);
  assert.ok(rms(body) > 0.1, `${what}: rms ${rms(body).toFixed(3)}`);
}

for (const workers of ['0', '1']) {
  describe(`agents through the SFU (FJ_MEDIA_WORKERS=${workers})`, () => {
    let s: TestShoal & { logs: CapturedLog };
    let fishjam: FishjamClient;
    let notifier: FishjamWSNotifier;
    const trackEvents: { kind: string; peerId: string; trackId: string; type: number }[] = [];
    const previousWebSocket = (globalThis as { WebSocket?: unknown }).WebSocket;
    const agents: FishjamAgent[] = [];

    before(async () => {
      // Node 20 has no global WebSocket; the SDK's agent uses the global one.
      (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
      s = await startLoggedShoal({ FJ_MEDIA_WORKERS: workers }, 'info');
      fishjam = new FishjamClient({ fishjamId: s.httpUrl, managementToken: s.apiToken });
      notifier = new FishjamWSNotifier({ fishjamId: s.httpUrl, managementToken: s.apiToken }, () => {}, () => {});
      for (const kind of ['trackAdded', 'trackRemoved'] as const) {
        notifier.on(kind, (m) => trackEvents.push({ kind, peerId: m.peerId ?? '', trackId: m.track?.id ?? '', type: Number(m.track?.type) }));
      }
      // The SDK subscribes right after it opens; the first room's notifications show it is subscribed.
      const probe = await fishjam.createRoom();
      await new Promise<void>((resolve) => {
        const poll = setInterval(() => void fishjam.deleteRoom(probe.id).catch(() => {}), 200);
        notifier.once('roomDeleted', () => {
          clearInterval(poll);
          resolve();
        });
      });
    });

    after(async () => {
      for (const a of agents) a.disconnect();
      (notifier as unknown as { client: WebSocket }).client.close();
      await s?.stop();
      (globalThis as { WebSocket?: unknown }).WebSocket = previousWebSocket;
    });

    async function agent(roomId: string, options: PeerOptionsAgent | Record<string, unknown> = {}) {
      const made = await fishjam.createAgent(roomId as never, options as PeerOptionsAgent);
      agents.push(made.agent);
      return made;
    }

    /** `ms` of the tone at `rate`, sent in 100 ms chunks at once. */
    function sendTone(a: FishjamAgent, trackId: TrackId, rate: number, ms: number): void {
      for (let t = 0; t < ms; t += 100) a.sendData(trackId, sinePcm16(TONE_HZ, rate, 100, 12000, (t * rate) / 1000));
    }

    test('agents hear another agent’s PCM16 track as PCM16 at 16, 24 and 48 kHz and as Opus; the track is a room track', async () => {
      const room = await fishjam.createRoom();
      const outputs = [
        { audioFormat: 'pcm16', audioSampleRate: 16000 },
        { audioFormat: 'pcm16', audioSampleRate: 24000 },
        { audioFormat: 'pcm16', audioSampleRate: 48000 },
        { audioFormat: 'opus' },
      ];
      const speaker = await agent(room.id);
      const listeners = await Promise.all(outputs.map((output) => agent(room.id, { output })));
      const ears = listeners.map((l) => listen(l.agent, speaker.peer.id));
      const track = speaker.agent.createTrack({ encoding: 'pcm16', sampleRate: 24000, channels: 1 }, { role: 'voice' });
      sendTone(speaker.agent, track.id, 24000, 1500);
      await Promise.all(ears.map((e, i) => e.until(60, `listener ${JSON.stringify(outputs[i])}`)));

      outputs.forEach((output, i) => {
        const heard = ears[i]!.heard;
        const rate = output.audioSampleRate ?? 48000;
        if (output.audioFormat === 'pcm16') for (const h of heard) assert.equal(h.data.length, (rate / 50) * 2, 'one 20 ms frame per trackData');
        assertTone(pcmOf(heard, output.audioFormat === 'opus'), rate, JSON.stringify(output));
      });

      const stored = (await fishjam.getRoom(room.id)).peers.find((p) => p.id === speaker.peer.id);
      assert.deepEqual(stored?.tracks.map((t) => ({ id: t.id, type: t.type, metadata: t.metadata })), [{ id: track.id, type: 'audio', metadata: { role: 'voice' } }]);

      speaker.agent.deleteTrack(track.id);
      const deadline = Date.now() + WAIT_MS;
      while ((await fishjam.getRoom(room.id)).peers.find((p) => p.id === speaker.peer.id)?.tracks.length !== 0) {
        assert.ok(Date.now() < deadline, 'deleteTrack removed the track');
        await new Promise((r) => setTimeout(r, 50));
      }
      // The backend heard of the track like of any published audio track (TRACK_TYPE_AUDIO = 2).
      assert.deepEqual(
        trackEvents.filter((e) => e.trackId === track.id),
        [
          { kind: 'trackAdded', peerId: speaker.peer.id, trackId: track.id, type: 2 },
          { kind: 'trackRemoved', peerId: speaker.peer.id, trackId: track.id, type: 2 },
        ],
      );
      await fishjam.deleteRoom(room.id);
    });

    test('agent audio is paced in real time: 1 s (of 1.2 s) sent at once is heard over at least 0.8 s', async (t) => {
      const room = await fishjam.createRoom();
      const speaker = await agent(room.id);
      const listener = await agent(room.id);
      const ear = listen(listener.agent, speaker.peer.id);
      const track = speaker.agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 });
      // The first frame may play before the listener's subscription reaches the media thread.
      sendTone(speaker.agent, track.id, 16000, 1200);
      await ear.until(50, 'one second of audio');
      const span = ear.heard[49]!.at - ear.heard[0]!.at;
      t.diagnostic(`50 frames (1 s of audio) arrived over ${span.toFixed(0)} ms`);
      assert.ok(span >= 800, `50 frames (1 s) arrived over ${span.toFixed(0)} ms`);
      await fishjam.deleteRoom(room.id);
    });

    test('interruptTrack drops the queued audio: it stops at once, and audio sent afterwards plays', async (t) => {
      const room = await fishjam.createRoom();
      const speaker = await agent(room.id);
      const listener = await agent(room.id);
      const ear = listen(listener.agent, speaker.peer.id);
      const track = speaker.agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 });
      sendTone(speaker.agent, track.id, 16000, 5000);
      await ear.until(5, 'the first frames');
      const interruptedAt = performance.now();
      speaker.agent.interruptTrack(track.id);
      // The audio must stop: wait for a quiet 500 ms (bounded), then look at what arrived.
      const deadline = performance.now() + WAIT_MS;
      while (performance.now() - (ear.heard.at(-1)?.at ?? 0) < 500) {
        assert.ok(performance.now() < deadline, 'audio stopped after the interrupt');
        await new Promise((r) => setTimeout(r, 50));
      }
      const after = ear.heard.filter((h) => h.at > interruptedAt);
      const lastAfter = after.at(-1)?.at ?? interruptedAt;
      t.diagnostic(`last frame heard ${(lastAfter - interruptedAt).toFixed(1)} ms after interruptTrack was sent (${after.length} frames in flight)`);
      // The issue asks for 100 ms; measured 0 frames after the interrupt (the pacer stops when the request arrives).
      assert.ok(lastAfter - interruptedAt < 100, `last frame ${(lastAfter - interruptedAt).toFixed(0)} ms after the interrupt`);
      assert.ok(ear.heard.length < 30, `${ear.heard.length} of 250 queued frames were played`);

      const before = ear.heard.length;
      sendTone(speaker.agent, track.id, 16000, 300);
      await ear.until(before + 15, 'audio sent after the interrupt');
      await fishjam.deleteRoom(room.id);
    });

    test('manual subscribeMode: an agent hears a peer only once subscribed to it', async () => {
      const room = await fishjam.createRoom();
      const speaker = await agent(room.id);
      const listener = await agent(room.id, { subscribeMode: 'manual' });
      const ear = listen(listener.agent, speaker.peer.id);
      const track = speaker.agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 });
      sendTone(speaker.agent, track.id, 16000, 3000);
      // A third, auto-mode agent hearing the tone shows it is playing while the manual one hears nothing.
      const witness = listen((await agent(room.id)).agent, speaker.peer.id);
      await witness.until(10, 'auto-mode agent');
      assert.equal(ear.heard.length, 0);
      await fishjam.subscribePeer(room.id, listener.peer.id as never, speaker.peer.id);
      await ear.until(10, 'manual agent after subscribe_peer');
      await fishjam.deleteRoom(room.id);
    });

    test('refused requests are logged with a reason and change nothing; the socket stays open', async () => {
      const room = await fishjam.createRoom();
      const closes: number[] = [];
      const { agent: a, peer } = await fishjam.createAgent(room.id, {}, { onClose: (code) => closes.push(code) });
      agents.push(a);
      const refusals = () => s.logs.find('agent request refused', { peerId: peer.id }).map((r) => r.reason as string);
      const waitRefusal = async (part: string) => {
        const deadline = Date.now() + WAIT_MS;
        while (!refusals().some((r) => r.includes(part))) {
          assert.ok(Date.now() < deadline, `a refusal containing "${part}"; got ${JSON.stringify(refusals())}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      // One per second is logged: space them out.
      a.createTrack({ encoding: 'pcm16', sampleRate: 22050 as never, channels: 1 });
      await waitRefusal('sample rate must be 16000, 24000 or 48000');
      await new Promise((r) => setTimeout(r, 1000));
      a.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 2 as never });
      await waitRefusal('only mono audio');
      await new Promise((r) => setTimeout(r, 1000));
      a.sendData('no-such-track' as TrackId, new Uint8Array(640));
      await waitRefusal('Track no-such-track does not exist');
      await new Promise((r) => setTimeout(r, 1000));
      const ids = [1, 2, 3, 4, 5].map(() => a.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 }).id);
      await waitRefusal('at most 4 tracks');
      await new Promise((r) => setTimeout(r, 1000));
      // 16 kHz PCM16: 32,000 bytes a second. 31 s twice is more than the 60 s a track may queue.
      const chunk = new Uint8Array(31 * 32000);
      a.sendData(ids[0]!, chunk);
      a.sendData(ids[0]!, chunk);
      await waitRefusal('queue full');

      // Garbage on the socket (the SDK's own WebSocket): text, random bytes, truncated protobuf.
      const raw = (a as unknown as { client: WebSocket }).client;
      await new Promise((r) => setTimeout(r, 1000));
      raw.send('hello');
      for (let i = 0; i < 50; i++) raw.send(Buffer.from(Array.from({ length: 1 + ((i * 37) % 200) }, (_, k) => (k * 131 + i * 17) & 0xff)));
      raw.send(Buffer.from([0x22, 0x7f, 0x0a]));
      await waitRefusal('text frames are not AgentRequests');
      a.deleteTrack(ids[3]!);

      const deadline = Date.now() + WAIT_MS;
      let stored = (await fishjam.getRoom(room.id)).peers.find((p) => p.id === peer.id);
      while (stored?.tracks.length !== 3) {
        assert.ok(Date.now() < deadline, `deleteTrack after the garbage: ${JSON.stringify(stored?.tracks)}`);
        await new Promise((r) => setTimeout(r, 50));
        stored = (await fishjam.getRoom(room.id)).peers.find((p) => p.id === peer.id);
      }
      assert.deepEqual(stored?.tracks.map((t) => t.id).sort(), ids.slice(0, 3).sort());
      assert.equal(stored?.status, 'connected');
      assert.deepEqual(closes, []);
      await fishjam.deleteRoom(room.id);
    });

    test('an agent output other than pcm16/opus at 16, 24 or 48 kHz is refused with 400', async () => {
      const room = await fishjam.createRoom();
      for (const output of [{ audioFormat: 'mp3' }, { audioSampleRate: 44100 }, 'pcm16']) {
        const r = await api(s, 'POST', `/room/${room.id}/peer`, { type: 'agent', options: { output } });
        assert.equal(r.status, 400, r.text);
        assert.match(r.json.errors, /Invalid agent output/);
      }
      await fishjam.deleteRoom(room.id);
    });
  });
}
