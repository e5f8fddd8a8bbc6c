// Splits a TURN-over-TCP byte stream into messages (RFC 5766 §2.1 / §11.5): a STUN message is 20 + its
// length field bytes; a ChannelData message is 4 + its length field, padded up to a multiple of 4.
// What it must not do: parse or validate message contents (the caller decodes each frame), buffer more
// than one incomplete frame (the 16-bit length bounds it to 64 KiB), or try to resynchronise after
// garbage: an unframeable first byte throws StreamFramingError and the caller must drop the connection.

import { classifyPacket } from './channel-data.js';

export class StreamFramingError extends Error {
  override readonly name = 'StreamFramingError';
}

const EMPTY = Buffer.alloc(0);

/** Total size of the frame starting at buf[0] (needs >= 4 bytes), or throws on an unframeable start. */
export function frameLength(buf: Buffer): number {
  const first = buf[0]!;
  const len = buf.readUInt16BE(2);
  switch (classifyPacket(first)) {
    case 'stun':
      if (len % 4 !== 0) throw new StreamFramingError('STUN length not a multiple of 4');
      return 20 + len;
    case 'channel-data':
      return 4 + ((len + 3) & ~3);
    default:
      throw new StreamFramingError(`unframeable first byte 0x${first.toString(16)}`);
  }
}

export class StreamFramer {
  private pending: Buffer = EMPTY;

  /** Feeds bytes; returns the complete frames now available (each padded ChannelData frame whole). */
  push(chunk: Buffer): Buffer[] {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Buffer[] = [];
    while (buf.length >= 4) {
      const size = frameLength(buf);
      if (buf.length < size) break;
      frames.push(buf.subarray(0, size));
      buf = buf.subarray(size);
    }
    // Copy a small tail so a large chunk is not kept alive by it.
    this.pending = buf.length === 0 ? EMPTY : Buffer.from(buf);
    return frames;
  }

  /** Bytes of an incomplete frame held back. */
  get buffered(): number {
    return this.pending.length;
  }
}
