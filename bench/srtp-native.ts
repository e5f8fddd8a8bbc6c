// SRTP cost per packet, native (the addon's SrtpSession, native/src/srtp.cc) against the TypeScript twin
// (src/media/transport/srtp.ts): protect and unprotect of a 1200-byte RTP packet with a one-byte
// extension block, profiles 1 (AES-CM + HMAC-SHA1) and 7 (AES-GCM), the sequence number advancing every
// packet. After a warm-up, interleaved rounds of N calls per case; prints the best round as ns per packet
// of wall time and of process CPU time (user+system, includes GC). Native unprotect works in place, so it
// runs on copies made before the timed loop; the twin's allocates its output (inside the timing).
// Run: node --import tsx bench/srtp-native.ts [--iterations 20000]
import { randomBytes } from 'node:crypto';
import { loadNativeAddon } from '../src/dataplane/native-addon.js';
import { SrtpContext, type SrtpKeys, type SrtpProfile } from '../src/media/transport/srtp.js';
import { deriveSessionKeys } from '../src/media/transport/srtp-kdf.js';
import { extensionRtpPacket } from './lib/srtp-packet.js';

const args = process.argv.slice(2);
const ITERATIONS = args[0] === '--iterations' ? Number(args[1]) : 20_000;
const ROUNDS = 9;
const SIZE = 1200;

const load = loadNativeAddon();
if (!load.addon) {
  console.error(`native addon not loaded (${load.reason})`);
  process.exit(1);
}
const addon = load.addon;

interface Case {
  name: string;
  /** Prepares one round (not timed), returns the timed body. */
  prepare: () => () => void;
}

function cases(profile: SrtpProfile): Case[] {
  const saltLen = profile === 7 ? 12 : 14;
  const keys: SrtpKeys = { localMasterKey: randomBytes(16), localMasterSalt: randomBytes(saltLen), remoteMasterKey: randomBytes(16), remoteMasterSalt: randomBytes(saltLen) };
  const swapped: SrtpKeys = { localMasterKey: keys.remoteMasterKey, localMasterSalt: keys.remoteMasterSalt, remoteMasterKey: keys.localMasterKey, remoteMasterSalt: keys.localMasterSalt };
  const tx = deriveSessionKeys(profile === 7, keys.localMasterKey, keys.localMasterSalt);
  const rx = deriveSessionKeys(profile === 7, keys.remoteMasterKey, keys.remoteMasterSalt);
  const plain = extensionRtpPacket(SIZE);
  const native = new addon.SrtpSession(profile, tx, rx);
  const twin = new SrtpContext(profile, keys);
  const dst = Buffer.alloc(SIZE + 64);
  let seq = 0;
  // What the receivers get: one round's worth of the peer's packets (sequence numbers 0..N-1).
  const peer = new SrtpContext(profile, swapped);
  const wire: Buffer[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    plain.writeUInt16BE(i & 0xffff, 2);
    wire.push(Buffer.from(peer.protectRtp(plain)));
  }
  return [
    {
      name: `profile ${profile} protect   native`,
      prepare: () => () => {
        for (let i = 0; i < ITERATIONS; i++) {
          plain[3] = seq & 0xff;
          plain[2] = (seq >>> 8) & 0xff;
          seq = (seq + 1) & 0xffff;
          if (native.protectRtp(plain, SIZE, dst, 0) < 0) throw new Error('protect failed');
        }
      },
    },
    {
      name: `profile ${profile} protect   twin`,
      prepare: () => () => {
        for (let i = 0; i < ITERATIONS; i++) {
          plain[3] = seq & 0xff;
          plain[2] = (seq >>> 8) & 0xff;
          seq = (seq + 1) & 0xffff;
          twin.protectRtp(plain);
        }
      },
    },
    {
      name: `profile ${profile} unprotect native`,
      prepare: () => {
        const receiver = new addon.SrtpSession(profile, tx, rx);
        const copies = wire.map((b) => Buffer.from(b));
        return () => {
          for (let i = 0; i < ITERATIONS; i++) if (receiver.unprotectRtp(copies[i], copies[i].length) < 0) throw new Error('unprotect failed');
        };
      },
    },
    {
      name: `profile ${profile} unprotect twin`,
      prepare: () => {
        const receiver = new SrtpContext(profile, keys);
        return () => {
          for (let i = 0; i < ITERATIONS; i++) receiver.unprotectRtp(wire[i]);
        };
      },
    },
  ];
}

const all = [...cases(1), ...cases(7)];
const best = new Map<string, { wall: number; cpu: number }>();
for (let round = -1; round < ROUNDS; round++) {
  for (const c of all) {
    const body = c.prepare();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    body();
    const wall = Number(process.hrtime.bigint() - t0) / ITERATIONS;
    const du = process.cpuUsage(cpu0);
    const cpu = ((du.user + du.system) * 1000) / ITERATIONS;
    if (round < 0) continue; // warm-up
    const b = best.get(c.name);
    best.set(c.name, { wall: Math.min(b?.wall ?? Infinity, wall), cpu: Math.min(b?.cpu ?? Infinity, cpu) });
  }
}
console.log(`SRTP, ${SIZE}-byte RTP packet, best of ${ROUNDS} rounds × ${ITERATIONS} (Node ${process.version})`);
for (const [name, r] of best) console.log(`${name.padEnd(30)} ${r.wall.toFixed(0).padStart(6)} ns/packet wall ${r.cpu.toFixed(0).padStart(6)} ns/packet CPU`);
