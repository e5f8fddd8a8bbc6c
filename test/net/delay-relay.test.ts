// Self-test of the harness's delay/jitter relay (test/helpers/net-relay.ts; this kernel has no netem):
// STUN round trips from a client namespace to Shoal's TURN port through the relay take the delay set per
// direction (and spread with jitter), and Chromium pages given the relay as Shoal's address connect
// through it with the ICE round trip time showing the delay. Skipped where namespaces are unavailable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { netnsUnavailable } from '../helpers/netns.js';
import { stunRtts } from '../helpers/net-udp.js';
import { startNetScene, type NetScene } from '../helpers/net-scene.js';
import { selectedPair, waitForSample } from '../helpers/net-stats.js';
import { joinC5, publishC5 } from '../helpers/media-page.js';

const unavailable = await netnsUnavailable();

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[xs.length >> 1]!;

describe('shaped-link harness: delay relay in front of Shoal', { skip: unavailable ?? false }, () => {
  let scene: NetScene;
  before(async () => {
    scene = await startNetScene({ clients: ['pub', 'sub'], delayRelay: true });
  });
  after(async () => {
    await scene?.close();
  });

  test('STUN round trips through the relay: ~0 ms clean, 50 ms up + 30 ms down ≈ 80 ms, jitter ±20 ms spreads them', async (t) => {
    const sub = scene.client('sub');
    const relay = scene.shoal.relay!;
    const rtts = (count: number) => stunRtts({ fromNs: sub.ns, ip: relay.ip, port: relay.ports[0]!, count, intervalMs: 20 });
    // The first round trips also warm up the relay process and the sockets (on a loaded machine the first
    // ten once took 260–590 ms): the clean reading is the median of the 20 after them.
    const all = await rtts(30);
    const clean = all.slice(-20);
    t.diagnostic(`clean: median ${median(clean)} ms of the last ${clean.length} (first: ${all.slice(0, all.length - clean.length).join(', ')} ms)`);
    assert.ok(all.length >= 27 && median(clean) < 20, `clean relay: ${JSON.stringify(all)}`);

    await relay.setDelay(sub, 'up', 50);
    await relay.setDelay(sub, 'down', 30);
    const delayed = await rtts(50);
    t.diagnostic(`50 + 30 ms: median ${median(delayed)}, min ${sorted(delayed)[0]}, max ${sorted(delayed).at(-1)} ms`);
    assert.ok(delayed.length >= 45, `answers lost: ${delayed.length}/50`);
    assert.ok(sorted(delayed)[0]! >= 79, `a round trip shorter than the 80 ms set: ${sorted(delayed)[0]}`);
    assert.ok(median(delayed) < 130, `median ${median(delayed)} ms, want about 80`);

    await relay.setDelay(sub, 'up', 50, 20);
    await relay.setDelay(sub, 'down', 0);
    const jittered = await rtts(100);
    const s = sorted(jittered);
    t.diagnostic(`50 ± 20 ms up: min ${s[0]}, median ${median(s)}, max ${s.at(-1)} ms`);
    assert.ok(s[0]! >= 29, `below the jitter's floor: ${s[0]} ms`);
    assert.ok(s.at(-1)! - s[0]! >= 15, `jitter ±20 ms spread the round trips by only ${s.at(-1)! - s[0]!} ms`);
    await relay.setDelay(sub, 'up', 0);
  });

  test('ts-client 0.5.0 pages reach Shoal through the relay: the selected pair is the relay\'s address and its RTT carries the delay', async (t) => {
    const { shoal } = scene;
    const sub = scene.client('sub');
    const roomId = await scene.room();
    const pubPage = await scene.page('pub', 'c5');
    const subPage = await scene.page('sub', 'c5');
    try {
      await shoal.relay!.setDelay(sub, 'down', 100);
      await joinC5(pubPage, { host: shoal.host, token: await scene.token(roomId), name: 'pub' });
      await joinC5(subPage, { host: shoal.host, token: await scene.token(roomId), name: 'sub' });
      await publishC5(pubPage, { video: true, audio: true });
      const first = await waitForSample(subPage, (s) => s.framesDecoded > 0, 'first frames through the relay');
      await waitForSample(subPage, (s) => s.framesDecoded > first.framesDecoded + 24, 'frames increasing');
      const deadline = Date.now() + 15_000;
      let pair = await selectedPair(subPage);
      while (pair?.currentRoundTripTime === undefined && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        pair = await selectedPair(subPage);
      }
      t.diagnostic(`sub selected pair: ${JSON.stringify(pair)}`);
      assert.ok(pair, 'no selected pair');
      assert.equal(pair.remoteAddress, shoal.relay!.ip, 'the remote candidate is not the relay address');
      assert.ok((pair.currentRoundTripTime ?? 0) >= 0.099, `RTT ${pair.currentRoundTripTime} s, want ≥ 0.1 s with 100 ms down delay`);
      const pubPair = await selectedPair(pubPage);
      assert.ok(pubPair && pubPair.currentRoundTripTime !== undefined && pubPair.currentRoundTripTime < 0.05, `the publisher has no delay set: ${JSON.stringify(pubPair)}`);
    } catch (err) {
      (err as Error).message += `\n${scene.logs()}`;
      throw err;
    }
  });
});
