// RTCP wire format (src/media/rtcp.ts): build → parse round trips for every type, hand-assembled
// browser-like compound packets, and malformed input that must be skipped without throwing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildFir, buildNack, buildPli, buildRemb, buildRr, buildSdesCname, buildSr, compound, parseRtcp,
  type ReportBlock, type RtcpPacket,
} from '../../../src/media/wire/rtcp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const BLOCK_A: ReportBlock = { ssrc: 0x12345678, fractionLost: 64, cumulativeLost: 5, highestSeq: 0x00011000, jitter: 32, lsr: 0x4c3a1b80, dlsr: 65536 };
const BLOCK_B: ReportBlock = { ssrc: 0xffffffff, fractionLost: 255, cumulativeLost: -3, highestSeq: 0xffffffff, jitter: 0xffffffff, lsr: 0, dlsr: 0xfffffffe };

function only(buf: Buffer): RtcpPacket {
  const ps = parseRtcp(buf);
  assert.equal(ps.length, 1, JSON.stringify(ps));
  return ps[0];
}

/** Length field and size agree, version 2. */
function assertFramed(buf: Buffer): void {
  assert.equal(buf.length % 4, 0);
  assert.equal(buf[0] >> 6, 2);
  assert.equal((buf.readUInt16BE(2) + 1) * 4, buf.length);
}

