// The native SRTP/SRTCP session (native/src/srtp.cc through the addon's SrtpSession) against its TypeScript
// twin SrtpContext (src/media/transport/srtp.ts): byte-identical protect output for profiles 1 and 7 (RTP
// with CSRCs, one-/two-byte header extensions, padding; RTCP compounds), round trips both ways, the ROC
// across a 65535→0 wrap on both sides, replayed/too-old, tampered, truncated and garbage packets, a dst
// that is too small, a fast-check property (random keys, headers, payloads, tampering: every byte and
// every verdict agree), and sessions in a worker thread independent of the main thread's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { loadNativeAddon, SRTP_AUTH_FAILED, SRTP_MALFORMED, SRTP_NO_ROOM, SRTP_REPLAYED, type NativeSrtpKeys, type NativeSrtpSession } from '../../src/dataplane/native-addon.js';
import { SrtpContext, SrtpError, type SrtpKeys, type SrtpProfile } from '../../src/media/transport/srtp.js';
import { deriveSessionKey } from '../../src/media/transport/srtp-kdf.js';
import { writeGcmRtcpIv } from '../../src/media/transport/srtp-iv.js';
import { buildRr, buildSdesCname, buildSr, compound } from '../../src/media/wire/rtcp.js';

const load = loadNativeAddon();
const addon = load.addon;
const PROFILES: SrtpProfile[] = [1, 7];

test('the native addon loaded (these tests need it: npm run build:native)', () => {
  assert.ok(addon, `not loaded from ${load.path}: ${'reason' in load ? load.reason : ''}`);
});

/** One direction's session keys, derived as the server does (RFC 3711 §4.3 labels 0..5). */
function sessionKeys(profile: SrtpProfile, key: Buffer, salt: Buffer): NativeSrtpKeys {
  const saltLen = profile === 7 ? 12 : 14;
  const k: NativeSrtpKeys = {
    rtpKey: deriveSessionKey(key, salt, 0, 16),
    rtpSalt: deriveSessionKey(key, salt, 2, saltLen),
    rtcpKey: deriveSessionKey(key, salt, 3, 16),
    rtcpSalt: deriveSessionKey(key, salt, 5, saltLen),
  };
  if (profile === 1) {
    k.rtpAuthKey = deriveSessionKey(key, salt, 1, 20);
    k.rtcpAuthKey = deriveSessionKey(key, salt, 4, 20);
  }
  return k;
}

function masterKeys(profile: SrtpProfile, bytes: Buffer = randomBytes(60)): SrtpKeys {
  const saltLen = profile === 7 ? 12 : 14;
  return { localMasterKey: bytes.subarray(0, 16), localMasterSalt: bytes.subarray(16, 16 + saltLen), remoteMasterKey: bytes.subarray(30, 46), remoteMasterSalt: bytes.subarray(46, 46 + saltLen) };
}

/**
 * `native` and `twin` play the same role (local keys to send, remote keys to receive); `peer` is the
 * other end (keys swapped).
 */
function setup(profile: SrtpProfile, bytes?: Buffer) {
  const m = masterKeys(profile, bytes);
  const native = new addon!.SrtpSession(profile, sessionKeys(profile, m.localMasterKey, m.localMasterSalt), sessionKeys(profile, m.remoteMasterKey, m.remoteMasterSalt));
  const swapped = { localMasterKey: m.remoteMasterKey, localMasterSalt: m.remoteMasterSalt, remoteMasterKey: m.localMasterKey, remoteMasterSalt: m.localMasterSalt };
  return { m, native, twin: new SrtpContext(profile, m), peer: new SrtpContext(profile, swapped) };
}

/** A call's outcome as bytes or an SRTP_* code, for either plane. */
type Outcome = Buffer | number;

function twinOutcome(f: () => Buffer): Outcome {
  try {
    return Buffer.from(f());
  } catch (err) {
    if (!(err instanceof SrtpError)) throw err;
    return /authentication failed/.test(err.message) ? SRTP_AUTH_FAILED : /replayed/.test(err.message) ? SRTP_REPLAYED : SRTP_MALFORMED;
  }
}

type ProtectCall = 'protectRtp' | 'protectRtcp';
type UnprotectCall = 'unprotectRtp' | 'unprotectRtcp';

