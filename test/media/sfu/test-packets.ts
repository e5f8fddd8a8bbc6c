// Small builders shared by the media session/SFU unit tests (not a test file itself): RTP packets with
// an RFC 8285 one-byte header-extension block, VP8 payloads, a recording RtpSink and the Chromium SDP
// fixtures of test/media/wire/fixtures/ parsed with parseOffer.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Producer } from '../../../src/media/sfu/producer.js';
import type { RtpSink } from '../../../src/media/sfu/rtp-sink.js';
import type { StreamVariant } from '../../../src/media/sfu/stream-variant.js';
import { parseRtpHeader, type RtpHeader } from '../../../src/media/wire/rtp.js';
import { parseOffer, type OfferedMedia, type ParsedOffer } from '../../../src/media/wire/sdp.js';

/** VP8 payload descriptor + header: S=1, partition 0; P bit 0 = keyframe. */
export const VP8_KEY = Buffer.from([0x10, 0x00, 0x9d, 0x01, 0x2a]);
export const VP8_DELTA = Buffer.from([0x10, 0x01, 0xaa, 0xbb]);

export interface RtpSpec {
  ssrc: number;
  pt: number;
  seq?: number;
  ts?: number;
  /** One-byte header extension elements: [id 1..14, data (1..16 bytes)]. */
  ext?: [number, Buffer | string][];
  payload?: Buffer;
}

/** An RTP packet; with `ext`, a 0xBEDE (one-byte form) extension block padded to 32 bits. */
export function rtp(spec: RtpSpec): Buffer {
  const fixed = Buffer.alloc(12);
  fixed[0] = 0x80 | (spec.ext && spec.ext.length > 0 ? 0x10 : 0);
  fixed[1] = spec.pt & 0x7f;
  fixed.writeUInt16BE((spec.seq ?? 1) & 0xffff, 2);
  fixed.writeUInt32BE((spec.ts ?? 1000) >>> 0, 4);
  fixed.writeUInt32BE(spec.ssrc >>> 0, 8);
  const parts: Buffer[] = [fixed];
  if (spec.ext && spec.ext.length > 0) {
    const elems: Buffer[] = [];
    for (const [id, value] of spec.ext) {
      const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      if (id < 1 || id > 14 || data.length < 1 || data.length > 16) throw new RangeError('one-byte extension out of range');
      elems.push(Buffer.from([(id << 4) | (data.length - 1)]), data);
    }
    let body: Buffer = Buffer.concat(elems);
    const padded = Math.ceil(body.length / 4) * 4;
    body = Buffer.concat([body, Buffer.alloc(padded - body.length)]);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(0xbede, 0);
    head.writeUInt16BE(padded / 4, 2);
    parts.push(head, body);
  }
  parts.push(spec.payload ?? VP8_DELTA);
  return Buffer.concat(parts);
}

/** Parses `buf` (which must be valid) into a fresh header. */
export function header(buf: Buffer): RtpHeader {
  const h = parseRtpHeader(buf);
  if (!h) throw new Error('test packet does not parse');
  return h;
}

/** Feeds one packet of `variant` straight into a producer (as RtpListener would). */
export function feed(producer: Producer, buf: Buffer, variant: StreamVariant = ''): void {
  producer.onRtp(buf, header(buf), variant);
}

export interface Forwarded {
  ssrc: number;
  pt: number;
  seq: number;
  variant: StreamVariant;
  keyframe: boolean;
}

/** An RtpSink that records what it is fed (copying the header: the caller may reuse it). */
export function recordingSink(): { sink: RtpSink; got: Forwarded[]; closed: () => number } {
  const got: Forwarded[] = [];
  let closed = 0;
  const sink: RtpSink = {
    forward: (_buf, h, variant, keyframe) => got.push({ ssrc: h.ssrc, pt: h.payloadType, seq: h.sequenceNumber, variant, keyframe }),
    close: () => void closed++,
  };
  return { sink, got, closed: () => closed };
}

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'wire', 'fixtures');

/** A Chromium offer from test/media/wire/fixtures/, parsed. */
export function fixtureOffer(name: string): ParsedOffer {
  return parseOffer(readFileSync(join(FIXTURES, name), 'utf8'));
}

/** The m-line `mid` of `offer`. */
export function mline(offer: ParsedOffer, mid: string): OfferedMedia {
  const m = offer.media.find((x) => x.mid === mid);
  if (!m) throw new Error(`fixture has no mid ${mid}`);
  return m;
}
