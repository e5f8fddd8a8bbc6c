// The RTP packet the SRTP benches protect: random bytes of `size` with a V=2 header (PT 96, fixed SSRC and
// timestamp) and a one-byte header extension, so the header-length parsing is exercised too.
import { randomBytes } from 'node:crypto';

export function extensionRtpPacket(size: number): Buffer {
  const ext = Buffer.from([0x10, 0x30, 0x22, 0x12, 0x34, 0x56, 0x31, 0x00, 0x2a, 0x00, 0x00, 0x00]);
  const b = randomBytes(size);
  b[0] = 0x90; // V=2, X=1
  b[1] = 0x80 | 96;
  b.writeUInt32BE(90000, 4);
  b.writeUInt32BE(0x11223344, 8);
  b.writeUInt16BE(0xbede, 12);
  b.writeUInt16BE(ext.length / 4, 14);
  ext.copy(b, 16);
  return b;
}
