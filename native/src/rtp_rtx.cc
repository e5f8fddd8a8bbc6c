// WriteRtx (rtp_rtx.h), step for step as writeRtxPacket: parseRtpHeader's checks, the copy, and
// getHeaderExtension's walk (ids 1..14 in the one-byte form, 1..255 in the two-byte form; the first
// malformed element ends the search) to find the transport-cc element.
// What it must not do: read a byte before checking it lies within the packet, or differ from the
// TypeScript in any output byte or result.
#include "rtp_rtx.h"

#include <cstring>

namespace shoal::rtp {
namespace {

/** Offset of the data of element `id` in p[start, end) of `form` (1 one-byte, 2 two-byte), its length in *l; -1 if absent. */
long FindElement(const uint8_t* p, size_t start, size_t end, int form, unsigned id, size_t* l) {
  size_t pos = start;
  if (form == 1) {
    if (id < 1 || id > 14) return -1;
    while (pos < end) {
      const uint8_t b = p[pos];
      const unsigned eid = b >> 4;
      if (eid == 0) {
        pos++;
        continue;
      }
      if (eid == 15) return -1;
      const size_t d = pos + 1;
      const size_t n = (b & 0x0f) + 1u;
      if (d + n > end) return -1;
      if (eid == id) {
        *l = n;
        return static_cast<long>(d);
      }
      pos = d + n;
    }
  } else if (form == 2) {
    if (id < 1 || id > 255) return -1;
    while (pos < end) {
      const unsigned eid = p[pos];
      if (eid == 0) {
        pos++;
        continue;
      }
      if (pos + 2 > end) return -1;
      const size_t d = pos + 2;
      const size_t n = p[pos + 1];
      if (d + n > end) return -1;
      if (eid == id) {
        *l = n;
        return static_cast<long>(d);
      }
      pos = d + n;
    }
  }
  return -1;
}

}  // namespace

long WriteRtx(const uint8_t* src, size_t len, const RtxFields& f, uint8_t* out, size_t cap) {
  if (len < 12) return -1;
  const uint8_t b0 = src[0];
  if ((b0 & 0xc0) != 0x80) return -1;
  size_t off = 12 + (static_cast<size_t>(b0 & 0x0f) << 2);
  if (off > len) return -1;
  int form = 0;
  size_t extOffset = 0;
  size_t extEnd = 0;
  if ((b0 & 0x10) != 0) {
    if (off + 4 > len) return -1;
    const unsigned profile = (src[off] << 8) | src[off + 1];
    form = profile == 0xbede ? 1 : (profile & 0xfff0) == 0x1000 ? 2 : 0;
    extOffset = off + 4;
    extEnd = extOffset + (static_cast<size_t>((src[off + 2] << 8) | src[off + 3]) << 2);
    off = extEnd;
    if (off > len) return -1;
  }
  size_t padding = 0;
  if ((b0 & 0x20) != 0) {
    padding = src[len - 1];
    if (padding == 0 || off + padding > len) return -1;
  }
  const size_t payloadLength = len - off - padding;
  const size_t n = off + 2 + payloadLength;
  if (n > cap) return -1;
  std::memcpy(out, src, off);
  out[0] = static_cast<uint8_t>(out[0] & ~0x20);
  out[1] = static_cast<uint8_t>((out[1] & 0x80) | (f.payloadType & 0x7f));
  out[2] = static_cast<uint8_t>(f.seq >> 8);
  out[3] = static_cast<uint8_t>(f.seq);
  out[8] = static_cast<uint8_t>(f.ssrc >> 24);
  out[9] = static_cast<uint8_t>(f.ssrc >> 16);
  out[10] = static_cast<uint8_t>(f.ssrc >> 8);
  out[11] = static_cast<uint8_t>(f.ssrc);
  out[off] = src[2];
  out[off + 1] = src[3];
  std::memcpy(out + off + 2, src + off, payloadLength);
  if (f.tccId != 0 && form != 0) {
    size_t l = 0;
    const long d = FindElement(out, extOffset, extEnd, form, f.tccId, &l);
    if (d >= 0 && l == 2) {
      out[d] = static_cast<uint8_t>(f.tseq >> 8);
      out[d + 1] = static_cast<uint8_t>(f.tseq);
    }
  }
  return static_cast<long>(n);
}

}  // namespace shoal::rtp
