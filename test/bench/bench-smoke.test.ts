// Keeps the load generator (bench/cli.ts) from rotting: `bench/cli.ts all --smoke` runs every scenario for a
// few seconds at the smallest size, each against its own Shoal child process — fan-out (1 publisher → 2
// browserless subscribers through the integrated TURN server), meeting (1 room × 3 peers), join storm (4
// peers), control plane (1 s of add-peer, then token verification), livestream (1 WHIP publisher → 2 WHEP
// viewers) — and the test checks each table and
// the numbers in its RESULT line.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { runBenchCli } from './bench-cli.js';

const TIMEOUT_MS = 110_000;

describe('bench: cli.ts all --smoke', () => {
  let child: ChildProcess | undefined;

  after(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  test('every scenario prints its table and a RESULT with real traffic', { timeout: 120_000 }, async () => {
    const { code, stdout, stderr } = await runBenchCli(['all', '--smoke'], TIMEOUT_MS, (c) => (child = c));
    const output = `stdout:\n${stdout}\nstderr:\n${stderr}`;
    assert.equal(code, 0, `exit code ${code}\n${output}`);

    const results = stdout
      .split('\n')
      .filter((l) => l.startsWith('RESULT '))
      .map((l) => JSON.parse(l.slice('RESULT '.length)));
    assert.deepEqual(
      results.map((r) => r.scenario),
      ['fanout', 'meeting', 'join-storm', 'control-plane', 'livestream'],
      output,
    );
    const [fanout, meeting, storm, control, live] = results;

    // fan-out: 1 publisher (VP8 ~100 pkts/s + opus 50 pkts/s) → 2 subscribers, 3 s window
    assert.match(stdout, /\| N \| sub streams \| fwd pkts\/s \| server CPU % \| CPU µs\/fwd pkt \| vs 50 µs \| sub loss % \| silent streams \| RSS MiB \|/);
    assert.match(stdout, /^\| 2 \|\s+4 \|\s+\d+ \|/m, 'a fan-out row for N=2 with 4 subscriber streams');
    assert.equal(fanout.baselineUsPerPacket, 50);
    assert.equal(fanout.rows.length, 1);
    const row = fanout.rows[0];
    assert.equal(row.subscribers, 2);
    assert.equal(row.subscriberStreams, 4);
    assert.equal(row.reception.activeStreams, 4, JSON.stringify(row));
    assert.equal(row.reception.silentStreams, 0, JSON.stringify(row));
    // ~150 packets/s for 3 s each; well above zero even on a loaded machine.
    for (const n of row.perSubscriberReceived) assert.ok(n > 100, `a subscriber received only ${n} packets: ${JSON.stringify(row)}`);
    assert.ok(row.forwardedPerSec > 0, JSON.stringify(row));
    assert.ok(row.usPerForwardedPacket > 0 && Number.isFinite(row.usPerForwardedPacket), JSON.stringify(row));
    assert.ok(row.serverCpuPercent > 0, JSON.stringify(row));
    assert.ok(row.rssMiB > 10, JSON.stringify(row));
    assert.ok(row.reception.lossPercent >= 0 && row.reception.lossPercent <= 100, JSON.stringify(row));

    // meeting: 1 room × 3 peers, each receiving the 2 others' video
    assert.match(stdout, /\| rooms × peers \| sub streams \| pub pkts\/s \| fwd pkts\/s \| server CPU % \|/);
    const m = meeting.rows[0];
    assert.equal(m.subscriberStreams, 6);
    assert.equal(m.reception.activeStreams, 6, JSON.stringify(m));
    assert.equal(m.reception.perPeer.length, 3);
    for (const n of m.reception.perPeer) assert.ok(n > 100, `a meeting peer received only ${n} packets: ${JSON.stringify(m)}`);
    assert.ok(m.forwardedPerSec > 0 && m.serverCpuPercent > 0, JSON.stringify(m));

    // join storm: 4 peers, all reach a first remote packet
    assert.match(stdout, /\| K \|\s+join → \|\s+ok \| p50 ms \| p99 ms \| max ms \|/);
    assert.equal(storm.peers, 4);
    assert.equal(storm.failures, 0, JSON.stringify(storm.timings));
    assert.equal(storm.firstPacket.count, 4);
    assert.ok(storm.firstPacket.p50 > 0 && storm.firstPacket.p50 <= storm.firstPacket.p99, JSON.stringify(storm.firstPacket));
    for (const t of storm.timings) assert.ok(t.connected > 0 && t.connected <= t.firstPacket, JSON.stringify(t));

    // control plane: every add-peer answered 201, and the server's tokens verify in-process
    assert.match(stdout, /\| add-peer \(HTTP, server process\) \|\s+8 \|\s+\d+ \|/);
    assert.ok(control.addPeer.ok > 0, JSON.stringify(control.addPeer));
    assert.deepEqual(Object.keys(control.addPeer.statuses), ['201'], JSON.stringify(control.addPeer));
    assert.equal(control.addPeer.transportErrors, 0);
    assert.equal(control.verify.length, 2);
    for (const v of control.verify) {
      assert.ok(v.verified > 0, JSON.stringify(v));
      assert.equal(v.failed, 0, JSON.stringify(v));
    }

    // livestream: 1 WHIP publisher → 2 WHEP viewers, both m-lines of each receiving in the window
    assert.equal(live.rows.length, 1);
    const lrow = live.rows[0];
    assert.equal(lrow.viewers, 2);
    assert.equal(lrow.viewersGivenUp, 0, JSON.stringify(lrow));
    assert.equal(lrow.reception.activeStreams, 4, JSON.stringify(lrow.reception));
    assert.ok(lrow.reception.received > 0 && lrow.forwardedPerSec > 0, JSON.stringify(lrow));
    assert.ok(Number.isFinite(lrow.firstPacketMs.p50) && lrow.firstPacketMs.p50 > 0, JSON.stringify(lrow.firstPacketMs));
  });
});
