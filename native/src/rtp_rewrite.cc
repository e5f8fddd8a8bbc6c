// RewriteRtp (rtp_rewrite.h), step for step as rewriteRtpInto's planRewrite/walkExtensions/writeRewrite:
// the same parse checks and element walk (rtp_parse.h ParseRtpLayout / NextExtElement, which stops at the
// first malformed element in both passes), the same block size and zero fill.
// What it must not do: read a byte before checking it lies within `src[0, len)`, or differ from the
// TypeScript in any output byte or result.
#include "rtp_rewrite.h"

#include <cstring>

namespace shoal::rtp {
namespace {

constexpr uint16_t kOneByteProfile = 0xbede;
constexpr uint16_t kTwoByteProfile = 0x1000;

/** What the counting pass of WalkExtensions found. */
struct Scan {
  size_t kept = 0;
  size_t bytes = 0;
  bool oneByteOk = true;
};

/**
 * Walks the source's extension elements and, for each whose id maps to a kept id: with `out` null counts
 * it into `scan`; else writes it at out[pos…] in the one-byte or two-byte form. Returns the write position
 * after the last element written.
 */
size_t WalkExtensions(const uint8_t* src, const RtpLayout& l, const uint16_t* idMap, Scan* scan, uint8_t* out, size_t pos, bool oneByte) {
  size_t i = l.extOffset;
  ExtElement e;
  while (NextExtElement(src, &i, l.extEnd, l.extForm, &e)) {
    const uint16_t entry = idMap[e.id];
    const unsigned nid = entry & kIdMask;
    if (nid == 0) continue;
    if (out == nullptr) {
      scan->kept++;
      scan->bytes += e.len;
      if ((entry & kIdForcesTwoByte) != 0 || e.len < 1 || e.len > 16) scan->oneByteOk = false;
    } else {
      if (oneByte) {
        out[pos++] = static_cast<uint8_t>((nid << 4) | (e.len - 1));
      } else {
        out[pos++] = static_cast<uint8_t>(nid);
        out[pos++] = static_cast<uint8_t>(e.len);
      }
      std::memcpy(out + pos, src + e.data, e.len);
      pos += e.len;
    }
  }
  return pos;
}

}  // namespace

long PlanRewrite(const uint8_t* src, size_t len, const RewriteConfig& c, RewritePlan* plan) {
  RewritePlan& p = *plan;
  if (!ParseRtpLayout(src, len, &p.src)) return -1;
  p.kept = 0;
  p.oneByte = true;
  p.extBlock = 0;
  size_t bytes = 0;
  if (p.src.extForm != 0) {
    Scan scan;
    WalkExtensions(src, p.src, c.idMap, &scan, nullptr, 0, true);
    p.kept = scan.kept;
    p.oneByte = scan.oneByteOk;
    bytes = scan.bytes;
  }
  if ((c.tccId & kIdMask) != 0) {
    p.kept++;
    bytes += 2;
    if ((c.tccId & kIdForcesTwoByte) != 0) p.oneByte = false;
  }
  if (p.kept > 0) p.extBlock = 4 + ((bytes + p.kept * (p.oneByte ? 1 : 2) + 3) & ~static_cast<size_t>(3));
  return static_cast<long>(p.src.fixedLen + p.extBlock + (len - p.src.headerLen));
}

void WriteRewrite(const uint8_t* src, size_t len, const RewriteConfig& c, const RewritePlan& p, const RewriteFields& f, uint8_t* out) {
  const RtpLayout& l = p.src;
  out[0] = static_cast<uint8_t>((src[0] & 0xef) | (p.kept > 0 ? 0x10 : 0));
  out[1] = static_cast<uint8_t>((src[1] & 0x80) | (c.payloadType & 0x7f));
  StoreU16(out + 2, f.seq);
  StoreU32(out + 4, f.ts);
  StoreU32(out + 8, c.ssrc);
  if (l.fixedLen > 12) std::memcpy(out + 12, src + 12, l.fixedLen - 12);
  size_t pos = l.fixedLen;
  if (p.kept > 0) {
    StoreU16(out + pos, p.oneByte ? kOneByteProfile : kTwoByteProfile);
    StoreU16(out + pos + 2, static_cast<uint16_t>((p.extBlock - 4) >> 2));
    pos += 4;
    const unsigned tccId = c.tccId & kIdMask;
    if (tccId != 0) {
      if (p.oneByte) {
        out[pos++] = static_cast<uint8_t>((tccId << 4) | 1);
      } else {
        out[pos++] = static_cast<uint8_t>(tccId);
        out[pos++] = 2;
      }
      StoreU16(out + pos, f.tseq);
      pos += 2;
    }
    if (l.extForm != 0) pos = WalkExtensions(src, l, c.idMap, nullptr, out, pos, p.oneByte);
    const size_t blockEnd = l.fixedLen + p.extBlock;
    if (pos < blockEnd) {
      std::memset(out + pos, 0, blockEnd - pos);
      pos = blockEnd;
    }
  }
  std::memcpy(out + pos, src + l.headerLen, len - l.headerLen);
}

long RewriteRtp(const uint8_t* src, size_t len, const RewriteConfig& c, const RewriteFields& f, uint8_t* out, size_t cap) {
  RewritePlan plan;
  const long n = PlanRewrite(src, len, c, &plan);
  if (n < 0 || static_cast<size_t>(n) > cap) return -1;
  WriteRewrite(src, len, c, plan, f, out);
  return n;
}

}  // namespace shoal::rtp
