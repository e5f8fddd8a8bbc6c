// Keeps the capacity scenario from rotting: `bench/cli.ts capacity --smoke` starts a Shoal child, sends the
// fan-out source (1 publisher, VP8 ~100 packets/s) to 2 light subscribers (bench/clients/light-subscriber.ts:
// TURN allocation shared on one client socket, ICE check, DTLS handshake, then SRTP counted by clear RTP
// header through the native UdpPort) for a 3 s window, and the test checks the table and the RESULT
// numbers: both subscribers received packets, no loss beyond what a loaded machine can explain.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { runBenchCli } from './bench-cli.js';
import { loadNativeAddon } from '../../src/dataplane/native-addon.js';

const TIMEOUT_MS = 60_000;
const addon = loadNativeAddon();

describe('bench: cli.ts capacity --smoke', () => {
  let child: ChildProcess | undefined;

  after(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  test('2 light subscribers receive the publisher\'s packets and the RESULT carries the capacity numbers', { timeout: 70_000, skip: addon.addon ? false : `the native addon is needed (${addon.reason})` }, async () => {
    const { code, stdout, stderr } = await runBenchCli(['capacity', '--smoke'], TIMEOUT_MS, (c) => (child = c));
    const output = `stdout:\n${stdout}\nstderr:\n${stderr}`;
    assert.equal(code, 0, `exit code ${code}\n${output}`);
    assert.match(stdout, /\| N \| server CPU % \| CPU µs\/fwd pkt \| pub pkts\/s \| server in pkts\/s \| fwd pkts\/s \| upstream short % \| sub loss % \| loss % \| delivered % \| silent subs \| gen CPU % \|/, output);
    assert.match(stdout, /^\| 2 \|\s+[\d.]+ \|/m, `a row for N=2\n${output}`);
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, output);
    const result = JSON.parse(line.slice('RESULT '.length));
    assert.equal(result.scenario, 'capacity');
    assert.ok(result.plane === 'native' || result.plane === 'js', JSON.stringify(result));
    assert.equal(result.rows.length, 1, JSON.stringify(result));
    const row = result.rows[0];
    assert.equal(row.subscribers, 2);
    assert.equal(row.dataPlane, result.plane);
    assert.equal(row.reception.activeStreams, 2, JSON.stringify(row));
    assert.equal(row.reception.silentStreams, 0, JSON.stringify(row));
    // ~100 video packets/s each for 3 s; well above zero even on a loaded machine.
    assert.equal(row.reception.perPeer.length, 2);
    for (const n of row.reception.perPeer) assert.ok(n > 100, `a light subscriber received only ${n} packets: ${JSON.stringify(row)}`);
    assert.ok(row.reception.lossPercent >= 0 && row.reception.lossPercent < 5, JSON.stringify(row));
    assert.ok(row.forwardedPerSec > 100, JSON.stringify(row));
    assert.ok(row.publisherSentPerSec > 50 && row.serverReceivedPerSec > 50, JSON.stringify(row));
    assert.ok(row.serverCpuPercent > 0 && Number.isFinite(row.usPerForwardedPacket), JSON.stringify(row));
    assert.ok(row.generatorCpuPercent > 0, JSON.stringify(row));
    assert.ok(row.datagramsPerBatch >= 1, JSON.stringify(row));
    assert.ok(row.lossPercent >= row.reception.lossPercent - 1e-9 && row.lossPercent < 5, JSON.stringify(row));
    assert.equal(result.maxSubscribersUnderOnePercentLoss, row.lossPercent < 1 ? 2 : null);
  });
});
