// Self-test of the shaped-link harness (test/helpers/netns.ts and net-*.ts): tbf really limits a UDP flow
// between namespaces at 300 kbit/s and does not at 10 Mbit/s, nftables drops the asked share of packets,
// and Chromium pages on two client "hosts" publish and receive through a Shoal in its own namespace, with
// the selected ICE pair on Shoal's topology address and the bytes counted on the subscriber's veth.
// Skipped (with the reason) where network namespaces are not available (not root, no `ip netns`).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createTopology, netnsUnavailable, sweepStaleNamespaces, type NetTopology } from '../helpers/netns.js';
import { clearLink, linkCounters, setLoss, setRate } from '../helpers/net-link.js';
import { udpFlow } from '../helpers/net-udp.js';
import { launchNetBrowser, netPageLogs, openNetPage } from '../helpers/net-browser.js';
import { netPeerToken, netRoom, startNetShoal, type NetShoal } from '../helpers/net-shoal.js';
import { receiveSample, selectedPair, waitForSample } from '../helpers/net-stats.js';
import { joinC25, joinC5, publishC5 } from '../helpers/media-page.js';
import { killShoalProcesses } from '../helpers/shoal-process.js';
import type { Browser, Page } from '../helpers/browser.js';

const unavailable = await netnsUnavailable();

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

function links(): string[] {
  return (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[]).map((l) => l.ifname);
}

describe('shaped-link harness: links between namespaces', { skip: unavailable ?? false }, () => {
  let topo: NetTopology;
  before(async () => {
    topo = await createTopology({ clients: ['a'] });
  });
  after(async () => {
    await topo?.destroy();
  });

  test('destroy() removes every namespace and the root link; the sweep removes namespaces of pids no longer running', async () => {
    const extra = await createTopology({ clients: ['x', 'y'] });
    const names = [extra.routerNs, extra.server.ns, ...extra.clients.map((c) => c.ns)];
    assert.ok(names.every((n) => namespaces().includes(n)), 'topology namespaces missing');
    await extra.destroy();
    assert.deepEqual(names.filter((n) => namespaces().includes(n)), [], 'namespaces left after destroy()');
    assert.ok(!links().includes(extra.rootDev), `root link ${extra.rootDev} left after destroy()`);

    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid!; // a pid that has exited
    const stale = `shoal-${dead}-0-r`;
    execFileSync('ip', ['netns', 'add', stale]);
    assert.ok(sweepStaleNamespaces().includes(stale), 'the sweep did not report the stale namespace');
    assert.ok(!namespaces().includes(stale), 'stale namespace left after the sweep');
  });

  test('tbf at 300 kbit/s holds a 1 Mbit/s UDP flow to ~300 kbit/s in each direction; at 10 Mbit/s a 3 Mbit/s flow passes whole', async (t) => {
    const a = topo.client('a');
    try {
      await setRate(topo, a, 'down', 300);
      const down = await udpFlow({ fromNs: topo.server.ns, toNs: a.ns, toIp: a.ip, kbit: 1000, size: 1200, count: 400 });
      t.diagnostic(`300 kbit/s down: ${JSON.stringify(down)}`);
      // tbf counts Ethernet frames (1242 B for 1200 B of payload): ~290 kbit/s of payload at the receiver.
      assert.ok(down.kbit > 240 && down.kbit < 320, `downlink payload rate ${down.kbit.toFixed(0)} kbit/s, want 240–320`);
      assert.ok(down.lossPercent > 50, `a 1 Mbit/s flow into 300 kbit/s must lose most packets, lost ${down.lossPercent}%`);
      const counters = await linkCounters(topo, a);
      assert.ok(counters.downQdiscDrops > 0, `the downlink qdisc dropped nothing: ${JSON.stringify(counters)}`);

      await setRate(topo, a, 'down', null);
      await setRate(topo, a, 'up', 300);
      const up = await udpFlow({ fromNs: a.ns, toNs: topo.server.ns, toIp: topo.server.ip, kbit: 1000, size: 1200, count: 400 });
      t.diagnostic(`300 kbit/s up: ${JSON.stringify(up)}`);
      assert.ok(up.kbit > 240 && up.kbit < 320, `uplink payload rate ${up.kbit.toFixed(0)} kbit/s, want 240–320`);

      await setRate(topo, a, 'up', null);
      await setRate(topo, a, 'down', 10_000);
      const fast = await udpFlow({ fromNs: topo.server.ns, toNs: a.ns, toIp: a.ip, kbit: 3000, size: 1200, count: 1000 });
      t.diagnostic(`10 Mbit/s down: ${JSON.stringify(fast)}`);
      assert.ok(fast.received >= 995, `at 10 Mbit/s a 3 Mbit/s flow must pass: ${fast.received}/1000 arrived`);
      // Against what the sender achieved (a stalled sender slips its schedule on a busy machine).
      assert.ok(fast.kbit > 0.8 * fast.sendKbit, `arrival rate ${fast.kbit.toFixed(0)} kbit/s of ${fast.sendKbit.toFixed(0)} sent`);
    } finally {
      await clearLink(topo, a);
    }
  });

  test('nftables 5 % loss drops 2–9 % of 4000 datagrams in each direction; back at 0 % nothing is dropped', async (t) => {
    const a = topo.client('a');
    try {
      await setLoss(a, 'down', 5);
      const down = await udpFlow({ fromNs: topo.server.ns, toNs: a.ns, toIp: a.ip, kbit: 4000, size: 200, count: 4000 });
      t.diagnostic(`5 % down: ${JSON.stringify(down)}`);
      assert.ok(down.lossPercent >= 2 && down.lossPercent <= 9, `downlink lost ${down.lossPercent}%`);

      await setLoss(a, 'down', 0);
      await setLoss(a, 'up', 5);
      const up = await udpFlow({ fromNs: a.ns, toNs: topo.server.ns, toIp: topo.server.ip, kbit: 4000, size: 200, count: 4000 });
      t.diagnostic(`5 % up: ${JSON.stringify(up)}`);
      assert.ok(up.lossPercent >= 2 && up.lossPercent <= 9, `uplink lost ${up.lossPercent}%`);

      await setLoss(a, 'up', 0);
      const clean = await udpFlow({ fromNs: topo.server.ns, toNs: a.ns, toIp: a.ip, kbit: 4000, size: 200, count: 2000 });
      assert.equal(clean.received, 2000, `a clean link lost ${2000 - clean.received} of 2000`);
    } finally {
      await clearLink(topo, a);
    }
  });
});

