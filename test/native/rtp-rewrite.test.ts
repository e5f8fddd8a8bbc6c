// The native per-subscriber rewrite (native/src/rtp_rewrite.cc through the addon's RtpRewriter) against its
// TypeScript twin rewriteRtpInto (src/media/wire/rtp.ts): a fast-check property over random packets —
// CSRCs, one-/two-byte and unreadable extension profiles, lying length fields, truncation, padding, bad
// versions — random extension maps (ids dropped, renumbered, out of range, fractional) and transport-cc
// ids, and output buffers too short: same result, same bytes. Then the fused SrtpSession.forwardRtp on a
// real UDP socket: its datagram is ChannelData around exactly the twin's SRTP of the JS-rewritten packet
// (it decrypts to that packet), the plaintext copy is that packet, a resend is the same datagram, and
// refused/unsent packets give the documented codes. The RTX side: the native packetizer == writeRtxPacket
// (property), and resendRtx of a kept packet decrypts to writeRtxPacket of the JS-rewritten packet.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { FORWARD_REFUSED, loadNativeAddon, UDP_MAX_BATCH, UDP_META_WORDS, type NativeUdpPort } from '../../src/dataplane/native-addon.js';
import { nativeIdEntry, nativeIdTable } from '../../src/dataplane/native-rewriter.js';
import { deriveSessionKeys } from '../../src/media/transport/srtp-kdf.js';
import { SrtpContext, type SrtpKeys, type SrtpProfile } from '../../src/media/transport/srtp.js';
import { writeRtxPacket } from '../../src/media/sfu/rtx.js';
import { parseRtpHeader, rewriteRtpInto } from '../../src/media/wire/rtp.js';
import { collect, dgramPeer, LOOPBACK4 } from './udp-test-helpers.js';

const { addon } = loadNativeAddon();

interface Case {
  packet: Buffer;
  map: Map<number, number> | undefined;
  tccId: number | undefined;
  ssrc: number;
  pt: number;
  seq: number;
  ts: number;
  tseq: number;
  outSize: number;
}

/** Extension elements in the one-byte (form 1) or two-byte (form 2) encoding, with padding bytes and junk between. */
function elements(form: 1 | 2): fc.Arbitrary<Buffer> {
  const element = form === 1
    ? fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 16 })).chain(([id, l]) => fc.uint8Array({ minLength: l, maxLength: l }).map((d) => Buffer.concat([Buffer.from([(id << 4) | (l - 1)]), d])))
    : fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 40 })).chain(([id, l]) => fc.uint8Array({ minLength: l, maxLength: l }).map((d) => Buffer.concat([Buffer.from([id, l]), d])));
  const pad = fc.integer({ min: 1, max: 3 }).map((n) => Buffer.alloc(n));
  const junk = fc.uint8Array({ minLength: 1, maxLength: 4 }).map((d) => Buffer.from(d));
  return fc.array(fc.oneof({ weight: 8, arbitrary: element }, { weight: 2, arbitrary: pad }, { weight: 1, arbitrary: junk }), { maxLength: 12 }).map((parts) => Buffer.concat(parts));
}

const profile = fc.oneof(fc.constant(0xbede), fc.integer({ min: 0x1000, max: 0x100f }), fc.integer({ min: 0, max: 0xffff }));