function nativeProtect(s: NativeSrtpSession, call: ProtectCall, p: Buffer, room = 64): Outcome {
  const dst = Buffer.alloc(p.length + room);
  const r = s[call](p, p.length, dst, 0);
  return r < 0 ? r : dst.subarray(0, r);
}

function nativeUnprotect(s: NativeSrtpSession, call: UnprotectCall, p: Buffer): Outcome {
  const buf = Buffer.from(p);
  const r = s[call](buf, buf.length);
  return r < 0 ? r : buf.subarray(0, r);
}

function assertSame(native: Outcome, twin: Outcome, what: string): void {
  if (typeof native === 'number' || typeof twin === 'number') assert.equal(native, twin, what);
  else assert.equal(native.toString('hex'), twin.toString('hex'), what);
}

interface RtpShape {
  seq: number;
  ssrc: number;
  csrcs?: number;
  ext?: 'one' | 'two';
  padding?: number;
  payload?: Buffer;
}

function rtp(s: RtpShape): Buffer {
  const csrcs = s.csrcs ?? 0;
  let ext = Buffer.alloc(0);
  if (s.ext === 'one') ext = Buffer.from([0xbe, 0xde, 0, 2, 0x10, 0xaa, 0x21, 0xbb, 0xcc, 0, 0, 0]); // ids 1 (1 byte), 2 (2 bytes)
  if (s.ext === 'two') ext = Buffer.from([0x10, 0x00, 0, 2, 0x05, 3, 1, 2, 3, 0x07, 0, 0]); // id 5 (3 bytes), id 7 (0 bytes)
  const payload = s.payload ?? Buffer.alloc(160, s.seq & 0xff);
  const pad = s.padding ?? 0;
  const p = Buffer.alloc(12 + 4 * csrcs + ext.length + payload.length + pad);
  p[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (ext.length > 0 ? 0x10 : 0) | csrcs;
  p[1] = 96;
  p.writeUInt16BE(s.seq & 0xffff, 2);
  p.writeUInt32BE((s.seq * 3000) >>> 0, 4);
  p.writeUInt32BE(s.ssrc >>> 0, 8);
  for (let i = 0; i < csrcs; i++) p.writeUInt32BE(0x1000 + i, 12 + 4 * i);
  ext.copy(p, 12 + 4 * csrcs);
  payload.copy(p, 12 + 4 * csrcs + ext.length);
  if (pad > 0) p[p.length - 1] = pad;
  return p;
}

function rtcpCompound(ssrc: number, n: number): Buffer {
  return compound([
    buildSr({ ssrc, ntpSec: 0xe54c3a1b + n, ntpFrac: 0x80000001, rtpTimestamp: 90000 * n, packetCount: n, octetCount: 1200 * n }),
    buildRr(ssrc, [{ ssrc: 0x5eed, fractionLost: 3, cumulativeLost: n, highestSeq: 1000 + n, jitter: 7, lsr: 0, dlsr: 0 }]),
    buildSdesCname(ssrc, `cname-${n}`),
  ]);
}

const SHAPES: RtpShape[] = [
  { seq: 1, ssrc: 0x11223344 },
  { seq: 2, ssrc: 0x11223344, csrcs: 3 },
  { seq: 3, ssrc: 0x11223344, ext: 'one' },
  { seq: 4, ssrc: 0x11223344, ext: 'two', csrcs: 1 },
  { seq: 5, ssrc: 0x11223344, padding: 4 },
  { seq: 6, ssrc: 0x11223344, payload: Buffer.alloc(0) },
  { seq: 7, ssrc: 0x11223344, payload: randomBytes(1200), ext: 'one', csrcs: 15, padding: 255 },
  { seq: 40000, ssrc: 0xfffffffe, payload: randomBytes(33) },
];

for (const profile of PROFILES) {
  test(`profile ${profile}: native protect is byte-identical to the twin's (RTP shapes, RTCP compounds)`, { skip: !addon }, () => {
    const { native, twin } = setup(profile);
    for (const s of SHAPES) assertSame(nativeProtect(native, 'protectRtp', rtp(s)), twinOutcome(() => twin.protectRtp(rtp(s))), `RTP ${JSON.stringify(s.seq)}`);
    for (let n = 0; n < 5; n++) {
      const p = rtcpCompound(n % 2 === 0 ? 0xabc : 0xdef, n);
      assertSame(nativeProtect(native, 'protectRtcp', p), twinOutcome(() => twin.protectRtcp(p)), `RTCP ${n}`);
    }
  });

  test(`profile ${profile}: round trips native → twin and twin → native, into dst at an offset, in place`, { skip: !addon }, () => {
    const { native, twin, peer } = setup(profile);
    for (const s of SHAPES) {
      const plain = rtp(s);
      const dst = Buffer.alloc(plain.length + 40, 0xee);
      const r = native.protectRtp(plain, plain.length, dst, 7);
      assert.equal(r, plain.length + (profile === 7 ? 16 : 10));
      assert.ok(dst.subarray(0, 7).every((b) => b === 0xee), 'nothing written before dstOffset');
      assert.deepEqual(peer.unprotectRtp(dst.subarray(7, 7 + r)), plain);
      const back = peer.protectRtp(plain);
      assert.deepEqual(nativeUnprotect(native, 'unprotectRtp', back), plain);
    }
    for (let n = 0; n < 4; n++) {
      const plain = rtcpCompound(0x77, n);
      assert.deepEqual(peer.unprotectRtcp(nativeProtect(native, 'protectRtcp', plain) as Buffer), plain);
      assert.deepEqual(nativeUnprotect(native, 'unprotectRtcp', peer.protectRtcp(plain)), plain);
    }
    // In place (dst = src) and overlapping (dst = src at offset 4) give the twin's bytes.
    for (const offset of [0, 4]) {
      const plain = rtp({ seq: 100 + offset, ssrc: 0x42, ext: 'two', payload: randomBytes(300) });
      const expected = twin.protectRtp(plain);
      const buf = Buffer.alloc(plain.length + 64);
      plain.copy(buf);
      const r = native.protectRtp(buf, plain.length, buf, offset);
      assert.equal(buf.subarray(offset, offset + r).toString('hex'), expected.toString('hex'));
      const rtcpPlain = rtcpCompound(0x43, offset);
      const rtcpExpected = twin.protectRtcp(rtcpPlain);
      rtcpPlain.copy(buf);
      const rr = native.protectRtcp(buf, rtcpPlain.length, buf, offset);
      assert.equal(buf.subarray(offset, offset + rr).toString('hex'), rtcpExpected.toString('hex'));
    }
  });

  test(`profile ${profile}: the ROC across a 65535→0 wrap, on the send and the receive side`, { skip: !addon }, () => {
    const { native, twin, peer } = setup(profile);
    // 65534 again after the wrap is a retransmission: it keeps ROC 0 (the same bytes), and the receiver has seen it.
    const seqs = [65530, 65531, 65533, 65534, 65535, 0, 1, 2, 65534, 3, 20000, 40000, 60000, 5000, 5001]; // two wraps
    const first = new Map<number, string>();
    for (const seq of seqs) {
      const plain = rtp({ seq, ssrc: 0x5a5a, payload: Buffer.alloc(50, seq & 0xff) });
      const out = nativeProtect(native, 'protectRtp', plain) as Buffer;
      assertSame(out, twinOutcome(() => twin.protectRtp(plain)), `send seq ${seq}`);
      const fromPeer = peer.protectRtp(plain);
      if (first.has(seq)) {
        assert.equal(out.toString('hex'), first.get(seq), `retransmission of ${seq}`);
        assert.equal(nativeUnprotect(native, 'unprotectRtp', fromPeer), SRTP_REPLAYED);
        continue;
      }
      first.set(seq, out.toString('hex'));
      // Receive side: the peer's packets across the same wraps.
      assert.deepEqual(nativeUnprotect(native, 'unprotectRtp', fromPeer), plain, `receive seq ${seq}`);
    }
    // A sequence number before the start of a stream is refused on both planes.
    const { native: n2, twin: t2 } = setup(profile);
    nativeProtect(n2, 'protectRtp', rtp({ seq: 100, ssrc: 9 }));
    t2.protectRtp(rtp({ seq: 100, ssrc: 9 }));
    const before = rtp({ seq: 100 + 0x8001, ssrc: 9 });
    assert.equal(nativeProtect(n2, 'protectRtp', before), SRTP_MALFORMED);
    assert.equal(twinOutcome(() => t2.protectRtp(before)), SRTP_MALFORMED);
  });

  test(`profile ${profile}: replayed and too-old packets are SRTP_REPLAYED, only after authentication do they count`, { skip: !addon }, () => {
    const { native, peer } = setup(profile);
    const p2000 = peer.protectRtp(rtp({ seq: 2000, ssrc: 1 }));
    const p976 = peer.protectRtp(rtp({ seq: 976, ssrc: 1 })); // 2000 - 1024: just outside the window
    const p977 = peer.protectRtp(rtp({ seq: 977, ssrc: 1 })); // 2000 - 1023: the oldest inside
    assert.equal(native.unprotectRtp(Buffer.from(p2000), p2000.length), p2000.length - (profile === 7 ? 16 : 10));
    assert.equal(native.unprotectRtp(Buffer.from(p2000), p2000.length), SRTP_REPLAYED);
    assert.equal(native.unprotectRtp(Buffer.from(p976), p976.length), SRTP_REPLAYED);
    // A forged copy of 977 fails authentication and does not mark 977 as seen.
    const forged = Buffer.from(p977);
    forged[forged.length - 1] ^= 1;
    assert.equal(native.unprotectRtp(forged, forged.length), SRTP_AUTH_FAILED);
    assert.ok(native.unprotectRtp(Buffer.from(p977), p977.length) > 0);
    assert.equal(native.unprotectRtp(Buffer.from(p977), p977.length), SRTP_REPLAYED);
    const c = peer.protectRtcp(rtcpCompound(5, 1));
    assert.ok(native.unprotectRtcp(Buffer.from(c), c.length) > 0);
    assert.equal(native.unprotectRtcp(Buffer.from(c), c.length), SRTP_REPLAYED);
  });

  test(`profile ${profile}: a flipped bit anywhere is SRTP_AUTH_FAILED (the buffer left as it was)`, { skip: !addon }, () => {
    const { native, peer } = setup(profile);
    const srtp = peer.protectRtp(rtp({ seq: 10, ssrc: 2, ext: 'one', payload: randomBytes(64) }));
    const srtcp = peer.protectRtcp(rtcpCompound(2, 0));
    for (const [call, packet] of [['unprotectRtp', srtp], ['unprotectRtcp', srtcp]] as const) {
      // Bytes after the first two (version/flags) so that the header stays parseable; the RTCP E bit flips too.
      for (const at of [2, 5, 9, 17, packet.length - 20, packet.length - 5, packet.length - 1]) {
        const b = Buffer.from(packet);
        b[at] ^= 0x10;
        const before = Buffer.from(b);
        assert.equal(native[call](b, b.length), SRTP_AUTH_FAILED, `${call} bit flipped at ${at}`);
        assert.deepEqual(b, before, `${call}: a refused packet is left as it was`);
      }
      assert.ok(native[call](Buffer.from(packet), packet.length) > 0, `${call}: the intact packet still passes`);
    }
  });

  test(`profile ${profile}: truncated and garbage packets are SRTP_MALFORMED, a small dst SRTP_NO_ROOM`, { skip: !addon }, () => {
    const { native, twin } = setup(profile);
    const tag = profile === 7 ? 16 : 10;
    const srtp = setup(profile).peer.protectRtp(rtp({ seq: 1, ssrc: 3, ext: 'two', csrcs: 2 }));
    for (let len = 0; len < 12 + tag; len++) assert.equal(native.unprotectRtp(Buffer.from(srtp), len), SRTP_MALFORMED, `RTP length ${len}`);
    for (let len = 0; len < 8 + tag + 4; len++) assert.equal(native.unprotectRtcp(Buffer.alloc(64, 0x80), len), SRTP_MALFORMED, `RTCP length ${len}`);
    // The header (CSRCs + extension: 12 + 8 + 12 bytes) must fit before the tag.
    assert.equal(native.unprotectRtp(Buffer.from(srtp), 12 + 8 + 11 + tag), SRTP_MALFORMED);
    const v0 = Buffer.from(srtp);
    v0[0] &= 0x3f;
    assert.equal(native.unprotectRtp(v0, v0.length), SRTP_MALFORMED);
    assert.equal(native.unprotectRtcp(Buffer.alloc(64, 0x40), 64), SRTP_MALFORMED);
    const longExt = rtp({ seq: 1, ssrc: 3, ext: 'one' });
    longExt.writeUInt16BE(0xffff, 14);
    assert.equal(nativeProtect(native, 'protectRtp', longExt), SRTP_MALFORMED);
    assert.equal(native.protectRtp(Buffer.alloc(11, 0x80), 11, Buffer.alloc(64), 0), SRTP_MALFORMED);
    assert.equal(native.protectRtcp(Buffer.alloc(7, 0x80), 7, Buffer.alloc(64), 0), SRTP_MALFORMED);
    for (let i = 0; i < 200; i++) {
      const g = randomBytes(1 + (i % 90));
      if (i % 2 === 0) g[0] = 0x80; // a parseable header: then authentication fails
      for (const call of ['unprotectRtp', 'unprotectRtcp'] as const) {
        const r = native[call](Buffer.from(g), g.length);
        assert.ok(r === SRTP_MALFORMED || r === SRTP_AUTH_FAILED, `${call} of garbage gave ${r}`);
      }
    }
    // dst one byte too small, or an offset past its end: SRTP_NO_ROOM, and no index or ROC is used up.
    const plain = rtp({ seq: 7, ssrc: 4 });
    assert.equal(native.protectRtp(plain, plain.length, Buffer.alloc(plain.length + tag - 1), 0), SRTP_NO_ROOM);
    assert.equal(native.protectRtp(plain, plain.length, Buffer.alloc(plain.length + tag), 1), SRTP_NO_ROOM);
    assert.equal(native.protectRtp(plain, plain.length, Buffer.alloc(8), 100), SRTP_NO_ROOM);
    const rtcp = rtcpCompound(4, 0);
    assert.equal(native.protectRtcp(rtcp, rtcp.length, Buffer.alloc(rtcp.length + tag + 3), 0), SRTP_NO_ROOM);
    assertSame(nativeProtect(native, 'protectRtp', plain), twin.protectRtp(plain), 'RTP after NO_ROOM');
    assertSame(nativeProtect(native, 'protectRtcp', rtcp), twin.protectRtcp(rtcp), 'RTCP after NO_ROOM (index 0)');
    assert.throws(() => native.protectRtp(plain, plain.length + 1, Buffer.alloc(400), 0), RangeError);
    assert.throws(() => native.unprotectRtp('x' as unknown as Buffer, 1), TypeError);
  });
}

/** An SRTCP packet with E = 0 (body in the clear, authenticated) as the peer would send it, made with node:crypto. */
function srtcpUnencrypted(profile: SrtpProfile, k: NativeSrtpKeys, plain: Buffer, index: number): Buffer {
  const word = Buffer.alloc(4);
  word.writeUInt32BE(index, 0);
  if (profile === 1) {
    const tag = createHmac('sha1', k.rtcpAuthKey!).update(plain).update(word).digest().subarray(0, 10);
    return Buffer.concat([plain, word, tag]);
  }
  const iv = Buffer.alloc(12);
  writeGcmRtcpIv(iv, k.rtcpSalt, plain.readUInt32BE(4), index);
  const c = createCipheriv('aes-128-gcm', k.rtcpKey, iv);
  c.setAAD(Buffer.concat([plain, word]));
  c.final();
  return Buffer.concat([plain, c.getAuthTag(), word]);
}

test('E = 0 SRTCP (authenticated, not encrypted) unprotects on both planes alike; a flipped E bit fails', { skip: !addon }, () => {
  for (const profile of PROFILES) {
    const { m, native, twin } = setup(profile);
    const peerKeys = sessionKeys(profile, m.remoteMasterKey, m.remoteMasterSalt);
    const plain = rtcpCompound(0x99, 3);
    const e0 = srtcpUnencrypted(profile, peerKeys, plain, 17);
    assert.deepEqual(nativeUnprotect(native, 'unprotectRtcp', e0), plain, `profile ${profile} native`);
    assert.deepEqual(twin.unprotectRtcp(e0), plain, `profile ${profile} twin`);
    const e1 = srtcpUnencrypted(profile, peerKeys, plain, 18);
    e1[profile === 7 ? e1.length - 4 : e1.length - 14] |= 0x80;
    assertSame(nativeUnprotect(native, 'unprotectRtcp', e1), SRTP_AUTH_FAILED, `profile ${profile} E bit set afterwards`);
    assertSame(twinOutcome(() => twin.unprotectRtcp(e1)), SRTP_AUTH_FAILED, `profile ${profile} twin, E bit set afterwards`);
  }
});

test('bad profiles and keys throw at construction (not packet content: the only throws)', { skip: !addon }, () => {
  const k = sessionKeys(1, randomBytes(16), randomBytes(14));
  assert.throws(() => new addon!.SrtpSession(3, k, k), /unsupported SRTP profile/);
  assert.throws(() => new addon!.SrtpSession(7, k, k), /salts must be 12 bytes/);
  assert.throws(() => new addon!.SrtpSession(1, { ...k, rtpKey: Buffer.alloc(15) }, k), /16 bytes/);
  assert.throws(() => new addon!.SrtpSession(1, k, { ...k, rtcpAuthKey: undefined }), /auth keys must be 20 bytes/);
  assert.throws(() => new addon!.SrtpSession(1, k, { ...k, rtpSalt: 'salt' as unknown as Buffer }), TypeError);
  assert.ok(new addon!.SrtpSession(1, k, k));
});

/** Random RTP-ish packets: mostly well-formed with every header feature, sometimes garbage. */
const rtpArb = fc.record({
  seq: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 65500, max: 65535 }), fc.integer({ min: 0, max: 40 })),
  ssrc: fc.constantFrom(1, 2, 0xffffffff),
  csrcs: fc.integer({ min: 0, max: 15 }),
  ext: fc.constantFrom(undefined, 'one', 'two'),
  padding: fc.integer({ min: 0, max: 3 }),
  payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
}) as fc.Arbitrary<RtpShape>;

