// Bounded parsing of the RTP and RTCP header fields SRTP needs (RFC 3550 §5.1/§6.4, RFC 8285 extension
// block): the header length of an RTP packet (fixed part, CSRCs, extension), its sequence number and
// SSRC, the sender SSRC of an RTCP packet, and big-endian loads and stores. Pure and inline: no state,
// no allocation, no OpenSSL or Node-API.
// What it must not do: read a byte past the `end` it is given (every length is checked before the read),
// interpret payloads or extension elements, or throw (malformed input gives a negative result).
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

/** The sequence number of an RTP packet whose header length was checked (at least 12 bytes). */
inline uint16_t RtpSequence(const uint8_t* p) { return LoadU16(p + 2); }

/** The SSRC of an RTP packet whose header length was checked (at least 12 bytes). */
inline uint32_t RtpSsrc(const uint8_t* p) { return LoadU32(p + 8); }

/** True when `p[0, len)` can be an RTCP (compound) packet for SRTCP: at least 8 bytes and version 2. */
inline bool RtcpHeaderOk(const uint8_t* p, size_t len) { return len >= kRtcpHeaderAndSsrc && IsVersion2(p[0]); }

/** The sender SSRC of an RTCP packet that passed RtcpHeaderOk. */
inline uint32_t RtcpSenderSsrc(const uint8_t* p) { return LoadU32(p + 4); }

}  // namespace shoal::rtp
