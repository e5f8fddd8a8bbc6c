// SRTP/SRTCP (src/media/transport/srtp.ts and its srtp-*.ts modules) for profiles 7 (AEAD_AES_128_GCM)
// and 1 (AES128_CM_HMAC_SHA1_80), checked against werift's SrtpSession/SrtcpSession as an independent
// implementation (each side holds the other's keys swapped): what ours protects werift unprotects to the
// same bytes and vice versa, for CSRCs, one-byte/two-byte header extensions, padding, sequence-number
// wraparound and RTCP compounds.
// Plus the RFC 3711 Appendix B.2 (AES-CM keystream) and B.3 (key derivation) vectors, and rejection of
// tampered, replayed, too-old and truncated packets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSecretKey, randomBytes } from 'node:crypto';
import { RtpHeader, SrtcpSession, SrtpSession } from 'werift';
import { SrtpContext, SrtpError, type SrtpKeys, type SrtpProfile } from '../../../src/media/transport/srtp.js';
import { AesCm } from '../../../src/media/transport/srtp-aes-cm.js';
import { deriveSessionKey } from '../../../src/media/transport/srtp-kdf.js';
import { REPLAY_WINDOW } from '../../../src/media/transport/srtp-replay.js';
import { buildNack, buildRemb, buildRr, buildSdesCname, buildSr, compound } from '../../../src/media/wire/rtcp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function makeKeys(profile: SrtpProfile): SrtpKeys {
  const saltLen = profile === 7 ? 12 : 14;
  return { localMasterKey: randomBytes(16), localMasterSalt: randomBytes(saltLen), remoteMasterKey: randomBytes(16), remoteMasterSalt: randomBytes(saltLen) };
}

function swapped(k: SrtpKeys): SrtpKeys {
  return { localMasterKey: k.remoteMasterKey, localMasterSalt: k.remoteMasterSalt, remoteMasterKey: k.localMasterKey, remoteMasterSalt: k.localMasterSalt };
}

/** Ours and a werift peer (keys swapped), plus a second context of ours that mirrors the werift peer. */
function pair(profile: SrtpProfile) {
  const keys = makeKeys(profile);
  const config = { keys: swapped(keys), profile };
  return {
    keys,
    ours: new SrtpContext(profile, keys),
    werift: { srtp: new SrtpSession(config), srtcp: new SrtcpSession(config) },
    /** A fresh werift peer (all ROCs 0) with the same keys. */
    freshWerift: () => new SrtpSession(config),
    peer: () => new SrtpContext(profile, swapped(keys)),
  };
}

interface RtpSpec {
  seq: number;
  ssrc?: number;
  ts?: number;
  pt?: number;
  marker?: boolean;
  csrcs?: number[];
  /** Extension block: form and elements (written without inter-element padding, zero-filled to 4 bytes). */
  ext?: { form: 'one' | 'two'; elements: Array<[id: number, data: Buffer]> };
  payload?: Buffer;
  /** RTP padding byte count (P bit, last byte = count). */
  padding?: number;
}

function buildRtp(s: RtpSpec): Buffer {
  const csrcs = s.csrcs ?? [];
  let ext = Buffer.alloc(0);
  if (s.ext) {
    const parts: Buffer[] = [];
    for (const [id, data] of s.ext.elements) {
      parts.push(s.ext.form === 'one' ? Buffer.from([(id << 4) | (data.length - 1)]) : Buffer.from([id, data.length]), data);
    }
    let body = Buffer.concat(parts);
    body = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(s.ext.form === 'one' ? 0xbede : 0x1000, 0);
    head.writeUInt16BE(body.length / 4, 2);
    ext = Buffer.concat([head, body]);
  }
  const payload = s.payload ?? randomBytes(200);
  const pad = s.padding ?? 0;
  const b = Buffer.alloc(12 + 4 * csrcs.length + ext.length + payload.length + pad);
  b[0] = 0x80 | (pad > 0 ? 0x20 : 0) | (s.ext ? 0x10 : 0) | csrcs.length;
  b[1] = (s.marker ? 0x80 : 0) | (s.pt ?? 96);
  b.writeUInt16BE(s.seq & 0xffff, 2);
  b.writeUInt32BE(s.ts ?? 90000, 4);
  b.writeUInt32BE(s.ssrc ?? 0x11223344, 8);
  csrcs.forEach((c, i) => b.writeUInt32BE(c, 12 + 4 * i));
  ext.copy(b, 12 + 4 * csrcs.length);
  payload.copy(b, 12 + 4 * csrcs.length + ext.length);
  if (pad > 0) b[b.length - 1] = pad;
  return b;
}

