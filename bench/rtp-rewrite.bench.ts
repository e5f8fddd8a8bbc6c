// Measures the forwarding hot path: parseRtpHeader (reusing its output object) + rewriteRtpInto on a
// 1200-byte video packet with a one-byte extension block (mid, abs-send-time, transport-cc, and one
// element dropped), 1e6 iterations after a warm-up. Prints ns per iteration.
// Run: node --import tsx bench/rtp-rewrite.bench.ts
import { parseRtpHeader, rewriteRtpInto, type RtpHeader } from '../src/media/wire/rtp.js';

const ITERATIONS = 1_000_000;
const SIZE = 1200;

function makePacket(): Buffer {
  const ext = Buffer.from([
    0x10, 0x30, // id 1 (mid) "0"
    0x22, 0x12, 0x34, 0x56, // id 2 abs-send-time
    0x31, 0x00, 0x2a, // id 3 transport-wide seq
    0x40, 0x85, // id 4 audio-level-ish element, dropped by the map
    0x00, // padding
  ]);
  const b = Buffer.alloc(SIZE);
  b[0] = 0x90; // V=2, X=1
  b[1] = 0x80 | 96;
  b.writeUInt16BE(4321, 2);
  b.writeUInt32BE(90000, 4);
  b.writeUInt32BE(0x11223344, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(ext.length / 4, 14);
  ext.copy(b, 16);
  for (let i = 16 + ext.length; i < SIZE; i++) b[i] = i & 0xff;
  return b;
}

const src = makePacket();
const h: RtpHeader = {
  marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, headerLength: 0, payloadOffset: 0,
  payloadLength: 0, hasExtension: false, extOffset: 0, extLength: 0, extProfile: 0,
};
const params = { ssrc: 0xabcdef01, payloadType: 102, sequenceNumber: 0, timestamp: 0, extensionMap: new Map([[1, 4], [2, 3], [3, 5]]) };

let sink = 0;
const out = Buffer.allocUnsafe(65536); // as the consumer's scratch
function run(n: number): void {
  for (let i = 0; i < n; i++) {
    if (parseRtpHeader(src, h) === undefined) throw new Error('parse failed');
    params.sequenceNumber = (h.sequenceNumber + i) & 0xffff;
    params.timestamp = (h.timestamp + i * 3000) >>> 0;
    sink ^= rewriteRtpInto(src, h, params, out);
  }
}

run(50_000); // warm-up (JIT)
const t0 = process.hrtime.bigint();
run(ITERATIONS);
const ns = Number(process.hrtime.bigint() - t0) / ITERATIONS;
console.log(`parseRtpHeader+rewriteRtpInto, ${SIZE}-byte packet, ${ITERATIONS} iterations: ${ns.toFixed(1)} ns/op (sink ${sink})`);
