// Transport-wide congestion control feedback (RTCP RTPFB PT=205 FMT=15,
// draft-holmer-rmcat-transport-wide-cc-extensions-01): building one feedback packet from a list of
// (transport sequence number, arrival time) statuses, and parsing one back. Chunks are run-length or
// status-vector (1-bit or 2-bit symbols), receive deltas are 250 µs units (1 byte small, 2 bytes signed
// large), the reference time is 24 bits of 64 ms units.
// What it must not do: throw while parsing (malformed input gives undefined), do unbounded work (at most
// 0xffff statuses, one pass over the bytes), keep state between calls, or know about peers or sockets.

export interface TwccPacketStatus {
  seq: number;
  /** receive time in µs (receiver's clock), undefined = lost */
  arrivalUs?: number;
}

export interface TwccFeedback {
  senderSsrc: number;
  mediaSsrc: number;
  baseSeq: number;
  /** reference time in µs (multiple of 64 ms) */
  referenceTimeUs: number;
  feedbackCount: number;
  /** packets[i] is the status of transport sequence number baseSeq + i (mod 2^16). */
  packets: TwccPacketStatus[];
}

const PT_RTPFB = 205;
const FMT_TWCC = 15;
const HEADER = 20; // common header, sender SSRC, media SSRC, base seq + count, reference time + fb count
export const TWCC_REFERENCE_UNIT_US = 64_000;
export const TWCC_DELTA_UNIT_US = 250;
export const TWCC_MAX_STATUSES = 0xffff;

const NOT_RECEIVED = 0;
const SMALL = 1;
const LARGE = 2;

/** Smallest and largest receive delta (250 µs ticks) one feedback packet can carry. */
export const TWCC_MIN_DELTA_TICKS = -0x8000;
export const TWCC_MAX_DELTA_TICKS = 0x7fff;

/**
 * One transport-cc feedback packet for `f.packets` (statuses of consecutive sequence numbers from
 * baseSeq). Arrival times are rounded to 250 µs on the running sum, so rounding never accumulates.
 * Throws RangeError for no packets, more than 0xffff, or a delta outside ±8.19 s (start a new feedback).
 */
export function buildTwccFeedback(f: TwccFeedback): Buffer {
  const n = f.packets.length;
  if (n === 0 || n > TWCC_MAX_STATUSES) throw new RangeError(`buildTwccFeedback: ${n} statuses (1..65535)`);
  const symbols = new Uint8Array(n);
  const deltas: number[] = [];
  let deltaBytes = 0;
  let prevTicks = Math.round(f.referenceTimeUs / TWCC_DELTA_UNIT_US);
  for (let i = 0; i < n; i++) {
    const at = f.packets[i].arrivalUs;
    if (at === undefined) continue;
    const ticks = Math.round(at / TWCC_DELTA_UNIT_US);
    const d = ticks - prevTicks;
    if (d < TWCC_MIN_DELTA_TICKS || d > TWCC_MAX_DELTA_TICKS) throw new RangeError(`buildTwccFeedback: delta ${d} ticks out of range`);
    prevTicks = ticks;
    const sym = d >= 0 && d <= 0xff ? SMALL : LARGE;
    symbols[i] = sym;
    deltas.push(d);
    deltaBytes += sym;
  }
  const chunks = encodeChunks(symbols);
  const bodyLen = HEADER + 2 * chunks.length + deltaBytes;
  const total = (bodyLen + 3) & ~3;
  const b = Buffer.alloc(total);
  const padded = total !== bodyLen;
  b[0] = 0x80 | (padded ? 0x20 : 0) | FMT_TWCC;
  b[1] = PT_RTPFB;
  b.writeUInt16BE(total / 4 - 1, 2);
  b.writeUInt32BE(f.senderSsrc >>> 0, 4);
  b.writeUInt32BE(f.mediaSsrc >>> 0, 8);
  b.writeUInt16BE(f.baseSeq & 0xffff, 12);
  b.writeUInt16BE(n, 14);
  const ref = Math.floor(f.referenceTimeUs / TWCC_REFERENCE_UNIT_US) & 0xffffff;
  b[16] = ref >>> 16;
  b[17] = (ref >>> 8) & 0xff;
  b[18] = ref & 0xff;
  b[19] = f.feedbackCount & 0xff;
  let off = HEADER;
  for (const c of chunks) { b.writeUInt16BE(c, off); off += 2; }
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (symbols[i] === SMALL) b[off++] = deltas[k++];
    else if (symbols[i] === LARGE) { b.writeInt16BE(deltas[k++], off); off += 2; }
  }
  if (padded) b[total - 1] = total - bodyLen;
  return b;
}

