// The pure parts of bench/scenarios/compare.ts: the rotation of the three sides (Shoal-native, Shoal-js,
// Janus) per row, --planes parsing, and the issue-14 target verdict (≤ 0.5 × Janus and ≤ 10 µs per
// forwarded packet, on the plane the server really ran).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { failureText, firstMeasured, parsePlanes, ratiosOf, rotation, targetVerdict, type ShoalSide } from '../../bench/scenarios/compare-rows.js';
import { describeRow, sideCells } from '../../bench/scenarios/compare-table.js';

const side = (dataPlane: string, us: number): ShoalSide => ({ dataPlane, usPerForwardedPacket: us, forwardedPerSec: 1, serverCpuPercent: 1, lossPercent: 0, otherCpuPercent: 0, clientCpuPercent: 0, rssMiB: 1 });

describe('compare: sides, planes and targets', () => {
  test('the order rotates by one per row, so each side runs first, second and third in turn', () => {
    const sides = ['native', 'js', 'janus'] as const;
    assert.deepEqual(rotation([...sides], 0), ['native', 'js', 'janus']);
    assert.deepEqual(rotation([...sides], 1), ['js', 'janus', 'native']);
    assert.deepEqual(rotation([...sides], 2), ['janus', 'native', 'js']);
    assert.deepEqual(rotation([...sides], 3), ['native', 'js', 'janus']);
    assert.deepEqual(rotation(['js', 'janus'], 1), ['janus', 'js']);
  });

  test('--planes takes native and/or js, each once', () => {
    assert.deepEqual(parsePlanes('native,js'), ['native', 'js']);
    assert.deepEqual(parsePlanes(' js '), ['js']);
    for (const bad of ['', 'native,native', 'janus', 'native,auto']) assert.throws(() => parsePlanes(bad), /--planes takes/, bad);
  });

  test('the target is met only at ≤ 10 µs and ≤ 0.5 × Janus, on the native plane', () => {
    assert.match(targetVerdict(side('native', 8), 20), /^met \(8\.0 µs\/pkt, 0\.40× Janus\)$/);
    assert.match(targetVerdict(side('native', 10), 20), /^met/);
    assert.equal(targetVerdict(side('native', 12), 30), 'not met: 12.0 µs/pkt > 10');
    assert.equal(targetVerdict(side('native', 9), 15), 'not met: 0.60× Janus > 0.5×');
    assert.equal(targetVerdict(side('js', 5), 30), 'not met (the server ran the js plane)');
    assert.equal(targetVerdict(undefined, 30), 'native not measured');
    assert.equal(targetVerdict(side('native', 5), NaN), 'not met: no Janus number');
  });

  test('a side that failed leaves "failed" in its cells and its reason in the summary; the others still count', () => {
    const row = { planes: { native: side('native', 9) }, failed: { js: 'fan-out N=500: 37 subscribers never connected' }, ratios: ratiosOf({ native: side('native', 9) }, 30), order: ['native', 'js', 'janus'] as const, janus: { serverCpuPercent: 90, usPerForwardedPacket: 30, lossPercent: 0, clientCpuPercent: 20 } };
    const cells = sideCells(['native', 'js'], { ...row, order: [...row.order] });
    assert.deepEqual(cells.slice(0, 3), ['1.0', 'failed', '90.0']);
    assert.equal(cells[3], '9.0');
    assert.equal(cells[4], 'failed');
    assert.deepEqual(row.ratios, { native: 0.3 });
    assert.match(describeRow({ ...row, order: [...row.order] }), /Shoal-native 9\.0 µs\/pkt .*Janus 30\.0 µs\/pkt .*js failed: fan-out N=500: 37 subscribers never connected/);
    const noJanus = sideCells(['native'], { planes: row.planes, failed: { janus: 'x' }, ratios: ratiosOf(row.planes, undefined), order: ['janus', 'native'] });
    assert.deepEqual(noJanus.slice(0, 2), ['1.0', 'failed']);
    assert.equal(noJanus[6], '–', 'no ratio without a Janus number');
    assert.equal(firstMeasured(['js', 'native'], row.planes)?.dataPlane, 'native');
    assert.equal(failureText(new Error('first line\nstdout: …')), 'first line');
    assert.equal(failureText(new Error('x'.repeat(300))).length, 200);
  });
});
