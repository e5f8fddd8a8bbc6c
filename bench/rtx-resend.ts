// Micro-measure of the subscriber RTX path (issue 12): ns per writeRtxPacket, per NACKed packet answered by a
// consumer as RTX vs as the original frame, and per forwarded packet with and without RTX (the RTX consumer
// keeps a plaintext copy). Sends are stubs (no SRTP): what is measured is Shoal's own work.
// Run: node --import tsx bench/rtx-resend.ts
import { SendHistory } from '../src/media/sfu/bwe/send-history.js';
import { emptyMediaStats } from '../src/media/sfu/media-stats.js';
import { Router } from '../src/media/sfu/router.js';
import { writeRtxPacket } from '../src/media/sfu/rtx.js';
import { parseRtpHeader } from '../src/media/wire/rtp.js';

const payload = Buffer.alloc(1100, 0x5a);
function vp8(seq: number, keyframe: boolean): Buffer {
  const b = Buffer.concat([Buffer.from([0x80, 96, seq >> 8, seq & 0xff, 0, 0, 0, 1, 0, 0, 0, 1, 0x10, keyframe ? 0 : 1]), payload]);
  return b;
}

function consumerFor(rtx: boolean) {
  const stats = emptyMediaStats();
  const router = new Router('r', stats, () => {});
  const producer = router.produce({ trackId: 't', peerId: 'p', kind: 'video', codec: { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] }, rids: [] }, { sendPli: () => {} });
  const frame = Buffer.alloc(1200);
  let sink = 0;
  const consumer = router.consume(producer, {
    ssrc: 1, payloadType: 100, targetVariant: 'm', nack: true, extensionMap: new Map(),
    send: (_p, length) => { sink += length; return frame; },
    resend: (k) => { sink += k.length; },
    rtx: rtx ? { ssrc: 2, payloadType: 101 } : undefined,
    transportCc: { extId: 5, history: new SendHistory() },
    onVariantSwitched: () => {},
  });
  consumer.start();
  return { producer, consumer, stats, sink: () => sink };
}

function nsPer(n: number, f: () => void): number {
  const t0 = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t0) / n;
}

const N = 200_000;
const orig = vp8(1234, false);
const out = Buffer.alloc(1500);
for (let round = 0; round < 3; round++) {
  const w = nsPer(N, () => { for (let i = 0; i < N; i++) writeRtxPacket(orig, { ssrc: 9, payloadType: 101, sequenceNumber: i, transportSeqExtId: 5, transportSeq: i }, out); });
  const row: string[] = [`writeRtxPacket ${w.toFixed(0)} ns`];
  for (const rtx of [false, true]) {
    const { producer, consumer, stats } = consumerFor(rtx);
    const pkts = Array.from({ length: 512 }, (_, i) => vp8(i, i === 0));
    const hs = pkts.map((p) => parseRtpHeader(p)!);
    const fwd = nsPer(N, () => { for (let i = 0; i < N; i++) producer.onRtp(pkts[i & 511]!, hs[i & 511]!, ''); });
    // Every stored packet NACKed once (a fresh buffer each pass so the budget allows it).
    let resends = 0;
    let acc = 0n;
    for (let pass = 0; pass < 40; pass++) {
      for (let i = 0; i < 512; i++) producer.onRtp(pkts[i]!, hs[i]!, '');
      const seqs: number[] = [];
      const base = (consumer as unknown as { lastOutSeq: number }).lastOutSeq;
      for (let i = 0; i < 500; i++) seqs.push((base - i) & 0xffff);
      const t = process.hrtime.bigint();
      consumer.retransmit(seqs);
      acc += process.hrtime.bigint() - t;
    }
    resends = stats.rtpRetransmitted;
    const resendNs = Number(acc) / resends;
    row.push(`${rtx ? 'RTX' : 'plain'}: forward ${fwd.toFixed(0)} ns/pkt, resend ${resendNs.toFixed(0)} ns/resent pkt (${resends} resent, ${stats.rtpRetransmitRefused} refused)`);
  }
  console.log(row.join('; '));
}