const packetArb: fc.Arbitrary<Buffer> = fc
  .record({
    b0low: fc.integer({ min: 0, max: 0x3f }),
    version: fc.oneof({ weight: 12, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) }),
    b1: fc.integer({ min: 0, max: 255 }),
    fixed: fc.uint8Array({ minLength: 10, maxLength: 10 }),
    csrcs: fc.uint8Array({ maxLength: 64 }),
    ccLies: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    ext: fc.option(fc.record({ profile, form: fc.constantFrom<1 | 2>(1, 2) }).chain(({ profile: p, form }) => elements(form).map((data) => ({ p, data }))), { nil: undefined }),
    lie: fc.oneof({ weight: 8, arbitrary: fc.constant<{ by?: number; words?: number }>({}) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }).map((by): { by?: number; words?: number } => ({ by })) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((words): { by?: number; words?: number } => ({ words })) }),
    payload: fc.uint8Array({ maxLength: 300 }),
    padding: fc.option(fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }), { nil: undefined }),
    truncate: fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.nat() }),
  })
  .map((r) => {
    const cc = Math.min(r.b0low & 0x0f, r.csrcs.length >> 2);
    const csrc = Buffer.from(r.csrcs.subarray(0, cc * 4));
    let ext = Buffer.alloc(0);
    let x = 0;
    if (r.ext) {
      x = 0x10;
      const data = Buffer.concat([r.ext.data, Buffer.alloc((4 - (r.ext.data.length % 4)) % 4)]);
      const words = r.lie.words ?? Math.max(0, data.length / 4 + (r.lie.by ?? 0));
      ext = Buffer.concat([Buffer.from([r.ext.p >> 8, r.ext.p & 0xff, (words >> 8) & 0xff, words & 0xff]), data]);
    }
    const pad = r.padding === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.alloc(Math.max(0, Math.min(r.padding, 40) - 1)), Buffer.from([r.padding])]);
    const b0 = (r.version << 6) | (r.padding === undefined ? 0 : 0x20) | x | (r.ccLies ? r.b0low & 0x0f : cc); // a CC above the CSRCs given lies
    const p = Buffer.concat([Buffer.from([b0, r.b1]), Buffer.from(r.fixed), csrc, ext, Buffer.from(r.payload), pad]);
    return r.truncate === undefined ? p : p.subarray(0, r.truncate % (p.length + 1));
  });

const idArb = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 14 }) }, { weight: 3, arbitrary: fc.integer({ min: 0, max: 260 }) }, { weight: 1, arbitrary: fc.constantFrom(14.5, 3.5, -1, 255.5, Number.NaN) });

const caseArb: fc.Arbitrary<Case> = fc.record({
  packet: packetArb,
  map: fc.option(fc.array(fc.tuple(fc.oneof(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 0, max: 256 })), idArb), { maxLength: 10 }).map((pairs) => new Map(pairs)), { nil: undefined }),
  tccId: fc.option(idArb, { nil: undefined }),
  ssrc: fc.integer({ min: 0, max: 0xffffffff }),
  pt: fc.integer({ min: 0, max: 127 }),
  seq: fc.integer({ min: 0, max: 0xffff }),
  ts: fc.integer({ min: 0, max: 0xffffffff }),
  tseq: fc.integer({ min: 0, max: 0xffff }),
  outSize: fc.oneof({ weight: 9, arbitrary: fc.constant(65536) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 400 }) }),
});

/** rewriteRtpInto's result and bytes for a case (−1 when the packet does not parse: the consumer never rewrites it). */
function twin(c: Case): { n: number; bytes: Buffer } {
  const out = Buffer.alloc(c.outSize);
  const h = parseRtpHeader(c.packet);
  if (!h) return { n: -1, bytes: Buffer.alloc(0) };
  const n = rewriteRtpInto(c.packet, h, { ssrc: c.ssrc, payloadType: c.pt, sequenceNumber: c.seq, timestamp: c.ts, extensionMap: c.map, transportSeqExtId: c.tccId, transportSeq: c.tseq }, out);
  return { n, bytes: n < 0 ? Buffer.alloc(0) : Buffer.from(out.subarray(0, n)) };
}

function native(c: Case): { n: number; bytes: Buffer } {
  const rw = new addon!.RtpRewriter(c.ssrc, c.pt, nativeIdTable(c.map), nativeIdEntry(c.tccId), null, 0, 0);
  const out = Buffer.alloc(c.outSize, 0xee);
  const n = rw.rewrite(c.packet, c.packet.length, c.seq, c.ts, c.tseq, out);
  return { n, bytes: n < 0 ? Buffer.alloc(0) : Buffer.from(out.subarray(0, n)) };
}

test('the native addon loaded (these tests need it: npm run build:native)', () => {
  assert.ok(addon);
});