/** werift's encrypt takes (payload, header) and re-serialises the header; the payload passed includes any padding bytes. */
function weriftProtect(session: SrtpSession, plain: Buffer): Buffer {
  const header = RtpHeader.deSerialize(plain);
  // Guard: our packets are built in werift's canonical header layout, so its re-serialised header is byte-identical.
  assert.deepEqual(header.serialize(header.serializeSize), plain.subarray(0, header.payloadOffset));
  return session.encrypt(plain.subarray(header.payloadOffset), header);
}

const VARIANTS: Array<[string, Omit<RtpSpec, 'seq'>]> = [
  ['plain header, 1200-byte payload, marker', { payload: randomBytes(1200), marker: true }],
  ['CSRCs', { csrcs: [1, 0xfffffffe, 0x01020304] }],
  ['one-byte header extensions', { ext: { form: 'one', elements: [[1, Buffer.from('0')], [2, hex('123456')], [3, hex('002a')], [14, randomBytes(16)]] } }],
  ['two-byte header extensions', { ext: { form: 'two', elements: [[1, Buffer.from('mid')], [20, randomBytes(17)], [255, Buffer.alloc(0)]] } }],
  ['padding (P bit, 7 bytes)', { padding: 7 }],
  ['padding-only packet with CSRC and extension', { payload: Buffer.alloc(0), padding: 224, csrcs: [9], ext: { form: 'one', elements: [[5, hex('01')]] } }],
  ['1-byte payload', { payload: hex('ab') }],
  ['empty payload', { payload: Buffer.alloc(0) }],
];

function rtcpCompound(ssrc: number, n: number): Buffer {
  return compound([
    buildSr({ ssrc, ntpSec: 0xe54c3a1b + n, ntpFrac: 0x80000001, rtpTimestamp: 90000 * n, packetCount: n, octetCount: 1200 * n }),
    buildSdesCname(ssrc, `cname-${n}`),
    buildRemb(ssrc, 1_500_000, [0x11223344, 0x55667788]),
    buildNack(ssrc, 0x11223344, [n, n + 1, n + 5]),
  ]);
}

