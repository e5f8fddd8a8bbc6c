// RTCP wire format: parsing (compound) packets into plain objects and building the packets an SFU
// sends: SR, RR, SDES CNAME, PLI, FIR, generic NACK and REMB (RFC 3550, RFC 4585, RFC 5104,
// draft-alvestrand-rmcat-remb). Transport-wide CC feedback is recognised but passed raw.
// What it must not do: throw while parsing (a malformed packet inside a compound one is skipped; an
// unreadable common header ends parsing), copy parsed bytes (every `raw` is a view into the input, valid
// only while the caller keeps that buffer unchanged), modify its input, keep state between calls, or know
// about peers, tracks, sockets or SRTP.

export interface ReportBlock {
  ssrc: number;
  /** 8-bit fixed point fraction (0..255). */
  fractionLost: number;
  /** Signed 24-bit cumulative number of packets lost. */
  cumulativeLost: number;
  highestSeq: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

export type RtcpPacket =
  | { type: 'sr'; ssrc: number; ntpSec: number; ntpFrac: number; rtpTimestamp: number; packetCount: number; octetCount: number; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'pli'; senderSsrc: number; mediaSsrc: number }
  | { type: 'fir'; senderSsrc: number; entries: { ssrc: number; seq: number }[] }
  | { type: 'nack'; senderSsrc: number; mediaSsrc: number; lost: number[] /* sequence numbers, expanded from PID/BLP */ }
  | { type: 'remb'; senderSsrc: number; bitrate: number; ssrcs: number[] }
  | { type: 'twcc'; senderSsrc: number; mediaSsrc: number; raw: Buffer } // transport-wide CC feedback, passed raw
  | { type: 'sdes' | 'bye' | 'other'; raw: Buffer };

const PT_SR = 200;
const PT_RR = 201;
const PT_SDES = 202;
const PT_BYE = 203;
const PT_RTPFB = 205;
const PT_PSFB = 206;
const FMT_NACK = 1;
const FMT_TWCC = 15;
const FMT_PLI = 1;
const FMT_FIR = 4;
const FMT_AFB = 15;
const REPORT_BLOCK_LEN = 24;

function u32(buf: Buffer, i: number): number {
  return ((buf[i] << 24) | (buf[i + 1] << 16) | (buf[i + 2] << 8) | buf[i + 3]) >>> 0;
}

function readReports(buf: Buffer, off: number, count: number): ReportBlock[] {
  const reports: ReportBlock[] = [];
  for (let k = 0; k < count; k++, off += REPORT_BLOCK_LEN) {
    const lost = (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7];
    reports.push({
      ssrc: u32(buf, off),
      fractionLost: buf[off + 4],
      cumulativeLost: lost & 0x800000 ? lost - 0x1000000 : lost,
      highestSeq: u32(buf, off + 8),
      jitter: u32(buf, off + 12),
      lsr: u32(buf, off + 16),
      dlsr: u32(buf, off + 20),
    });
  }
  return reports;
}

/**
 * One packet whose common header said: count/FMT `count`, type `pt`, bytes [off, end) with padding
 * already removed. Returns undefined if its body is too short for what it claims.
 */
function parseOne(buf: Buffer, off: number, end: number, count: number, pt: number, raw: Buffer): RtcpPacket | undefined {
  const len = end - off;
  switch (pt) {
    case PT_SR: {
      if (len < 28 + count * REPORT_BLOCK_LEN) return undefined;
      return {
        type: 'sr', ssrc: u32(buf, off + 4), ntpSec: u32(buf, off + 8), ntpFrac: u32(buf, off + 12),
        rtpTimestamp: u32(buf, off + 16), packetCount: u32(buf, off + 20), octetCount: u32(buf, off + 24),
        reports: readReports(buf, off + 28, count),
      };
    }
    case PT_RR: {
      if (len < 8 + count * REPORT_BLOCK_LEN) return undefined;
      return { type: 'rr', ssrc: u32(buf, off + 4), reports: readReports(buf, off + 8, count) };
    }
    case PT_SDES:
      return { type: 'sdes', raw };
    case PT_BYE:
      return { type: 'bye', raw };
    case PT_RTPFB: {
      if (count === FMT_NACK) {
        if (len < 16) return undefined;
        const lost: number[] = [];
        for (let i = off + 12; i + 4 <= end; i += 4) {
          const pid = (buf[i] << 8) | buf[i + 1];
          const blp = (buf[i + 2] << 8) | buf[i + 3];
          lost.push(pid);
          for (let b = 0; b < 16; b++) if (blp & (1 << b)) lost.push((pid + b + 1) & 0xffff);
        }
        return { type: 'nack', senderSsrc: u32(buf, off + 4), mediaSsrc: u32(buf, off + 8), lost };
      }
      if (count === FMT_TWCC) {
        if (len < 12) return undefined;
        return { type: 'twcc', senderSsrc: u32(buf, off + 4), mediaSsrc: u32(buf, off + 8), raw };
      }
      return { type: 'other', raw };
    }
    case PT_PSFB: {
      if (count === FMT_PLI) {
        if (len < 12) return undefined;
        return { type: 'pli', senderSsrc: u32(buf, off + 4), mediaSsrc: u32(buf, off + 8) };
      }
      if (count === FMT_FIR) {
        if (len < 20) return undefined;
        const entries: { ssrc: number; seq: number }[] = [];
        for (let i = off + 12; i + 8 <= end; i += 8) entries.push({ ssrc: u32(buf, i), seq: buf[i + 4] });
        return { type: 'fir', senderSsrc: u32(buf, off + 4), entries };
      }
      if (count === FMT_AFB && len >= 16 && buf[off + 12] === 0x52 && buf[off + 13] === 0x45 && buf[off + 14] === 0x4d && buf[off + 15] === 0x42) {
        if (len < 20) return undefined;
        const n = buf[off + 16];
        if (len < 20 + 4 * n) return undefined;
        const exp = buf[off + 17] >> 2;
        const mantissa = ((buf[off + 17] & 0x03) << 16) | (buf[off + 18] << 8) | buf[off + 19];
        const ssrcs: number[] = [];
        for (let k = 0; k < n; k++) ssrcs.push(u32(buf, off + 20 + 4 * k));
        return { type: 'remb', senderSsrc: u32(buf, off + 4), bitrate: mantissa * 2 ** exp, ssrcs };
      }
      return { type: 'other', raw };
    }
    default:
      return { type: 'other', raw };
  }
}

/** Parses a (compound) RTCP packet; malformed parts are skipped, never throws. */
export function parseRtcp(buf: Buffer): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  const n = buf.length;
  let off = 0;
  while (off + 4 <= n) {
    const b0 = buf[off];
    if ((b0 & 0xc0) !== 0x80) break; // not version 2: the rest cannot be framed
    const end = off + (((buf[off + 2] << 8) | buf[off + 3]) + 1) * 4;
    if (end > n) break;
    let bodyEnd = end;
    if ((b0 & 0x20) !== 0) {
      const pad = buf[end - 1];
      if (pad === 0 || pad > end - off - 4) { off = end; continue; }
      bodyEnd = end - pad;
    }
    const p = parseOne(buf, off, bodyEnd, b0 & 0x1f, buf[off + 1], buf.subarray(off, end));
    if (p !== undefined) out.push(p);
    off = end;
  }
  return out;
}

