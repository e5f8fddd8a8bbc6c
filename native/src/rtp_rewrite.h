// The per-subscriber RTP header rewrite, the native twin of rewriteRtpInto (src/media/wire/rtp.ts): SSRC,
// payload type, sequence number, timestamp, header-extension ids renumbered by the subscriber's map (ids
// not in it dropped; re-encoded one-byte 0xBEDE when every kept id ≤ 14 and length ≤ 16, else two-byte),
// the transport-wide sequence number element written first; CSRCs, marker, padding and payload copied.
// Byte-identical to the TypeScript for every input (test/native/rtp-rewrite.test.ts checks it).
// What it must not do: decide anything (the ids, numbers and offsets come from TypeScript), read outside
// `src[0, len)` or write outside `out[0, cap)`, allocate, keep state, or throw (malformed input gives -1).
#pragma once
#include <cstddef>
#include <cstdint>

#include "rtp_parse.h"

namespace shoal::rtp {

/** An id entry (extension map or transport-cc id): the id written in its low 8 bits, 0 = dropped/none. */
constexpr uint16_t kIdMask = 0xff;
/** Set on an id entry whose TypeScript value is above 14, so it forces the two-byte form (ids 15..255). */
constexpr uint16_t kIdForcesTwoByte = 0x100;

/** What one subscriber's stream is rewritten to (fixed for a consumer's life). */
struct RewriteConfig {
  uint32_t ssrc = 0;
  uint8_t payloadType = 0;
  /** Publisher extension id (1..255) → the subscriber's id entry; 0 drops the element. */
  uint16_t idMap[256] = {};
  /** The transport-wide sequence number element's id entry; 0 = none. */
  uint16_t tccId = 0;
};

/** The fields that change per packet. */
struct RewriteFields {
  uint16_t seq = 0;
  uint32_t ts = 0;
  uint16_t tseq = 0;
};

/** What PlanRewrite found: enough for WriteRewrite to write without walking the checks again. */
struct RewritePlan {
  /** The source packet's layout (rtp_parse.h); its extension elements are read when extForm is not 0. */
  RtpLayout src;
  /** Elements written (the transport-cc one included), in the one-byte form or the two-byte one. */
  size_t kept = 0;
  bool oneByte = true;
  /** The rewritten extension block's size (0: none). */
  size_t extBlock = 0;
};

/** Parses `src[0, len)` as parseRtpHeader does and plans the rewrite; returns the rewritten length or -1 (malformed). */
long PlanRewrite(const uint8_t* src, size_t len, const RewriteConfig& c, RewritePlan* plan);

/** Writes the packet planned by PlanRewrite into `out` (which holds the planned length). */
void WriteRewrite(const uint8_t* src, size_t len, const RewriteConfig& c, const RewritePlan& plan, const RewriteFields& f, uint8_t* out);

/** Plan and write: the rewritten length, or -1 when `src` is malformed or `out[0, cap)` is too short (nothing written). */
long RewriteRtp(const uint8_t* src, size_t len, const RewriteConfig& c, const RewriteFields& f, uint8_t* out, size_t cap);

}  // namespace shoal::rtp