for (const profile of [7, 1] as const) {
  const name = profile === 7 ? 'AEAD_AES_128_GCM (7)' : 'AES128_CM_HMAC_SHA1_80 (1)';
  const tagLen = profile === 7 ? 16 : 10;

  describe(`SRTP ${name}`, () => {
    test('ours protects → werift unprotects to the same packet (all header shapes)', () => {
      const { ours, werift } = pair(profile);
      let seq = 1000;
      for (const [label, spec] of VARIANTS) {
        const plain = buildRtp({ ...spec, seq: seq++ });
        const copy = Buffer.from(plain);
        const enc = ours.protectRtp(plain);
        assert.deepEqual(plain, copy, `${label}: input untouched`);
        assert.equal(enc.length, plain.length + tagLen, label);
        const hl = plain.length - (spec.payload?.length ?? 200) - (spec.padding ?? 0);
        assert.deepEqual(enc.subarray(0, hl), plain.subarray(0, hl), `${label}: header in the clear`);
        if (plain.length - hl >= 16) assert.notDeepEqual(enc.subarray(hl, plain.length), plain.subarray(hl), `${label}: payload encrypted`);
        assert.deepEqual(werift.srtp.decrypt(enc), plain, label);
      }
    });

    test('headroom and length: protects packet[0, length) behind free bytes, same SRTP bytes as without', () => {
      const { keys } = pair(profile);
      const a = new SrtpContext(profile, keys);
      const b = new SrtpContext(profile, keys);
      let seq = 2000;
      for (const [label, spec] of VARIANTS) {
        const plain = buildRtp({ ...spec, seq: seq++ });
        const scratch = Buffer.concat([plain, randomBytes(37)]); // trailing bytes must be ignored
        const framed = a.protectRtp(scratch, 4, plain.length);
        assert.equal(framed.length, 4 + plain.length + tagLen, label);
        assert.deepEqual(framed.subarray(4), b.protectRtp(plain), label);
      }
    });

    test('werift protects → ours unprotects to the same packet (all header shapes)', () => {
      const { ours, werift } = pair(profile);
      let seq = 40000;
      for (const [label, spec] of VARIANTS) {
        const plain = buildRtp({ ...spec, seq: seq++, ssrc: 0xcafebabe });
        const enc = weriftProtect(werift.srtp, plain);
        assert.equal(enc.length, plain.length + tagLen, label);
        assert.deepEqual(ours.unprotectRtp(enc), plain, label);
      }
    });

    test('ours ↔ ours round trip, several SSRCs interleaved', () => {
      const { ours, peer } = pair(profile);
      const other = peer();
      for (let i = 0; i < 50; i++) {
        for (const ssrc of [1, 0xffffffff, 0x80000000]) {
          const plain = buildRtp({ seq: 65500 + i, ssrc, payload: randomBytes(i * 7) });
          assert.deepEqual(other.unprotectRtp(ours.protectRtp(plain)), plain);
          assert.deepEqual(ours.unprotectRtp(other.protectRtp(plain)), plain);
        }
      }
    });

    test('sequence-number wraparound: ROC increments when sending (werift decrypts; a ROC-0 receiver cannot)', () => {
      const { ours, werift, freshWerift } = pair(profile);
      let last: Buffer | undefined;
      for (let i = 0; i < 140; i++) {
        const seq = (65480 + i) & 0xffff; // wraps after 56 packets
        const plain = buildRtp({ seq, ts: i * 3000, payload: randomBytes(100 + i) });
        last = ours.protectRtp(plain);
        assert.deepEqual(werift.srtp.decrypt(last), plain, `seq ${seq}`);
      }
      // The last packet (seq 83) was protected with ROC 1: a receiver that starts there with ROC 0 must fail.
      assert.throws(() => freshWerift().decrypt(last!));
    });

    test('sequence-number wraparound: ROC tracked when receiving from werift', () => {
      const { ours, werift } = pair(profile);
      for (let i = 0; i < 140; i++) {
        const seq = (65480 + i) & 0xffff;
        const plain = buildRtp({ seq, ssrc: 0x01020304, ts: i * 3000, payload: randomBytes(100 + i) });
        assert.deepEqual(ours.unprotectRtp(weriftProtect(werift.srtp, plain)), plain, `seq ${seq}`);
      }
    });

    test('receive: reordering across the wrap (RFC 3711 Appendix A estimation) and retransmissions sent late', () => {
      const { ours, peer } = pair(profile);
      const sender = peer();
      const seqs = [65533, 65534, 65535, 0, 1, 2, 3];
      const packets = seqs.map((seq) => {
        const plain = buildRtp({ seq, payload: randomBytes(64) });
        return { plain, enc: sender.protectRtp(plain) };
      });
      // Delivery order: 65533, 0, 65534, 2, 65535, 1, 3 — late packets from before the wrap keep ROC 0.
      for (const i of [0, 3, 1, 5, 2, 4, 6]) assert.deepEqual(ours.unprotectRtp(packets[i].enc), packets[i].plain, `seq ${seqs[i]}`);
      // A retransmission of an old (pre-wrap) packet protected again after the wrap keeps its ROC 0.
      const { ours: rx2, peer: peer2 } = pair(profile);
      const tx2 = peer2();
      const sent = [65534, 65535, 0, 1].map((seq) => buildRtp({ seq, payload: randomBytes(32) }));
      const encs = sent.map((p) => tx2.protectRtp(p));
      for (const i of [0, 2, 3]) assert.deepEqual(rx2.unprotectRtp(encs[i]), sent[i]); // 65535 lost
      assert.deepEqual(rx2.unprotectRtp(tx2.protectRtp(sent[1])), sent[1]); // re-sent after the wrap
    });

    test('SRTCP: ours protects compound RTCP → werift unprotects; E bit set, index increments', () => {
      const { ours, werift } = pair(profile);
      for (let n = 0; n < 5; n++) {
        const plain = rtcpCompound(0xabcdef01, n);
        const enc = ours.protectRtcp(plain);
        assert.equal(enc.length, plain.length + tagLen + 4);
        assert.deepEqual(enc.subarray(0, 8), plain.subarray(0, 8), 'first 8 bytes in the clear');
        const idxOff = profile === 7 ? enc.length - 4 : plain.length;
        assert.equal(enc.readUInt32BE(idxOff), (0x80000000 | n) >>> 0, 'E bit + SRTCP index');
        assert.deepEqual(werift.srtcp.decrypt(enc), plain);
      }
      // A different sender SSRC has its own index.
      const enc = ours.protectRtcp(buildRr(0x99, []));
      assert.equal(enc.readUInt32BE(profile === 7 ? enc.length - 4 : 8), 0x80000000);
    });

    test('SRTCP: werift protects compound RTCP → ours unprotects', () => {
      const { ours, werift } = pair(profile);
      for (let n = 0; n < 5; n++) {
        const plain = rtcpCompound(0x12345678, n);
        assert.deepEqual(ours.unprotectRtcp(werift.srtcp.encrypt(plain)), plain);
      }
      const rr = buildRr(0x5555, [{ ssrc: 1, fractionLost: 0, cumulativeLost: 0, highestSeq: 5, jitter: 0, lsr: 0, dlsr: 0 }]);
      assert.deepEqual(ours.unprotectRtcp(werift.srtcp.encrypt(rr)), rr);
    });

    test('tampered packets are rejected with SrtpError (tag, payload, header, SRTCP index)', () => {
      const { ours, peer } = pair(profile);
      const sender = peer();
      const enc = sender.protectRtp(buildRtp({ seq: 7, ext: { form: 'one', elements: [[1, hex('aa')]] } }));
      for (const at of [enc.length - 1, enc.length - tagLen, 40, 1, 17]) {
        const bad = Buffer.from(enc);
        bad[at] ^= 0x01;
        assert.throws(() => ours.unprotectRtp(bad), SrtpError, `byte ${at}`);
      }
      // The untampered packet is still accepted afterwards (failures do not advance the replay window).
      assert.equal(ours.unprotectRtp(enc).readUInt16BE(2), 7);
      const rtcp = sender.protectRtcp(rtcpCompound(3, 1));
      for (const at of [rtcp.length - 1, 20, rtcp.length - (profile === 7 ? 4 : tagLen + 4)]) {
        const bad = Buffer.from(rtcp);
        bad[at] ^= 0x01;
        assert.throws(() => ours.unprotectRtcp(bad), SrtpError, `rtcp byte ${at}`);
      }
      assert.deepEqual(ours.unprotectRtcp(rtcp), rtcpCompound(3, 1));
    });

    test('replayed and too-old packets are rejected with SrtpError', () => {
      const { ours, peer } = pair(profile);
      const sender = peer();
      const encs = new Map<number, Buffer>();
      for (let seq = 100; seq < 100 + REPLAY_WINDOW + 50; seq++) encs.set(seq, sender.protectRtp(buildRtp({ seq, payload: randomBytes(20) })));
      ours.unprotectRtp(encs.get(100)!);
      assert.throws(() => ours.unprotectRtp(encs.get(100)!), (e) => e instanceof SrtpError && /replay/.test(e.message));
      ours.unprotectRtp(encs.get(105)!);
      ours.unprotectRtp(encs.get(103)!); // late but inside the window: fine once
      assert.throws(() => ours.unprotectRtp(encs.get(103)!), SrtpError);
      assert.throws(() => ours.unprotectRtp(encs.get(105)!), SrtpError);
      const newest = 100 + REPLAY_WINDOW + 10;
      ours.unprotectRtp(encs.get(newest)!);
      ours.unprotectRtp(encs.get(newest - REPLAY_WINDOW + 1)!); // oldest index still in the window
      assert.throws(() => ours.unprotectRtp(encs.get(newest - REPLAY_WINDOW)!), (e) => e instanceof SrtpError && /older than the replay window/.test(e.message));
      assert.throws(() => ours.unprotectRtp(encs.get(104)!), SrtpError);
      // The window slides in small steps too: a late packet whose slot last held a packet one window
      // earlier is new, not a replay.
      const { ours: rx2, peer: peer2 } = pair(profile);
      const tx2 = peer2();
      const enc2 = new Map<number, Buffer>();
      for (const seq of [100, 100 + REPLAY_WINDOW - 1, 100 + REPLAY_WINDOW + 5, 100 + REPLAY_WINDOW]) {
        const plain = buildRtp({ seq, payload: randomBytes(20) });
        enc2.set(seq, tx2.protectRtp(plain));
        assert.deepEqual(rx2.unprotectRtp(enc2.get(seq)!), plain, `seq ${seq}`);
      }
      assert.throws(() => rx2.unprotectRtp(enc2.get(100 + REPLAY_WINDOW)!), SrtpError);
      // SRTCP
      const r1 = sender.protectRtcp(rtcpCompound(77, 1));
      const r2 = sender.protectRtcp(rtcpCompound(77, 2));
      ours.unprotectRtcp(r2);
      ours.unprotectRtcp(r1);
      assert.throws(() => ours.unprotectRtcp(r1), SrtpError);
      assert.throws(() => ours.unprotectRtcp(r2), SrtpError);
    });

    test('truncated and malformed input is rejected with SrtpError', () => {
      const { ours, peer } = pair(profile);
      const sender = peer();
      const enc = sender.protectRtp(buildRtp({ seq: 1, csrcs: [1, 2], ext: { form: 'two', elements: [[1, hex('aabbcc')]] } }));
      for (const n of [0, 1, 11, 12, 12 + tagLen - 1, 20, enc.length - tagLen - 1, enc.length - 1]) {
        assert.throws(() => ours.unprotectRtp(enc.subarray(0, n)), SrtpError, `length ${n}`);
      }
      const v1 = Buffer.from(enc);
      v1[0] = (v1[0] & 0x3f) | 0x40; // version 1
      assert.throws(() => ours.unprotectRtp(v1), SrtpError);
      assert.throws(() => ours.protectRtp(Buffer.alloc(11, 0x80)), SrtpError);
      assert.throws(() => ours.protectRtp(buildRtp({ seq: 1, csrcs: [1, 2, 3] }).subarray(0, 20)), SrtpError);
      const rtcp = sender.protectRtcp(rtcpCompound(5, 0));
      for (const n of [0, 7, 8 + tagLen + 3]) assert.throws(() => ours.unprotectRtcp(rtcp.subarray(0, n)), SrtpError, `rtcp length ${n}`);
      assert.throws(() => ours.unprotectRtcp(rtcp.subarray(0, rtcp.length - 1)), SrtpError);
      assert.throws(() => ours.protectRtcp(Buffer.alloc(4, 0x80)), SrtpError);
    });
  });
}