test('native rewrite == rewriteRtpInto: same result and bytes for random packets, maps and ids', { skip: !addon }, () => {
  let rewritten = 0;
  fc.assert(
    fc.property(caseArb, (c) => {
      const t = twin(c);
      const n = native(c);
      assert.equal(n.n, t.n, 'result');
      assert.deepEqual(n.bytes, t.bytes, 'bytes');
      if (t.n >= 0) rewritten++;
    }),
    { numRuns: 4000 },
  );
  assert.ok(rewritten > 1000, `most cases must be rewritable, not refused (${rewritten})`);
});

test('examples: a one-byte block renumbered with a transport-cc element, a two-byte one, a dropped block', { skip: !addon }, () => {
  const p = Buffer.from([0x90, 96, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xbe, 0xde, 0, 1, 0x10, 0xaa, 0x20, 0xbb, 1, 2, 3]);
  const base = { packet: p, ssrc: 0x11223344, pt: 111, seq: 7, ts: 9, tseq: 0x0102, outSize: 100 };
  const cases: Case[] = [
    { ...base, map: new Map([[1, 5]]), tccId: 3 },
    { ...base, map: new Map([[1, 20], [2, 2]]), tccId: 3 },
    { ...base, map: undefined, tccId: undefined },
    { ...base, map: new Map([[2, 4]]), tccId: 200 },
  ];
  for (const c of cases) assert.deepEqual(native(c), twin(c));
  const one = native(cases[0]!);
  assert.deepEqual(one.bytes.subarray(12, 24), Buffer.from([0xbe, 0xde, 0, 2, 0x31, 1, 2, 0x50, 0xaa, 0, 0, 0]), 'tseq element first, then id 1 as 5, zero fill');
  assert.equal(native(cases[2]!).bytes[0]! & 0x10, 0, 'no map: X cleared');
  assert.equal(native({ ...cases[0]!, outSize: 10 }).n, -1, 'out too short');
  assert.equal(native({ ...cases[0]!, packet: p.subarray(0, 14) }).n, -1, 'truncated extension');
});