describe('round trips', () => {
  test('SR', () => {
    const p = { ssrc: 0xdeadbeef, ntpSec: 0xe54c3a1b, ntpFrac: 0x80000001, rtpTimestamp: 0xfffffff0, packetCount: 100, octetCount: 0xffffffff };
    const b = buildSr(p);
    assertFramed(b);
    assert.equal(b.length, 28);
    assert.deepEqual(only(b), { type: 'sr', ...p, reports: [] });
  });

  test('RR with zero, one and two report blocks (negative cumulative loss)', () => {
    assert.deepEqual(only(buildRr(7, [])), { type: 'rr', ssrc: 7, reports: [] });
    assert.deepEqual(only(buildRr(7, [BLOCK_A])), { type: 'rr', ssrc: 7, reports: [BLOCK_A] });
    const b = buildRr(0x80000000, [BLOCK_A, BLOCK_B]);
    assertFramed(b);
    assert.equal(b.length, 8 + 48);
    assert.equal(b[0] & 0x1f, 2);
    assert.deepEqual(only(b), { type: 'rr', ssrc: 0x80000000, reports: [BLOCK_A, BLOCK_B] });
  });

  test('RR clamps cumulative loss to 24-bit signed and refuses more than 31 blocks', () => {
    const r = only(buildRr(1, [{ ...BLOCK_A, cumulativeLost: 1e9 }, { ...BLOCK_A, cumulativeLost: -1e9 }]));
    assert.equal(r.type, 'rr');
    if (r.type === 'rr') assert.deepEqual(r.reports.map((x) => x.cumulativeLost), [0x7fffff, -0x800000]);
    assert.throws(() => buildRr(1, Array(32).fill(BLOCK_A)), RangeError);
    assert.equal(parseRtcp(buildRr(1, Array(31).fill(BLOCK_A)))[0].type, 'rr');
  });

  test('PLI', () => {
    const b = buildPli(0xaabbccdd, 0x11223344);
    assertFramed(b);
    assert.deepEqual(b, hex('81ce0002 aabbccdd 11223344'));
    assert.deepEqual(only(b), { type: 'pli', senderSsrc: 0xaabbccdd, mediaSsrc: 0x11223344 });
  });

  test('FIR', () => {
    const b = buildFir(1, 0xfedcba98, 300);
    assertFramed(b);
    assert.deepEqual(b, hex('84ce0004 00000001 00000000 fedcba98 2c000000'));
    assert.deepEqual(only(b), { type: 'fir', senderSsrc: 1, entries: [{ ssrc: 0xfedcba98, seq: 44 }] });
  });

  test('NACK packs PID/BLP pairs and expands back', () => {
    const lost = [1000, 1001, 1003, 1016, 1017, 1018, 65535, 0, 3];
    const b = buildNack(5, 6, lost);
    assertFramed(b);
    // 1000 + {1001,1003,1016}; 1017 + {1018}; 65535 + {0,3}
    assert.deepEqual(b.subarray(12), hex('03e8 8005 03f9 0001 ffff 0009'));
    assert.deepEqual(only(b), { type: 'nack', senderSsrc: 5, mediaSsrc: 6, lost });
  });

  test('NACK: duplicates dropped, unsorted input still encodes every number, empty refused', () => {
    const p = only(buildNack(1, 2, [10, 10, 12, 5, 11]));
    assert.equal(p.type, 'nack');
    if (p.type === 'nack') assert.deepEqual([...p.lost].sort((a, b) => a - b), [5, 10, 11, 12]);
    assert.deepEqual(only(buildNack(1, 2, [70000])), { type: 'nack', senderSsrc: 1, mediaSsrc: 2, lost: [70000 & 0xffff] });
    assert.throws(() => buildNack(1, 2, []), RangeError);
  });

  test('REMB: exact, rounded-down large bitrate, zero, several SSRCs', () => {
    assert.deepEqual(only(buildRemb(9, 1_500_000, [0x12345678])), { type: 'remb', senderSsrc: 9, bitrate: 1_500_000, ssrcs: [0x12345678] });
    assert.deepEqual(only(buildRemb(9, 0, [])), { type: 'remb', senderSsrc: 9, bitrate: 0, ssrcs: [] });
    assert.deepEqual(only(buildRemb(9, 262143, [1, 2, 3])), { type: 'remb', senderSsrc: 9, bitrate: 262143, ssrcs: [1, 2, 3] });
    const big = 10_000_000_007;
    const r = only(buildRemb(9, big, [1]));
    assert.equal(r.type, 'remb');
    if (r.type === 'remb') {
      assert.ok(r.bitrate <= big && r.bitrate > big * (1 - 2 ** -17), String(r.bitrate));
    }
    const b = buildRemb(9, 1_500_000, [0x12345678]);
    assertFramed(b);
    assert.deepEqual(b, hex('8fce0005 00000009 00000000 52454d42 010edc6c 12345678'));
  });

  test('SDES CNAME (padding to 32 bits for every length)', () => {
    for (const cname of ['', 'a', 'ab', 'abc', 'abcd', 'user@host-1234', 'ünïcødé']) {
      const b = buildSdesCname(0x01020304, cname);
      assertFramed(b);
      const text = Buffer.from(cname, 'utf8');
      assert.equal(b[0] & 0x1f, 1);
      assert.equal(b.readUInt32BE(4), 0x01020304);
      assert.equal(b[8], 1);
      assert.equal(b[9], text.length);
      assert.deepEqual(b.subarray(10, 10 + text.length), text);
      assert.ok(b.length - (10 + text.length) >= 1, 'at least one terminating null');
      assert.ok(b.subarray(10 + text.length).every((x) => x === 0));
      const p = only(b);
      assert.equal(p.type, 'sdes');
      if (p.type === 'sdes') assert.deepEqual(p.raw, b);
    }
    assert.throws(() => buildSdesCname(1, 'x'.repeat(256)), RangeError);
  });

  test('TWCC, BYE and unknown types are passed raw', () => {
    const twcc = hex('8fcd0005 00000001 0000abcd 00010002 000001ff 20020000');
    assert.deepEqual(only(twcc), { type: 'twcc', senderSsrc: 1, mediaSsrc: 0xabcd, raw: twcc });
    const bye = hex('81cb0001 12345678');
    assert.deepEqual(only(bye), { type: 'bye', raw: bye });
    const app = hex('80cc0002 12345678 6e616d65');
    assert.deepEqual(only(app), { type: 'other', raw: app });
    const afbNotRemb = hex('8fce0004 00000001 00000000 41424344 00000000');
    assert.deepEqual(only(afbNotRemb), { type: 'other', raw: afbNotRemb });
    const rtpfbOther = hex('83cd0003 00000001 00000002 00000000');
    assert.deepEqual(only(rtpfbOther), { type: 'other', raw: rtpfbOther });
    const xr = hex('80cf0001 12345678');
    assert.deepEqual(only(xr), { type: 'other', raw: xr });
  });

  test('compound of every built type parses back in order', () => {
    const parts = [
      buildSr({ ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6 }),
      buildRr(1, [BLOCK_A]),
      buildSdesCname(1, 'shoal'),
      buildPli(1, 2),
      buildFir(1, 2, 3),
      buildNack(1, 2, [7, 8]),
      buildRemb(1, 500_000, [2]),
    ];
    const c = compound(parts);
    assert.equal(c.length, parts.reduce((n, p) => n + p.length, 0));
    assert.deepEqual(parseRtcp(c).map((p) => p.type), ['sr', 'rr', 'sdes', 'pli', 'fir', 'nack', 'remb']);
  });
});