describe('SRTP keys and RFC 3711 test vectors', () => {
  test('RFC 3711 B.3 key derivation (cipher key, cipher salt, auth key)', () => {
    const masterKey = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
    const masterSalt = hex('0EC675AD498AFEEBB6960B3AABE6');
    assert.deepEqual(deriveSessionKey(masterKey, masterSalt, 0, 16), hex('C61E7A93744F39EE10734AFE3FF7A087'));
    assert.deepEqual(deriveSessionKey(masterKey, masterSalt, 2, 14), hex('30CBBC08863D8C85D49DB34A9AE1'));
    assert.deepEqual(
      deriveSessionKey(masterKey, masterSalt, 1, 94),
      hex(`CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE
           E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25
           6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2`),
    );
  });

  test('RFC 3711 B.2 AES-CM keystream (first blocks and the 16-bit block-counter carry)', () => {
    const cm = new AesCm(createSecretKey(hex('2B7E151628AED2A6ABF7158809CF4F3C')));
    hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000').copy(cm.ivBytes);
    const blocks = 0xff02;
    const ks = Buffer.alloc(blocks * 16);
    cm.xor(ks, 0, ks.length);
    assert.deepEqual(ks.subarray(0, 48), hex('E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0'));
    assert.deepEqual(ks.subarray(0xfeff * 16), hex('EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44'));
    // Unaligned start and odd length: same keystream, byte path.
    const odd = Buffer.alloc(1 + 37);
    cm.xor(odd, 1, odd.length);
    assert.deepEqual(odd.subarray(1), ks.subarray(0, 37));
  });

  test('the profile decides the salt length; unknown profiles and wrong key sizes are refused', () => {
    assert.throws(() => new SrtpContext(7, makeKeys(1)), SrtpError);
    assert.throws(() => new SrtpContext(1, makeKeys(7)), SrtpError);
    assert.throws(() => new SrtpContext(2 as SrtpProfile, makeKeys(1)), SrtpError);
    assert.throws(() => new SrtpContext(1, { ...makeKeys(1), localMasterKey: randomBytes(32) }), SrtpError);
  });
});
