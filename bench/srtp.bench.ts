// SRTP protect cost per packet: Shoal's src/media/transport/srtp.ts against werift's SrtpSession (the way
// webrtc-transport.ts used it: RtpPacket.deSerialize + SrtpSession.encrypt), both profiles, on a
// 1200-byte RTP packet with a one-byte extension block; the sequence number advances every packet.
// Also unprotect and SRTCP protect of ours for reference. After a warm-up, 12 interleaved rounds of
// 20000 calls per case; prints the best round as ns per packet of wall time and of process CPU time
// (user+system; includes GC), so a busy machine disturbs it less.
// Run: node --import tsx bench/srtp.bench.ts [--iterations 20000]
import { randomBytes } from 'node:crypto';
import { RtpPacket, SrtpSession } from 'werift';
import { SrtpContext, type SrtpKeys, type SrtpProfile } from '../src/media/transport/srtp.js';
import { buildRemb, buildSr, compound } from '../src/media/wire/rtcp.js';
import { extensionRtpPacket } from './lib/srtp-packet.js';

const args = process.argv.slice(2);
const ITERATIONS = args[0] === '--iterations' ? Number(args[1]) : 20_000;
const ROUNDS = 12;
const SIZE = 1200;

function keysFor(profile: SrtpProfile): SrtpKeys {
  const salt = profile === 7 ? 12 : 14;
  return { localMasterKey: randomBytes(16), localMasterSalt: randomBytes(salt), remoteMasterKey: randomBytes(16), remoteMasterSalt: randomBytes(salt) };
}

let sink = 0;

interface Case {
  profile: string;
  op: string;
  fn: (i: number) => Buffer;
  i: number;
  wall: number;
  cpu: number;
}
const cases: Case[] = [];
const add = (profile: string, op: string, fn: (i: number) => Buffer) => cases.push({ profile, op, fn, i: 0, wall: Infinity, cpu: Infinity });

for (const profile of [7, 1] as const) {
  const pname = profile === 7 ? 'AEAD_AES_128_GCM' : 'AES128_CM_HMAC_SHA1_80';
  const keys = keysFor(profile);
  const packet = extensionRtpPacket(SIZE);

  const ours = new SrtpContext(profile, keys);
  add(pname, 'ours protectRtp', (i) => {
    packet.writeUInt16BE(i & 0xffff, 2);
    return ours.protectRtp(packet);
  });

  const werift = new SrtpSession({ keys, profile });
  add(pname, 'werift deSerialize+encrypt', (i) => {
    packet.writeUInt16BE(i & 0xffff, 2);
    const p = RtpPacket.deSerialize(packet);
    return werift.encrypt(p.payload, p.header);
  });

  // Unprotect: a pre-protected ring of packets; the receiver is re-created every lap (replay window).
  const sender = new SrtpContext(profile, keys);
  const ring: Buffer[] = [];
  for (let s = 0; s < 4096; s++) {
    packet.writeUInt16BE(s, 2);
    ring.push(sender.protectRtp(packet));
  }
  const swapped = { localMasterKey: keys.remoteMasterKey, localMasterSalt: keys.remoteMasterSalt, remoteMasterKey: keys.localMasterKey, remoteMasterSalt: keys.localMasterSalt };
  let receiver = new SrtpContext(profile, swapped);
  add(pname, 'ours unprotectRtp', (i) => {
    const k = i & 4095;
    if (k === 0) receiver = new SrtpContext(profile, swapped);
    return receiver.unprotectRtp(ring[k]);
  });

  const rtcp = compound([buildSr({ ssrc: 1, ntpSec: 1, ntpFrac: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 }), buildRemb(1, 1e6, [2])]);
  add(pname, `ours protectRtcp (${rtcp.length} B)`, () => ours.protectRtcp(rtcp));
}

// Warm-up, then ROUNDS rounds in which every case runs one batch in turn (interleaved, so a burst of
// load from elsewhere does not hit one case only); the best batch counts.
for (const c of cases) for (let w = 0; w < 20_000; w++) sink += c.fn(c.i++).length;
for (let r = 0; r < ROUNDS; r++) {
  for (const c of cases) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let n = 0; n < ITERATIONS; n++) sink += c.fn(c.i++).length;
    const t = Number(process.hrtime.bigint() - t0) / ITERATIONS;
    const u = process.cpuUsage(c0);
    c.wall = Math.min(c.wall, t);
    c.cpu = Math.min(c.cpu, ((u.user + u.system) * 1000) / ITERATIONS);
  }
}
const rows: Array<[string, string, { wall: number; cpu: number }]> = cases.map((c) => [c.profile, c.op, c]);

console.log(`SRTP per-packet cost, ${SIZE}-byte RTP packet; best of ${ROUNDS} × ${ITERATIONS} (node ${process.version}, ${process.platform}/${process.arch})`);
console.log('| profile                | operation                     | ns/pkt wall | ns/pkt CPU |');
console.log('|------------------------|-------------------------------|-------------|------------|');
for (const [p, op, r] of rows) {
  console.log(`| ${p.padEnd(22)} | ${op.padEnd(29)} | ${r.wall.toFixed(0).padStart(11)} | ${r.cpu.toFixed(0).padStart(10)} |`);
}
for (const profile of ['AEAD_AES_128_GCM', 'AES128_CM_HMAC_SHA1_80']) {
  const o = rows.find((r) => r[0] === profile && r[1] === 'ours protectRtp')![2];
  const w = rows.find((r) => r[0] === profile && r[1].startsWith('werift'))![2];
  console.log(`${profile}: protectRtp ours ${o.cpu.toFixed(0)} ns vs werift ${w.cpu.toFixed(0)} ns CPU (${(w.cpu / o.cpu).toFixed(1)}× faster)`);
}
if (sink === 42) console.log('');