describe('browser-like compound packets', () => {
  test('SR with a report block + SDES CNAME', () => {
    const buf = hex(`
      81c8000c 12345678 e54c3a1b 80000000 0001e240 00000064 00003e80
               87654321 0a0000ff 0000ffff 0000000c 3a1b8000 00004000
      81ca0006 12345678 0110 6162636465666768696a6b6c6d6e6f70 0000`);
    const ps = parseRtcp(buf);
    assert.equal(ps.length, 2);
    assert.deepEqual(ps[0], {
      type: 'sr', ssrc: 0x12345678, ntpSec: 0xe54c3a1b, ntpFrac: 0x80000000, rtpTimestamp: 123456, packetCount: 100, octetCount: 16000,
      reports: [{ ssrc: 0x87654321, fractionLost: 10, cumulativeLost: 255, highestSeq: 65535, jitter: 12, lsr: 0x3a1b8000, dlsr: 0x4000 }],
    });
    assert.equal(ps[1].type, 'sdes');
    if (ps[1].type === 'sdes') assert.equal(ps[1].raw.subarray(10, 26).toString(), 'abcdefghijklmnop');
  });

  test('RR + REMB', () => {
    const buf = hex(`
      81c90007 00000001 12345678 40000005 00011000 00000020 4c3a1b80 00010000
      8fce0005 00000001 00000000 52454d42 010edc6c 12345678`);
    assert.deepEqual(parseRtcp(buf), [
      { type: 'rr', ssrc: 1, reports: [BLOCK_A] },
      { type: 'remb', senderSsrc: 1, bitrate: 1_500_000, ssrcs: [0x12345678] },
    ]);
  });

  test('RR + NACK with BLP bits across the wrap + PLI', () => {
    const buf = hex(`
      80c90001 00000001
      81cd0004 00000001 12345678 03e80005 fffe8001
      81ce0002 00000001 12345678`);
    assert.deepEqual(parseRtcp(buf), [
      { type: 'rr', ssrc: 1, reports: [] },
      { type: 'nack', senderSsrc: 1, mediaSsrc: 0x12345678, lost: [1000, 1001, 1003, 65534, 65535, 14] },
      { type: 'pli', senderSsrc: 1, mediaSsrc: 0x12345678 },
    ]);
  });

  test('packet with the padding bit: padding is ignored', () => {
    // RR with no blocks plus 4 bytes of padding (count in the last byte)
    const buf = hex('a0c90002 0000002a 00000004 81ce0002 00000001 00000002');
    assert.deepEqual(parseRtcp(buf), [
      { type: 'rr', ssrc: 42, reports: [] },
      { type: 'pli', senderSsrc: 1, mediaSsrc: 2 },
    ]);
  });
});

describe('malformed input', () => {
  const good = compound([
    buildSr({ ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6 }),
    buildRr(1, [BLOCK_A, BLOCK_B]),
    buildSdesCname(1, 'cname'),
    buildNack(1, 2, [1, 2, 3, 40]),
    buildRemb(1, 1e6, [2, 3]),
    buildFir(1, 2, 3),
    buildPli(1, 2),
  ]);

  test('every truncation parses only the complete packets before the cut', () => {
    const ends: number[] = [];
    for (let off = 0; off < good.length; off += (good.readUInt16BE(off + 2) + 1) * 4) ends.push((good.readUInt16BE(off + 2) + 1) * 4 + off);
    for (let n = 0; n <= good.length; n++) {
      const ps = parseRtcp(good.subarray(0, n));
      assert.equal(ps.length, ends.filter((e) => e <= n).length, `cut at ${n}`);
    }
  });

  test('wrong version stops parsing; length beyond the buffer stops parsing', () => {
    const v1 = Buffer.from(good);
    v1[0] = (v1[0] & 0x3f) | 0x40;
    assert.deepEqual(parseRtcp(v1), []);
    const second = Buffer.from(good);
    second[28] = (second[28] & 0x3f); // version 0 on the second packet
    assert.deepEqual(parseRtcp(second).map((p) => p.type), ['sr']);
    const long = Buffer.from(good);
    long.writeUInt16BE(0xffff, 2);
    assert.deepEqual(parseRtcp(long), []);
    assert.deepEqual(parseRtcp(hex('81c9')), []);
    assert.deepEqual(parseRtcp(Buffer.alloc(0)), []);
    assert.deepEqual(parseRtcp(Buffer.from([0x16, 0xfe, 0xfd, 0x00])), []);
  });

  test('a packet too short for what it claims is skipped, the rest still parses', () => {
    const buf = hex(`
      82c90007 00000001 12345678 40000005 00011000 00000020 4c3a1b80 00010000
      80c80001 00000001
      81cd0002 00000001 12345678
      81ce0001 00000001
      8fce0003 00000001 00000000 52454d42
      8fce0004 00000001 00000000 52454d42 050edc6c
      84ce0002 00000001 00000000
      a0c90001 00000000
      a0c90001 000000ff
      81ce0002 00000001 00000002`);
    // RR claims 2 blocks but has 1; SR without sender info; NACK without FCI; PLI without media SSRC;
    // REMB without bitrate; REMB claiming 5 SSRCs; FIR without entries; padding count 0; padding too long.
    assert.deepEqual(parseRtcp(buf), [{ type: 'pli', senderSsrc: 1, mediaSsrc: 2 }]);
  });

  test('random mutations of a valid compound never throw', () => {
    let seed = 987654321;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 20000; i++) {
      const b = Buffer.from(good.subarray(0, rnd() % (good.length + 1)));
      const flips = 1 + (rnd() % 6);
      for (let k = 0; k < flips && b.length; k++) b[rnd() % b.length] = rnd() & 0xff;
      const ps = parseRtcp(b);
      assert.ok(Array.isArray(ps));
    }
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.alloc(rnd() % 80);
      for (let k = 0; k < b.length; k++) b[k] = rnd() & 0xff;
      if (b.length) b[0] = 0x80 | (b[0] & 0x3f);
      parseRtcp(b);
    }
  });
});