/** A zeroed packet of `bytes` (a multiple of 4) with its common header written. */
function packet(countOrFmt: number, pt: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b[0] = 0x80 | (countOrFmt & 0x1f);
  b[1] = pt;
  b.writeUInt16BE(bytes / 4 - 1, 2);
  return b;
}

export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const b = packet(FMT_PLI, PT_PSFB, 12);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  return b;
}

/** One FCI entry for `mediaSsrc` with command sequence number `seq` (8 bits); the header's media SSRC is 0 (RFC 5104 §4.3.1). */
export function buildFir(senderSsrc: number, mediaSsrc: number, seq: number): Buffer {
  const b = packet(FMT_FIR, PT_PSFB, 20);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 12);
  b[16] = seq & 0xff;
  return b;
}

/**
 * Packs the lost sequence numbers, in the given order, into PID/BLP pairs: a number 1..16 after the
 * current PID sets its BLP bit, anything else starts a new pair (ascending input gives the fewest pairs).
 * Throws RangeError for an empty list (a NACK needs at least one FCI entry).
 */
export function buildNack(senderSsrc: number, mediaSsrc: number, lost: number[]): Buffer {
  if (lost.length === 0) throw new RangeError('buildNack: no lost sequence numbers');
  const pairs: number[] = [];
  let pid = -1;
  let blp = 0;
  for (const raw of lost) {
    const seq = raw & 0xffff;
    if (pid >= 0) {
      const d = (seq - pid) & 0xffff;
      if (d === 0) continue;
      if (d <= 16) { blp |= 1 << (d - 1); continue; }
      pairs.push(pid, blp);
    }
    pid = seq;
    blp = 0;
  }
  pairs.push(pid, blp);
  const b = packet(FMT_NACK, PT_RTPFB, 12 + 2 * pairs.length);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  for (let k = 0; k < pairs.length; k++) b.writeUInt16BE(pairs[k], 12 + 2 * k);
  return b;
}