const opArb = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), shape: rtpArb }),
  fc.record({ kind: fc.constant('recv' as const), shape: rtpArb, tamper: fc.integer({ min: -8, max: 400 }), replay: fc.boolean() }),
  fc.record({ kind: fc.constant('rtcp' as const), ssrc: fc.constantFrom(1, 2), n: fc.integer({ min: 0, max: 1000 }), tamper: fc.integer({ min: -8, max: 100 }) }),
  fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)) }),
);

test('property: native and twin agree on every byte and every verdict (random keys, headers, payloads, tampering)', { skip: !addon }, () => {
  fc.assert(
    fc.property(fc.constantFrom<SrtpProfile>(1, 7), fc.uint8Array({ minLength: 60, maxLength: 60 }), fc.array(opArb, { maxLength: 40 }), (profile, key, ops) => {
      const { native, twin, peer } = setup(profile, Buffer.from(key));
      const sent: Buffer[] = [];
      for (const op of ops) {
        if (op.kind === 'send') {
          const p = rtp(op.shape);
          assertSame(nativeProtect(native, 'protectRtp', p), twinOutcome(() => twin.protectRtp(p)), 'protectRtp');
        } else if (op.kind === 'recv') {
          let p = twinOutcome(() => peer.protectRtp(rtp(op.shape)));
          if (typeof p === 'number') continue;
          if (op.replay && sent.length > 0) p = sent[(op.tamper & 0xff) % sent.length] ?? p;
          else sent.push(p);
          const q = Buffer.from(p);
          if (op.tamper >= 0 && op.tamper < q.length * 8 && op.tamper % 3 === 0) q[op.tamper >>> 3] ^= 1 << (op.tamper & 7);
          const cut = op.tamper % 5 === 1 ? q.subarray(0, Math.max(0, q.length - (op.tamper % 40))) : q;
          assertSame(nativeUnprotect(native, 'unprotectRtp', cut), twinOutcome(() => twin.unprotectRtp(Buffer.from(cut))), 'unprotectRtp');
        } else if (op.kind === 'rtcp') {
          const plain = rtcpCompound(op.ssrc, op.n);
          assertSame(nativeProtect(native, 'protectRtcp', plain), twinOutcome(() => twin.protectRtcp(plain)), 'protectRtcp');
          const q = Buffer.from(peer.protectRtcp(plain));
          if (op.tamper >= 0 && op.tamper < q.length * 8 && op.tamper % 2 === 0) q[op.tamper >>> 3] ^= 1 << (op.tamper & 7);
          assertSame(nativeUnprotect(native, 'unprotectRtcp', q), twinOutcome(() => twin.unprotectRtcp(Buffer.from(q))), 'unprotectRtcp');
        } else {
          assertSame(nativeUnprotect(native, 'unprotectRtp', op.bytes), twinOutcome(() => twin.unprotectRtp(Buffer.from(op.bytes))), 'garbage RTP');
          assertSame(nativeUnprotect(native, 'unprotectRtcp', op.bytes), twinOutcome(() => twin.unprotectRtcp(Buffer.from(op.bytes))), 'garbage RTCP');
          assertSame(nativeProtect(native, 'protectRtp', op.bytes), twinOutcome(() => twin.protectRtp(Buffer.from(op.bytes))), 'garbage protectRtp');
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('a new SSRC beyond the cap (1024 per direction and kind) is refused alike on both planes', { skip: !addon }, () => {
  const { native, twin, peer } = setup(1);
  for (let ssrc = 1; ssrc <= 1024; ssrc++) {
    assert.ok(nativeProtect(native, 'protectRtp', rtp({ seq: 1, ssrc, payload: Buffer.alloc(1) })) instanceof Buffer);
    twin.protectRtp(rtp({ seq: 1, ssrc, payload: Buffer.alloc(1) }));
  }
  const extra = rtp({ seq: 1, ssrc: 5000 });
  assert.equal(nativeProtect(native, 'protectRtp', extra), SRTP_MALFORMED);
  assert.equal(twinOutcome(() => twin.protectRtp(extra)), SRTP_MALFORMED);
  assertSame(nativeProtect(native, 'protectRtp', rtp({ seq: 2, ssrc: 7 })), twin.protectRtp(rtp({ seq: 2, ssrc: 7 })), 'a known SSRC still works');
  assert.ok(nativeUnprotect(native, 'unprotectRtp', peer.protectRtp(extra)) instanceof Buffer, 'the receive side has its own cap');
});

test('a worker thread loads its own addon instance: its sessions are independent of the main thread\'s', { skip: !addon }, async () => {
  const profile: SrtpProfile = 7;
  const m = masterKeys(profile);
  const tx = sessionKeys(profile, m.localMasterKey, m.localMasterSalt);
  const rx = sessionKeys(profile, m.remoteMasterKey, m.remoteMasterSalt);
  const twin = new SrtpContext(profile, m);
  const count = 300;
  const expected = Array.from({ length: count }, (_, n) => twin.protectRtcp(rtcpCompound(0x1234, n)).toString('hex'));
  const packets = Array.from({ length: count }, (_, n) => rtcpCompound(0x1234, n));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const addon = require(workerData.path);
     const s = new addon.SrtpSession(7, workerData.tx, workerData.rx);
     parentPort.postMessage('ready');
     const out = [];
     for (const p of workerData.packets) {
       const b = Buffer.from(p);
       const dst = Buffer.alloc(b.length + 64);
       const r = s.protectRtcp(b, b.length, dst, 0);
       out.push(r < 0 ? String(r) : dst.subarray(0, r).toString('hex'));
     }
     parentPort.postMessage(out);`,
    { eval: true, workerData: { path: load.path, tx, rx, packets } },
  );
  const failed = once(worker, 'error').then(([e]) => Promise.reject(e as Error));
  const [ready] = (await Promise.race([once(worker, 'message'), failed])) as [string];
  assert.equal(ready, 'ready');
  const result = Promise.race([once(worker, 'message'), failed]);
  // The main thread protects the same stream at the same time with its own session.
  const native = new addon!.SrtpSession(profile, tx, rx);
  const mine = packets.map((p) => (nativeProtect(native, 'protectRtcp', p) as Buffer).toString('hex'));
  const [theirs] = (await result) as [string[]];
  await worker.terminate();
  assert.deepEqual(mine, expected);
  assert.deepEqual(theirs, expected);
});
