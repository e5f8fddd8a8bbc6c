// RTX packetization (RFC 4588 §4), the native twin of writeRtxPacket (src/media/sfu/rtx.ts): a kept
// plaintext RTP packet rewritten onto the RTX stream — RTX SSRC, payload type and sequence number, the
// original sequence number (OSN) as the first two payload bytes, timestamp, marker, CSRCs and header
// extensions kept, padding dropped (P cleared) — with the transport-wide sequence number element (when
// present with 2 bytes) given a fresh number. Byte-identical to the TypeScript (test/native/rtp-rewrite.test.ts).
// What it must not do: decide anything (the RTX numbers come from TypeScript), read outside
// `original[0, len)` or write outside `out[0, cap)`, allocate, keep state, or throw (malformed gives -1).
#pragma once
#include <cstddef>
#include <cstdint>

namespace shoal::rtp {

struct RtxFields {
  uint32_t ssrc = 0;
  uint8_t payloadType = 0;
  uint16_t seq = 0;
  /** The transport-cc element's id in the kept packet (1..255; 0 = leave the element as it is). */
  uint16_t tccId = 0;
  uint16_t tseq = 0;
};

/** Writes the RTX form of `original[0, len)` into `out`; its length, or -1 (malformed, or `out[0, cap)` too short). */
long WriteRtx(const uint8_t* original, size_t len, const RtxFields& f, uint8_t* out, size_t cap);

}  // namespace shoal::rtp