describe('SrtpSession.forwardRtp: rewrite, protect and queue in one call', { skip: !addon }, () => {
  const KEYS: SrtpKeys = { localMasterKey: Buffer.alloc(16, 1), localMasterSalt: Buffer.alloc(14, 2), remoteMasterKey: Buffer.alloc(16, 3), remoteMasterSalt: Buffer.alloc(14, 4) };
  const GCM_KEYS: SrtpKeys = { ...KEYS, localMasterSalt: Buffer.alloc(12, 2), remoteMasterSalt: Buffer.alloc(12, 4) };
  let port: NativeUdpPort;
  let clientPort = 0;
  let client: Awaited<ReturnType<typeof dgramPeer>>;

  before(async () => {
    port = new addon!.UdpPort(() => {}, new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS));
    port.bind('127.0.0.1', 0, 1 << 20);
    client = await dgramPeer('udp4', '127.0.0.1');
    clientPort = client.address().port;
  });
  after(() => {
    client.close();
    port.close();
  });

  function session(profile: SrtpProfile, keys: SrtpKeys) {
    const gcm = profile === 7;
    return new addon!.SrtpSession(profile, deriveSessionKeys(gcm, keys.localMasterKey, keys.localMasterSalt), deriveSessionKeys(gcm, keys.remoteMasterKey, keys.remoteMasterSalt));
  }

  for (const [profile, keys] of [[1, KEYS], [7, GCM_KEYS]] as [SrtpProfile, SrtpKeys][]) {
    test(`profile ${profile}: the datagram is the twin's SRTP of the JS-rewritten packet, and a resend is the same datagram`, async () => {
      const s = session(profile, keys);
      const twinSrtp = new SrtpContext(profile, keys);
      const peer = new SrtpContext(profile, { localMasterKey: keys.remoteMasterKey, localMasterSalt: keys.remoteMasterSalt, remoteMasterKey: keys.localMasterKey, remoteMasterSalt: keys.localMasterSalt });
      const cases = fc.sample(caseArb.filter((c) => c.outSize === 65536 && twin(c).n >= 12), { numRuns: 40, seed: profile });
      const expected: Buffer[] = [];
      const seqs: number[] = [];
      for (const [i, c] of cases.entries()) {
        const ssrc = 0xabc00000 + (i % 3); // a few streams, each numbered in order
        const seq = (65530 + i) & 0xffff;
        const k: Case = { ...c, ssrc, seq };
        const js = twin(k).bytes;
        const rw = new addon!.RtpRewriter(ssrc, k.pt, nativeIdTable(k.map), nativeIdEntry(k.tccId), null, 0, 0);
        const n = s.forwardRtp(port, rw, k.packet, seq, k.ts, k.tseq, LOOPBACK4, clientPort, 0x4001);
        assert.equal(n, js.length, `case ${i}: the rewritten length`);
        expected.push(twinSrtp.protectRtp(js));
        seqs.push(seq);
      }
      port.flush();
      const got = await collect(client, cases.length);
      for (const [i, d] of got.entries()) {
        assert.equal(d.readUInt16BE(0), 0x4001, 'channel');
        assert.equal(d.readUInt16BE(2), d.length - 4, 'ChannelData length');
        assert.deepEqual(d.subarray(4), expected[i], `case ${i}: the twin's SRTP bytes`);
        assert.deepEqual(peer.unprotectRtp(Buffer.from(d.subarray(4))), twin({ ...cases[i]!, ssrc: 0xabc00000 + (i % 3), seq: seqs[i]! }).bytes, `case ${i}: decrypts to the JS rewrite`);
      }
      const last = cases.length - 1;
      assert.equal(s.resendRtp(port, 0xabc00000 + (last % 3), seqs[last]!, LOOPBACK4, clientPort, 0x4001), expected[last]!.length);
      port.flush();
      const [again] = await collect(client, 1);
      assert.deepEqual(again, got[last], 'the resend is the datagram as first sent');
    });
  }

  test('a packet that cannot be rewritten is refused; one that cannot be queued says so with its length', () => {
    const s = session(1, KEYS);
    const rw = new addon!.RtpRewriter(1, 96, nativeIdTable(undefined), 0, null, 0, 0);
    assert.equal(s.forwardRtp(port, rw, Buffer.from([0x80, 96, 0, 1]), 1, 2, 3, LOOPBACK4, clientPort, 0x4001), FORWARD_REFUSED);
    assert.equal(s.forwardRtp(port, rw, Buffer.alloc(65537, 0x80), 1, 2, 3, LOOPBACK4, clientPort, 0x4001), FORWARD_REFUSED, 'longer than the 64 KiB rewrite room');
    assert.throws(() => s.resendRtx(port, rw, 1, 2, 3, LOOPBACK4, clientPort, 0x4001), TypeError, 'no RTX stream');
    const big = Buffer.alloc(65500);
    big[0] = 0x80;
    assert.equal(s.forwardRtp(port, rw, big, 1, 2, 3, LOOPBACK4, clientPort, 0x4001), -2 - 65500, 'rewritten, but too long for a datagram');
    assert.equal(s.forwardRtp(port, rw, Buffer.alloc(40, 0x80), 1, 2, 3, LOOPBACK4, 0, 0x4001), -2 - 40, 'port 0: not queued');
    assert.throws(() => s.forwardRtp(port, {} as never, Buffer.alloc(40, 0x80), 1, 2, 3, LOOPBACK4, clientPort, 0x4001), TypeError);
  });
});

