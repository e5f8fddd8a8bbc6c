// Bounded parsing of the RTP and RTCP header fields SRTP needs (RFC 3550 §5.1/§6.4, RFC 8285 extension
// block): the header length of an RTP packet (fixed part, CSRCs, extension), its layout as the rewrite
// and RTX paths read it (padding, the extension elements one at a time), its sequence number and SSRC,
// the sender SSRC of an RTCP packet, and big-endian loads and stores. Pure and inline: no state, no
// allocation, no OpenSSL or Node-API.
// What it must not do: read a byte past the `end` it is given (every length is checked before the read),
// interpret payloads or what an extension element carries, or throw (malformed input gives a negative
// result or false).
#pragma once
#include <cstddef>
#include <cstdint>

namespace shoal::rtp {

inline uint16_t LoadU16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

inline uint32_t LoadU32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) | (static_cast<uint32_t>(p[2]) << 8) |
         static_cast<uint32_t>(p[3]);
}

inline void StoreU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

constexpr size_t kRtpFixedHeader = 12;
constexpr size_t kRtcpHeaderAndSsrc = 8;

/** True when the first byte says RTP/RTCP version 2. */
inline bool IsVersion2(uint8_t b0) { return (b0 & 0xc0) == 0x80; }

/**
 * Bytes before the payload of the RTP packet `p[0, end)`: 12 + 4·CC, plus 4 + 4·length of the
 * extension block when X is set. Returns -1 when the packet is shorter than 12 bytes, is not version
 * 2, or its CSRC list or extension does not fit within `end`.
 */
inline long RtpHeaderLength(const uint8_t* p, size_t end) {
  if (end < kRtpFixedHeader) return -1;
  const uint8_t b0 = p[0];
  if (!IsVersion2(b0)) return -1;
  size_t off = kRtpFixedHeader + (static_cast<size_t>(b0 & 0x0f) << 2);
  if ((b0 & 0x10) != 0) {
    if (off + 4 > end) return -1;
    off += 4 + (static_cast<size_t>(LoadU16(p + off + 2)) << 2);
  }
  if (off > end) return -1;
  return static_cast<long>(off);
}

inline void StoreU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

/** An RTP packet's layout, as parseRtpHeader (src/media/wire/rtp.ts) checks it. */
struct RtpLayout {
  /** 12 + 4·CC: where the extension block (or the payload) starts. */
  size_t fixedLen = 0;
  /** Bytes before the payload (fixedLen plus the extension block). */
  size_t headerLen = 0;
  /** The extension block's elements, p[extOffset, extEnd) (empty without the X bit). */
  size_t extOffset = 0;
  size_t extEnd = 0;
  /** 1 one-byte (0xBEDE), 2 two-byte (0x100x), 0 no block or a profile whose elements are not read. */
  int extForm = 0;
  /** The P bit's count (the last byte), 0 without it. */
  size_t padding = 0;
};

/**
 * The layout of the RTP packet `p[0, len)`; false when parseRtpHeader refuses it: shorter than 12 bytes,
 * not version 2, CSRCs or extension past the end, or P set with a count of 0 or past the header.
 */
inline bool ParseRtpLayout(const uint8_t* p, size_t len, RtpLayout* out) {
  if (len < kRtpFixedHeader) return false;
  const uint8_t b0 = p[0];
  if (!IsVersion2(b0)) return false;
  RtpLayout l;
  l.fixedLen = kRtpFixedHeader + (static_cast<size_t>(b0 & 0x0f) << 2);
  size_t off = l.fixedLen;
  if (off > len) return false;
  if ((b0 & 0x10) != 0) {
    if (off + 4 > len) return false;
    const uint16_t profile = LoadU16(p + off);
    l.extForm = profile == 0xbede ? 1 : (profile & 0xfff0) == 0x1000 ? 2 : 0;
    l.extOffset = off + 4;
    l.extEnd = l.extOffset + (static_cast<size_t>(LoadU16(p + off + 2)) << 2);
    off = l.extEnd;
    if (off > len) return false;
  }
  l.headerLen = off;
  if ((b0 & 0x20) != 0) {
    l.padding = p[len - 1];
    if (l.padding == 0 || off + l.padding > len) return false;
  }
  *out = l;
  return true;
}

/** One header-extension element: its id, and where its data is. */
struct ExtElement {
  unsigned id = 0;
  size_t data = 0;
  size_t len = 0;
};

/**
 * The next element of the extension elements p[*pos, end) in `form` (1 one-byte, 2 two-byte), skipping
 * padding bytes, and *pos past it; false at the end, for another form, or at the first malformed element
 * (an id 15 in the one-byte form, a header or data past `end`), which ends the walk as rtp.ts ends it.
 */
inline bool NextExtElement(const uint8_t* p, size_t* pos, size_t end, int form, ExtElement* e) {
  size_t i = *pos;
  // Padding: an id of 0 (the high nibble of a one-byte element's header, a two-byte element's first byte).
  while (i < end && (form == 1 ? (p[i] >> 4) : p[i]) == 0) i++;
  *pos = i;
  if (i >= end) return false;
  size_t d = 0;
  size_t n = 0;
  if (form == 1) {
    const uint8_t b = p[i];
    if ((b >> 4) == 15) return false;
    e->id = b >> 4;
    d = i + 1;
    n = (b & 0x0f) + 1u;
  } else if (form == 2) {
    if (i + 2 > end) return false;
    e->id = p[i];
    d = i + 2;
    n = p[i + 1];
  } else {
    return false;
  }
  if (d + n > end) return false;
  e->data = d;
  e->len = n;
  *pos = d + n;
  return true;
}

/** The sequence number of an RTP packet whose header length was checked (at least 12 bytes). */
inline uint16_t RtpSequence(const uint8_t* p) { return LoadU16(p + 2); }

/** The SSRC of an RTP packet whose header length was checked (at least 12 bytes). */
inline uint32_t RtpSsrc(const uint8_t* p) { return LoadU32(p + 8); }

/** True when `p[0, len)` can be an RTCP (compound) packet for SRTCP: at least 8 bytes and version 2. */
inline bool RtcpHeaderOk(const uint8_t* p, size_t len) { return len >= kRtcpHeaderAndSsrc && IsVersion2(p[0]); }

/** The sender SSRC of an RTCP packet that passed RtcpHeaderOk. */
inline uint32_t RtcpSenderSsrc(const uint8_t* p) { return LoadU32(p + 4); }

}  // namespace shoal::rtp
