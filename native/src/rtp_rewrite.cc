// RewriteRtp (rtp_rewrite.h), step for step as rewriteRtpInto's planRewrite/walkExtensions/writeRewrite:
// the same parse checks, the same element walk (stopping at the first malformed element in both passes),
// the same block size and zero fill.
// What it must not do: read a byte before checking it lies within `src[0, len)`, or differ from the
// TypeScript in any output byte or result.
#include "rtp_rewrite.h"

#include <cstring>

namespace shoal::rtp {
namespace {

constexpr uint16_t kOneByteProfile = 0xbede;
constexpr uint16_t kTwoByteProfile = 0x1000;

int ExtForm(uint16_t profile) {
  if (profile == kOneByteProfile) return 1;
  if ((profile & 0xfff0) == kTwoByteProfile) return 2;
  return 0;
}

/** What the counting pass of WalkExtensions found. */
struct Scan {
  size_t kept = 0;
  size_t bytes = 0;
  bool oneByteOk = true;
};

/**
 * Walks the elements of src[start, end) in `form` and, for each whose id maps to a kept id: with `out`
 * null counts it into `scan`; else writes it at out[pos…] in the one-byte or two-byte form. Returns the
 * write position after the last element written.
 */
size_t WalkExtensions(const uint8_t* src, size_t start, size_t end, int form, const uint16_t* idMap, Scan* scan, uint8_t* out,
                      size_t pos, bool oneByte) {
  size_t i = start;
  while (i < end) {
    unsigned eid = 0;
    size_t d = 0;
    size_t l = 0;
    if (form == 1) {
      const uint8_t b = src[i];
      eid = b >> 4;
      if (eid == 0) {
        i++;
        continue;
      }
      if (eid == 15) break;
      d = i + 1;
      l = (b & 0x0f) + 1u;
    } else {
      eid = src[i];
      if (eid == 0) {
        i++;
        continue;
      }
      if (i + 2 > end) break;
      d = i + 2;
      l = src[i + 1];
    }
    if (d + l > end) break;
    i = d + l;
    const uint16_t entry = idMap[eid];
    const unsigned nid = entry & kIdMask;
    if (nid == 0) continue;
    if (out == nullptr) {
      scan->kept++;
      scan->bytes += l;
      if ((entry & kIdForcesTwoByte) != 0 || l < 1 || l > 16) scan->oneByteOk = false;
    } else {
      if (oneByte) {
        out[pos++] = static_cast<uint8_t>((nid << 4) | (l - 1));
      } else {
        out[pos++] = static_cast<uint8_t>(nid);
        out[pos++] = static_cast<uint8_t>(l);
      }
      std::memcpy(out + pos, src + d, l);
      pos += l;
    }
  }
  return pos;
}

}  // namespace

long PlanRewrite(const uint8_t* src, size_t len, const RewriteConfig& c, RewritePlan* plan) {
  if (len < 12) return -1;
  const uint8_t b0 = src[0];
  if ((b0 & 0xc0) != 0x80) return -1;
  const size_t fixedLen = 12 + (static_cast<size_t>(b0 & 0x0f) << 2);
  size_t off = fixedLen;
  if (off > len) return -1;
  bool hasExtension = false;
  uint16_t profile = 0;
  size_t extOffset = 0;
  size_t extLength = 0;
  if ((b0 & 0x10) != 0) {
    if (off + 4 > len) return -1;
    profile = static_cast<uint16_t>((src[off] << 8) | src[off + 1]);
    extLength = static_cast<size_t>((src[off + 2] << 8) | src[off + 3]) << 2;
    extOffset = off + 4;
    off = extOffset + extLength;
    if (off > len) return -1;
    hasExtension = true;
  }
  if ((b0 & 0x20) != 0) {
    const size_t padding = src[len - 1];
    if (padding == 0 || off + padding > len) return -1;
  }
  RewritePlan& p = *plan;
  p.fixedLen = fixedLen;
  p.headerLen = off;
  p.extOffset = extOffset;
  p.extEnd = extOffset + extLength;
  p.srcForm = hasExtension ? ExtForm(profile) : 0;
  p.kept = 0;
  p.oneByte = true;
  p.extBlock = 0;
  size_t bytes = 0;
  if (p.srcForm != 0) {
    Scan scan;
    WalkExtensions(src, p.extOffset, p.extEnd, p.srcForm, c.idMap, &scan, nullptr, 0, true);
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
  return static_cast<long>(fixedLen + p.extBlock + (len - off));
}

void WriteRewrite(const uint8_t* src, size_t len, const RewriteConfig& c, const RewritePlan& p, const RewriteFields& f, uint8_t* out) {
  out[0] = static_cast<uint8_t>((src[0] & 0xef) | (p.kept > 0 ? 0x10 : 0));
  out[1] = static_cast<uint8_t>((src[1] & 0x80) | (c.payloadType & 0x7f));
  out[2] = static_cast<uint8_t>(f.seq >> 8);
  out[3] = static_cast<uint8_t>(f.seq);
  out[4] = static_cast<uint8_t>(f.ts >> 24);
  out[5] = static_cast<uint8_t>(f.ts >> 16);
  out[6] = static_cast<uint8_t>(f.ts >> 8);
  out[7] = static_cast<uint8_t>(f.ts);
  out[8] = static_cast<uint8_t>(c.ssrc >> 24);
  out[9] = static_cast<uint8_t>(c.ssrc >> 16);
  out[10] = static_cast<uint8_t>(c.ssrc >> 8);
  out[11] = static_cast<uint8_t>(c.ssrc);
  if (p.fixedLen > 12) std::memcpy(out + 12, src + 12, p.fixedLen - 12);
  size_t pos = p.fixedLen;
  if (p.kept > 0) {
    const uint16_t profile = p.oneByte ? kOneByteProfile : kTwoByteProfile;
    const size_t words = (p.extBlock - 4) >> 2;
    out[pos] = static_cast<uint8_t>(profile >> 8);
    out[pos + 1] = static_cast<uint8_t>(profile);
    out[pos + 2] = static_cast<uint8_t>(words >> 8);
    out[pos + 3] = static_cast<uint8_t>(words);
    pos += 4;
    const unsigned tccId = c.tccId & kIdMask;
    if (tccId != 0) {
      if (p.oneByte) {
        out[pos++] = static_cast<uint8_t>((tccId << 4) | 1);
      } else {
        out[pos++] = static_cast<uint8_t>(tccId);
        out[pos++] = 2;
      }
      out[pos++] = static_cast<uint8_t>(f.tseq >> 8);
      out[pos++] = static_cast<uint8_t>(f.tseq);
    }
    if (p.srcForm != 0) pos = WalkExtensions(src, p.extOffset, p.extEnd, p.srcForm, c.idMap, nullptr, out, pos, p.oneByte);
    const size_t blockEnd = p.fixedLen + p.extBlock;
    if (pos < blockEnd) {
      std::memset(out + pos, 0, blockEnd - pos);
      pos = blockEnd;
    }
  }
  std::memcpy(out + pos, src + p.headerLen, len - p.headerLen);
}

long RewriteRtp(const uint8_t* src, size_t len, const RewriteConfig& c, const RewriteFields& f, uint8_t* out, size_t cap) {
  RewritePlan plan;
  const long n = PlanRewrite(src, len, c, &plan);
  if (n < 0 || static_cast<size_t>(n) > cap) return -1;
  WriteRewrite(src, len, c, plan, f, out);
  return n;
}

}  // namespace shoal::rtp