describe('RTX (RFC 4588) natively: writeRtx and SrtpSession.resendRtx', { skip: !addon }, () => {
  const rtxArb = fc.record({ c: caseArb, rtxSsrc: fc.integer({ min: 0, max: 0xffffffff }), rtxPt: fc.integer({ min: 0, max: 127 }), rtxSeq: fc.integer({ min: 0, max: 0xffff }), tccId: fc.option(fc.integer({ min: 0, max: 256 }), { nil: undefined }) });

  test('writeRtx == writeRtxPacket: same result and bytes, for rewritten packets and raw ones alike', () => {
    fc.assert(
      fc.property(rtxArb, fc.boolean(), ({ c, rtxSsrc, rtxPt, rtxSeq, tccId }, rewrittenFirst) => {
        const original = rewrittenFirst && twin(c).n >= 0 ? twin(c).bytes : c.packet;
        const expected = Buffer.alloc(c.outSize);
        const n = writeRtxPacket(original, { ssrc: rtxSsrc, payloadType: rtxPt, sequenceNumber: rtxSeq, transportSeqExtId: tccId, transportSeq: c.tseq }, expected);
        const rw = new addon!.RtpRewriter(c.ssrc, c.pt, nativeIdTable(c.map), 0, rtxSsrc, rtxPt, tccId !== undefined && tccId >= 1 && tccId <= 255 ? tccId : 0);
        const out = Buffer.alloc(c.outSize, 0xee);
        const m = rw.writeRtx(original, original.length, rtxSeq, c.tseq, out);
        assert.equal(m, n);
        if (n >= 0) assert.deepEqual(out.subarray(0, m), expected.subarray(0, n));
      }),
      { numRuns: 3000 },
    );
  });

  test('forwardRtp keeps the plaintext; resendRtx sends it as RTX: the twin SRTP of writeRtxPacket(JS rewrite)', async () => {
    const keys: SrtpKeys = { localMasterKey: Buffer.alloc(16, 5), localMasterSalt: Buffer.alloc(12, 6), remoteMasterKey: Buffer.alloc(16, 7), remoteMasterSalt: Buffer.alloc(12, 8) };
    const port = new addon!.UdpPort(() => {}, new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS));
    port.bind('127.0.0.1', 0, 1 << 20);
    const client = await dgramPeer('udp4', '127.0.0.1');
    try {
      const s = new addon!.SrtpSession(7, deriveSessionKeys(true, keys.localMasterKey, keys.localMasterSalt), deriveSessionKeys(true, keys.remoteMasterKey, keys.remoteMasterSalt));
      const twinSrtp = new SrtpContext(7, keys);
      const to = client.address().port;
      const map = new Map([[1, 4]]);
      const rw = new addon!.RtpRewriter(0x5150, 100, nativeIdTable(map), nativeIdEntry(3), 0x7170, 101, 3);
      // A packet with the publisher's element 1 and room for the transport-cc element the rewrite adds.
      const src = Buffer.from([0xb0, 0x80 | 96, 0, 9, 0, 0, 0, 1, 1, 2, 3, 4, 0xbe, 0xde, 0, 1, 0x10, 0x55, 0, 0, 9, 8, 7, 6, 5, 0, 0, 3]);
      const h = parseRtpHeader(src)!;
      const js = Buffer.alloc(200);
      const jsLen = rewriteRtpInto(src, h, { ssrc: 0x5150, payloadType: 100, sequenceNumber: 1000, timestamp: 77, extensionMap: map, transportSeqExtId: 3, transportSeq: 40 }, js);
      assert.equal(s.forwardRtp(port, rw, src, 1000, 77, 40, LOOPBACK4, to, 0x4002), jsLen);
      const rtx = Buffer.alloc(200);
      const rtxLen = writeRtxPacket(js.subarray(0, jsLen), { ssrc: 0x7170, payloadType: 101, sequenceNumber: 5, transportSeqExtId: 3, transportSeq: 41 }, rtx);
      assert.equal(s.resendRtx(port, rw, 1000, 5, 41, LOOPBACK4, to, 0x4002), rtxLen);
      assert.equal(s.resendRtx(port, rw, 999, 6, 42, LOOPBACK4, to, 0x4002), FORWARD_REFUSED, 'never forwarded: not kept');
      port.flush();
      const [first, again] = await collect(client, 2);
      assert.deepEqual(first!.subarray(4), twinSrtp.protectRtp(js.subarray(0, jsLen)));
      assert.deepEqual(again!.subarray(4), twinSrtp.protectRtp(rtx.subarray(0, rtxLen)), 'the RTX packet, as the twin protects it');
      assert.equal(again!.readUInt16BE(0), 0x4002);
    } finally {
      client.close();
      port.close();
    }
  });
});