/** Greedy chunking: a run-length chunk for runs of ≥ 14 (or the rest), else a 1-bit vector when it fits, else a 2-bit one. */
function encodeChunks(symbols: Uint8Array): number[] {
  const chunks: number[] = [];
  const n = symbols.length;
  let i = 0;
  while (i < n) {
    const s = symbols[i];
    let run = 1;
    while (i + run < n && symbols[i + run] === s && run < 0x1fff) run++;
    if (run >= 14 || i + run === n) {
      chunks.push((s << 13) | run);
      i += run;
      continue;
    }
    const take14 = Math.min(14, n - i);
    let oneBit = true;
    for (let j = 0; j < take14; j++) if (symbols[i + j] === LARGE) { oneBit = false; break; }
    if (oneBit) {
      let c = 0x8000;
      for (let j = 0; j < take14; j++) c |= symbols[i + j] << (13 - j);
      chunks.push(c);
      i += take14;
    } else {
      const take7 = Math.min(7, n - i);
      let c = 0xc000;
      for (let j = 0; j < take7; j++) c |= symbols[i + j] << (12 - 2 * j);
      chunks.push(c);
      i += take7;
    }
  }
  return chunks;
}

/**
 * Parses one RTCP packet (header included) if it is transport-cc feedback; undefined otherwise or when
 * malformed (a reserved symbol, chunks or deltas running past the packet). Bounded: at most 0xffff statuses.
 */
export function parseTwccFeedback(packet: Buffer): TwccFeedback | undefined {
  if (packet.length < HEADER) return undefined;
  const b0 = packet[0];
  if ((b0 & 0xc0) !== 0x80 || (b0 & 0x1f) !== FMT_TWCC || packet[1] !== PT_RTPFB) return undefined;
  let end = (packet.readUInt16BE(2) + 1) * 4;
  if (end > packet.length) return undefined;
  if ((b0 & 0x20) !== 0) {
    const pad = packet[end - 1];
    if (pad === 0 || pad > end - HEADER) return undefined;
    end -= pad;
  }
  const baseSeq = packet.readUInt16BE(12);
  const count = packet.readUInt16BE(14);
  if (count === 0) return undefined;
  const refRaw = (packet[16] << 16) | (packet[17] << 8) | packet[18];
  const ref = refRaw & 0x800000 ? refRaw - 0x1000000 : refRaw;
  const referenceTimeUs = ref * TWCC_REFERENCE_UNIT_US;
  const symbols = new Uint8Array(count);
  let filled = 0;
  let off = HEADER;
  while (filled < count) {
    if (off + 2 > end) return undefined;
    const c = (packet[off] << 8) | packet[off + 1];
    off += 2;
    if ((c & 0x8000) === 0) {
      const s = (c >> 13) & 0x3;
      const run = c & 0x1fff;
      if (s === 3) return undefined;
      const stop = Math.min(count, filled + run);
      if (s !== NOT_RECEIVED) symbols.fill(s, filled, stop);
      filled = stop;
    } else if ((c & 0x4000) === 0) {
      for (let j = 0; j < 14 && filled < count; j++) symbols[filled++] = (c >> (13 - j)) & 1;
    } else {
      for (let j = 0; j < 7 && filled < count; j++) {
        const s = (c >> (12 - 2 * j)) & 0x3;
        if (s === 3) return undefined;
        symbols[filled++] = s;
      }
    }
  }
  const packets: TwccPacketStatus[] = new Array(count);
  let t = referenceTimeUs;
  for (let i = 0; i < count; i++) {
    const seq = (baseSeq + i) & 0xffff;
    const s = symbols[i];
    if (s === NOT_RECEIVED) { packets[i] = { seq }; continue; }
    if (s === SMALL) {
      if (off + 1 > end) return undefined;
      t += packet[off] * TWCC_DELTA_UNIT_US;
      off += 1;
    } else {
      if (off + 2 > end) return undefined;
      t += packet.readInt16BE(off) * TWCC_DELTA_UNIT_US;
      off += 2;
    }
    packets[i] = { seq, arrivalUs: t };
  }
  return {
    senderSsrc: packet.readUInt32BE(4), mediaSsrc: packet.readUInt32BE(8), baseSeq, referenceTimeUs,
    feedbackCount: packet[19], packets,
  };
}
