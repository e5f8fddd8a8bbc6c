// Measures one forwarded packet on the native plane's send path, in-process, both ways it has been done:
//   js rewrite + sendRtp   rewriteRtpInto into a scratch buffer, then SrtpSession.sendRtp (until issue 14's
//                          native rewrite: what consumer.ts did per packet)
//   forwardRtp             the consumer's RtpRewriter: rewrite, protect and queue in one addon call
// and both again for a consumer with an RTX stream (before: plus a Buffer copy of each rewritten plaintext,
// kept in a 512-entry ring as the retransmission buffer does; after: the addon keeps it in its history),
// plus the bare call cost of forwardRtp on a packet it refuses (argument checks and the unwraps, no work).
// A 1200-byte VP8-like packet with a one-byte extension block (two ids kept, one dropped, transport-cc
// written), AES-GCM; the port's queue is flushed to a loopback socket nobody reads every 32 packets, as a
// receive batch would. Prints ns per packet (best of 5 rounds of 200k).
// Run: node --import tsx bench/forward-native.ts
import dgram from 'node:dgram';
import { loadNativeAddon, UDP_MAX_BATCH, UDP_META_WORDS } from '../src/dataplane/native-addon.js';
import { nativeIdEntry, nativeIdTable } from '../src/dataplane/native-rewriter.js';
import { deriveSessionKeys } from '../src/media/transport/srtp-kdf.js';
import { parseRtpHeader, rewriteRtpInto, type RewriteParams } from '../src/media/wire/rtp.js';

const { addon } = loadNativeAddon();
if (!addon) throw new Error('the native addon is not built (npm run build:native)');

const ROUNDS = 5;
const PER_ROUND = 200_000;

function packet(): Buffer {
  const ext = Buffer.from([0x10, 0x30, 0x22, 0x12, 0x34, 0x56, 0x40, 0x85]);
  const b = Buffer.alloc(1200, 7);
  b[0] = 0x90;
  b[1] = 96;
  b.writeUInt32BE(0x11223344, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(ext.length / 4, 14);
  ext.copy(b, 16);
  return b;
}

const sink = dgram.createSocket('udp4');
await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
const sinkPort = sink.address().port;
const port = new addon.UdpPort(() => {}, new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS));
port.bind('127.0.0.1', 0, 1 << 20);
const key = Buffer.alloc(16, 1);
const salt = Buffer.alloc(12, 2);
const session = new addon.SrtpSession(7, deriveSessionKeys(true, key, salt), deriveSessionKeys(true, key, salt));
const src = packet();
const map = new Map([[1, 4], [2, 3]]);
const TCC = 5;
const LOOPBACK = 0x7f000001;
const rewriter = new addon.RtpRewriter(0xabcdef01, 102, nativeIdTable(map), nativeIdEntry(TCC), null, 0, 0);
const rtxRewriter = new addon.RtpRewriter(0xabcdef02, 102, nativeIdTable(map), nativeIdEntry(TCC), 0xabcdef03, 103, TCC);
const kept: Buffer[] = new Array<Buffer>(512);
const scratch = Buffer.allocUnsafe(65536);
const params: RewriteParams = { ssrc: 0xabcdef01, payloadType: 102, sequenceNumber: 0, timestamp: 0, extensionMap: map, transportSeqExtId: TCC, transportSeq: 0 };
const refused = Buffer.alloc(4);
let seq = 0;
let check = 0;

const ways: Record<string, () => void> = {
  'js rewrite + sendRtp': () => {
    const h = parseRtpHeader(src)!;
    seq = (seq + 1) & 0xffff;
    params.sequenceNumber = seq;
    params.timestamp = seq * 3000;
    params.transportSeq = seq;
    const n = rewriteRtpInto(src, h, params, scratch);
    check += session.sendRtp(port, scratch, n, LOOPBACK, sinkPort, 0x4001);
  },
  forwardRtp: () => {
    const h = parseRtpHeader(src)!; // the consumer has it parsed anyway
    seq = (seq + 1) & 0xffff;
    check += session.forwardRtp(port, rewriter, src, (h.sequenceNumber + seq) & 0xffff, seq * 3000, seq, LOOPBACK, sinkPort, 0x4001);
  },
  'rtx: js rewrite + sendRtp + copy': () => {
    const h = parseRtpHeader(src)!;
    seq = (seq + 1) & 0xffff;
    params.sequenceNumber = seq;
    params.timestamp = seq * 3000;
    params.transportSeq = seq;
    const n = rewriteRtpInto(src, h, params, scratch);
    check += session.sendRtp(port, scratch, n, LOOPBACK, sinkPort, 0x4001);
    kept[seq & 511] = Buffer.from(scratch.subarray(0, n));
  },
  'rtx: forwardRtp (kept natively)': () => {
    const h = parseRtpHeader(src)!;
    seq = (seq + 1) & 0xffff;
    check += session.forwardRtp(port, rtxRewriter, src, (h.sequenceNumber + seq) & 0xffff, seq * 3000, seq, LOOPBACK, sinkPort, 0x4001);
  },
  'forwardRtp refused (call cost)': () => {
    check += session.forwardRtp(port, rewriter, refused, 1, 2, 3, LOOPBACK, sinkPort, 0x4001);
  },
};

for (const [name, step] of Object.entries(ways)) {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PER_ROUND; i++) {
      step();
      if ((i & 31) === 31) port.flush();
    }
    port.flush();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / PER_ROUND);
  }
  console.log(`${name.padEnd(32)} ${best.toFixed(0)} ns/packet`);
}
console.log(`(check ${check})`);
port.close();
sink.close();
