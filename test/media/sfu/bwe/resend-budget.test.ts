// The resend budget: retransmissions beyond RESEND_SHARE of the estimate are refused (after a short
// burst), the budget refills with time, and a bigger estimate allows more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESEND_SHARE, ResendBudget } from '../../../../src/media/sfu/bwe/resend-budget.js';

/** Bytes of 1200-byte resends granted over `ms` when asked for every millisecond. */
function granted(b: ResendBudget, estimateBps: number, from: number, ms: number): number {
  let bytes = 0;
  for (let t = from; t < from + ms; t++) if (b.take(1200, estimateBps, t)) bytes += 1200;
  return bytes;
}

test('a storm of NACKs gets about RESEND_SHARE of the estimate, plus one burst', () => {
  const b = new ResendBudget();
  const bytes = granted(b, 1_000_000, 0, 2000);
  const share = (1_000_000 * RESEND_SHARE * 2) / 8; // over 2 s
  assert.ok(bytes >= share * 0.9 && bytes <= share + (1_000_000 * RESEND_SHARE * 0.5) / 8 + 1200, `granted ${bytes} of a ${share} share (+ a 500 ms burst)`);
});

test('a 300 kbit/s estimate: far less than the storm asks for; quiet time refills it; nothing granted past the cap', () => {
  const b = new ResendBudget();
  const bytes = granted(b, 300_000, 0, 1000);
  assert.ok(bytes <= (300_000 * RESEND_SHARE) / 8 + 8 * 1200 + 1200, `granted ${bytes} (the share of 1 s and one burst of 8 packets)`);
  assert.equal(b.take(1200, 300_000, 1000), false, 'empty');
  assert.equal(b.take(1200, 300_000, 1200), true, 'refilled after a while');
  assert.equal(granted(b, 300_000, 100_000, 1) > 0, true);
});