for (const workers of ['0', '1']) {
  describe(`shaped-link harness: Chromium hosts and Shoal in namespaces (FJ_MEDIA_WORKERS=${workers})`, { skip: unavailable ?? false }, () => {
    let topo: NetTopology;
    let shoal: NetShoal;
    let pubBrowser: Browser;
    let subBrowser: Browser;
    const pages: Page[] = [];

    before(async () => {
      topo = await createTopology({ clients: ['pub', 'sub'] });
      shoal = await startNetShoal(topo, { FJ_MEDIA_WORKERS: workers });
      [pubBrowser, subBrowser] = await Promise.all([launchNetBrowser(topo.client('pub')), launchNetBrowser(topo.client('sub'))]);
    });
    after(async () => {
      for (const p of pages) await p.context().close().catch(() => undefined);
      await Promise.all([pubBrowser?.close(), subBrowser?.close()]);
      killShoalProcesses();
      await topo?.destroy();
    });

    test('a 0.5.0 publisher and 0.5.0 and 0.25.1 subscribers on other hosts: media crosses the shaped veth to Shoal\'s address', async (t) => {
      const roomId = await netRoom(shoal);
      const pub = await openNetPage(pubBrowser, 'c5');
      const sub = await openNetPage(subBrowser, 'c5');
      const sub25 = await openNetPage(subBrowser, 'c25');
      pages.push(pub, sub, sub25);
      try {
        await joinC5(pub, { host: shoal.host, token: await netPeerToken(shoal, roomId), name: 'pub' });
        await joinC5(sub, { host: shoal.host, token: await netPeerToken(shoal, roomId), name: 'sub' });
        await joinC25(sub25, shoal.wsUrl, await netPeerToken(shoal, roomId), 'sub25');
        await publishC5(pub, { video: true, audio: true, simulcast: true });
        const vethStart = await linkCounters(topo, topo.client('sub'));
        const first = await waitForSample(sub, (s) => s.framesDecoded > 0 && s.audioPackets > 0, 'first frames on the 0.5.0 subscriber');
        const later = await waitForSample(sub, (s) => s.framesDecoded > first.framesDecoded + 24, 'frames increasing');
        await waitForSample(sub25, (s) => s.framesDecoded > 24 && s.audioPackets > 0, 'frames on the 0.25.1 subscriber');
        const vethEnd = await linkCounters(topo, topo.client('sub'));

        for (const [name, page] of [['pub', pub], ['sub', sub], ['sub25', sub25]] as const) {
          const pair = await selectedPair(page);
          t.diagnostic(`${name} selected pair: ${JSON.stringify(pair)}`);
          assert.ok(pair, `${name}: no selected candidate pair`);
          assert.equal(pair.remoteAddress, topo.server.ip, `${name}: remote candidate is not Shoal's topology address`);
          if (name !== 'sub25') assert.equal(pair.localType, 'relay', `${name}: ts-client 0.5.0 is relay-only`);
          if (pair.localType === 'relay') assert.equal(pair.localAddress, topo.server.ip, `${name}: relayed by Shoal's TURN on its topology address`);
        }
        // What the subscriber decoded came in through its veth: the interface counted at least those bytes.
        const videoBytes = later.videoBytes - first.videoBytes;
        const veth = vethEnd.rxBytes - vethStart.rxBytes;
        t.diagnostic(`subscriber: ${videoBytes} video bytes decoded-side while its eth0 received ${veth} bytes`);
        assert.ok(videoBytes > 0 && veth >= videoBytes, `veth rx ${veth} B < video bytes ${videoBytes} B`);
        const finalSample = await receiveSample(sub);
        assert.ok(finalSample.frameWidth > 0, 'the subscriber decoded no frame size');
      } catch (err) {
        (err as Error).message += `\npub:\n${netPageLogs(pub)}\nsub:\n${netPageLogs(sub)}\nsub25:\n${netPageLogs(sub25)}`;
        throw err;
      }
    });
  });
}
