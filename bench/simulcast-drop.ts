// CPU per received packet of a simulcast producer fanned out to N subscribers that all receive `l`: the
// SFU's own fan-out path (Producer.onRtp → every sink → Consumer.forward's rewrite), measured in-process
// with process.cpuUsage() over a fixed number of packets. The publisher sends synthetic VP8 on three
// layers in the packet ratio of a 720p camera (per frame: l 1, m 3, h 10 packets of 1200 B; a keyframe on
// each layer every 100 frames), and the per-layer bitrate meter is attached as the allocator would.
// The consumers' send is a no-op: SRTP, sockets and header parsing are excluded (they cost the same with
// and without the early drop), so this isolates what dropping unused layers before the sink loop saves.
// Uses only APIs that exist before and after the drop, so it runs unchanged in a worktree of an older
// commit. What it must not do: open sockets or assert timings.
//   node --import tsx bench/simulcast-drop.ts [--subscribers 8,32,128] [--packets 300000] [--runs 3] [--only h]
// --only h feeds just the h layer's packets (which no subscriber receives): the cost of an unused layer alone.
import { layerMeterFor } from '../src/media/sfu/bwe/layer-meter.js';
import { emptyMediaStats } from '../src/media/sfu/media-stats.js';
import { Router } from '../src/media/sfu/router.js';
import { parseRtpHeader, type RtpHeader } from '../src/media/wire/rtp.js';
import type { Codec } from '../src/media/wire/sdp.js';
import type { Variant } from '../src/room/track.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const SUBSCRIBERS = flag('subscribers', '8,32,128').split(',').map(Number);
const PACKETS = Number(flag('packets', '300000'));
const RUNS = Number(flag('runs', '3'));
const ONLY = flag('only', '');

const VP8: Codec = { payloadType: 96, name: 'VP8', clockRate: 90000, rtcpFb: [] };
const LAYERS: { v: Variant; ssrc: number; perFrame: number }[] = [
  { v: 'l', ssrc: 11, perFrame: 1 },
  { v: 'm', ssrc: 22, perFrame: 3 },
  { v: 'h', ssrc: 33, perFrame: 10 },
];
const FRAMES = 200;
const KEY_EVERY = 100;

/** One cycle of packets (FRAMES frames of every layer, interleaved per frame), parsed once. */
function packets(): { buf: Buffer; h: RtpHeader; v: Variant }[] {
  const out: { buf: Buffer; h: RtpHeader; v: Variant }[] = [];
  const seq: Record<Variant, number> = { l: 0, m: 0, h: 0 };
  for (let f = 0; f < FRAMES; f++) {
    for (const layer of LAYERS) {
      for (let p = 0; p < layer.perFrame; p++) {
        const buf = Buffer.alloc(1200, 0x5a);
        buf[0] = 0x80;
        buf[1] = (p === layer.perFrame - 1 ? 0x80 : 0) | 96;
        buf.writeUInt16BE(seq[layer.v]++ & 0xffff, 2);
        buf.writeUInt32BE(f * 3000, 4);
        buf.writeUInt32BE(layer.ssrc, 8);
        buf[12] = p === 0 ? 0x10 : 0x00;
        buf[13] = p === 0 && f % KEY_EVERY === 0 ? 0x10 : 0x11;
        if (buf[13] === 0x10) buf.set([0x9d, 0x01, 0x2a], 16);
        out.push({ buf, h: parseRtpHeader(buf)!, v: layer.v });
      }
    }
  }
  return out;
}

function run(n: number, all: { buf: Buffer; h: RtpHeader; v: Variant }[]) {
  let cycle = all;
  const stats = emptyMediaStats();
  const router = new Router('bench', stats, () => {});
  const producer = router.produce({ trackId: 't', peerId: 'pub', kind: 'video', codec: VP8, rids: ['l', 'm', 'h'] }, { sendPli: () => {} });
  for (const l of LAYERS) producer.variantSsrcs.set(l.v, l.ssrc);
  layerMeterFor(producer);
  for (let i = 0; i < n; i++) {
    const c = router.consume(producer, { ssrc: 1000 + i, payloadType: 100, targetVariant: 'l', send: () => undefined, resend: () => {}, nack: false, onVariantSwitched: () => {} });
    c.start();
  }
  const feed = (count: number) => {
    for (let i = 0; i < count; i++) {
      const p = cycle[i % cycle.length]!;
      producer.onRtp(p.buf, p.h, p.v);
    }
  };
  if (ONLY !== '') {
    const lows = cycle.filter((p) => p.v === 'l').slice(0, 2); // a keyframe of l starts every consumer
    for (const p of lows) producer.onRtp(p.buf, p.h, p.v);
    cycle = cycle.filter((p) => p.v === ONLY);
  }
  feed(cycle.length * 2); // warm-up: every consumer is on l, the JIT has settled
  const before = { ...stats };
  const cpu0 = process.cpuUsage();
  feed(PACKETS);
  const cpu = process.cpuUsage(cpu0);
  const us = cpu.user + cpu.system;
  const forwarded = stats.rtpForwarded - before.rtpForwarded;
  const dropped = (stats as { rtpDroppedUnusedLayer?: number }).rtpDroppedUnusedLayer;
  producer.close();
  return { usPerReceived: us / PACKETS, usPerForwarded: us / forwarded, forwardedPerReceived: forwarded / PACKETS, dropped: dropped === undefined ? 'n/a' : String(dropped - (before as { rtpDroppedUnusedLayer?: number }).rtpDroppedUnusedLayer!) };
}

const cycle = packets();
console.log(`simulcast fan-out, all subscribers on l; ${PACKETS} packets per run (${ONLY === '' ? 'l:m:h = 1:3:10' : `${ONLY} only`}), best of ${RUNS}; node ${process.version}`);
console.log('N\tµs/received pkt\tµs/forwarded pkt\tforwarded/received\tdropped unused');
for (const n of SUBSCRIBERS) {
  const rows = Array.from({ length: RUNS }, () => run(n, cycle));
  const best = rows.reduce((a, b) => (b.usPerReceived < a.usPerReceived ? b : a));
  console.log(`${n}\t${best.usPerReceived.toFixed(3)}\t${Number.isFinite(best.usPerForwarded) ? best.usPerForwarded.toFixed(3) : '-'}\t${best.forwardedPerReceived.toFixed(2)}\t${best.dropped} (runs: ${rows.map((r) => r.usPerReceived.toFixed(3)).join(', ')})`);
}
