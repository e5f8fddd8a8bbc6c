// WriteRtx (rtp_rtx.h), step for step as writeRtxPacket: parseRtpHeader's checks (rtp_parse.h
// ParseRtpLayout), the copy, and getHeaderExtension's walk (NextExtElement; ids 1..14 in the one-byte form,
// 1..255 in the two-byte form; the first malformed element ends the search) to find the transport-cc element.
// What it must not do: read a byte before checking it lies within the packet, or differ from the
// TypeScript in any output byte or result.
#include "rtp_rtx.h"

#include <cstring>

#include "rtp_parse.h"

namespace shoal::rtp {
namespace {

/** Offset of the data of element `id` among the extension elements p[start, end) of `form`, its length in *l; -1 if absent. */
long FindElement(const uint8_t* p, size_t start, size_t end, int form, unsigned id, size_t* l) {
  if (id < 1 || id > (form == 1 ? 14u : 255u)) return -1;
  size_t pos = start;
  ExtElement e;
  while (NextExtElement(p, &pos, end, form, &e)) {
    if (e.id == id) {
      *l = e.len;
      return static_cast<long>(e.data);
    }
  }
  return -1;
}

}  // namespace

long WriteRtx(const uint8_t* src, size_t len, const RtxFields& f, uint8_t* out, size_t cap) {
  RtpLayout l;
  if (!ParseRtpLayout(src, len, &l)) return -1;
  const size_t off = l.headerLen;
  const size_t payloadLength = len - off - l.padding;
  const size_t n = off + 2 + payloadLength;
  if (n > cap) return -1;
  std::memcpy(out, src, off);
  out[0] = static_cast<uint8_t>(out[0] & ~0x20);
  out[1] = static_cast<uint8_t>((out[1] & 0x80) | (f.payloadType & 0x7f));
  StoreU16(out + 2, f.seq);
  StoreU32(out + 8, f.ssrc);
  out[off] = src[2];
  out[off + 1] = src[3];
  std::memcpy(out + off + 2, src + off, payloadLength);
  if (f.tccId != 0 && l.extForm != 0) {
    size_t elementLen = 0;
    const long d = FindElement(out, l.extOffset, l.extEnd, l.extForm, f.tccId, &elementLen);
    if (d >= 0 && elementLen == 2) StoreU16(out + d, f.tseq);
  }
  return static_cast<long>(n);
}

}  // namespace shoal::rtp