/** Bitrate (bps) is encoded as an 18-bit mantissa and 6-bit exponent, rounded down. Throws RangeError for more than 255 SSRCs. */
export function buildRemb(senderSsrc: number, bitrate: number, ssrcs: number[]): Buffer {
  if (ssrcs.length > 255) throw new RangeError('buildRemb: more than 255 SSRCs');
  let mantissa = Math.max(0, Math.floor(bitrate));
  let exp = 0;
  while (mantissa > 0x3ffff && exp < 63) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  if (mantissa > 0x3ffff) mantissa = 0x3ffff;
  const b = packet(FMT_AFB, PT_PSFB, 20 + 4 * ssrcs.length);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.write('REMB', 12, 'latin1');
  b[16] = ssrcs.length;
  b[17] = (exp << 2) | (mantissa >>> 16);
  b[18] = (mantissa >>> 8) & 0xff;
  b[19] = mantissa & 0xff;
  for (let k = 0; k < ssrcs.length; k++) b.writeUInt32BE(ssrcs[k] >>> 0, 20 + 4 * k);
  return b;
}

function writeReports(b: Buffer, off: number, reports: ReportBlock[]): void {
  for (const r of reports) {
    b.writeUInt32BE(r.ssrc >>> 0, off);
    b[off + 4] = r.fractionLost & 0xff;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, Math.trunc(r.cumulativeLost))) & 0xffffff;
    b[off + 5] = lost >>> 16;
    b[off + 6] = (lost >>> 8) & 0xff;
    b[off + 7] = lost & 0xff;
    b.writeUInt32BE(r.highestSeq >>> 0, off + 8);
    b.writeUInt32BE(r.jitter >>> 0, off + 12);
    b.writeUInt32BE(r.lsr >>> 0, off + 16);
    b.writeUInt32BE(r.dlsr >>> 0, off + 20);
    off += REPORT_BLOCK_LEN;
  }
}

/** Throws RangeError for more than 31 report blocks (the 5-bit count). */
export function buildRr(senderSsrc: number, reports: ReportBlock[]): Buffer {
  if (reports.length > 31) throw new RangeError('buildRr: more than 31 report blocks');
  const b = packet(reports.length, PT_RR, 8 + REPORT_BLOCK_LEN * reports.length);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  writeReports(b, 8, reports);
  return b;
}

/** A sender report without report blocks. */
export function buildSr(p: { ssrc: number; ntpSec: number; ntpFrac: number; rtpTimestamp: number; packetCount: number; octetCount: number }): Buffer {
  const b = packet(0, PT_SR, 28);
  b.writeUInt32BE(p.ssrc >>> 0, 4);
  b.writeUInt32BE(p.ntpSec >>> 0, 8);
  b.writeUInt32BE(p.ntpFrac >>> 0, 12);
  b.writeUInt32BE(p.rtpTimestamp >>> 0, 16);
  b.writeUInt32BE(p.packetCount >>> 0, 20);
  b.writeUInt32BE(p.octetCount >>> 0, 24);
  return b;
}

/** One chunk with one CNAME item (UTF-8, at most 255 bytes, else RangeError), null-terminated and padded to 32 bits. */
export function buildSdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, 'utf8');
  if (text.length > 255) throw new RangeError('buildSdesCname: CNAME longer than 255 bytes');
  const chunk = (4 + 2 + text.length + 1 + 3) & ~3; // ssrc, item header, text, ≥1 terminating null, padding
  const b = packet(1, PT_SDES, 4 + chunk);
  b.writeUInt32BE(ssrc >>> 0, 4);
  b[8] = 1; // CNAME
  b[9] = text.length;
  text.copy(b, 10);
  return b;
}

/** Concatenates RTCP packets into one compound packet. */
export function compound(parts: Buffer[]): Buffer {
  return Buffer.concat(parts);
}
