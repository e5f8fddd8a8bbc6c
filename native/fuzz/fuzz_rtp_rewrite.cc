// libFuzzer harness of the per-subscriber rewrite (rtp_rewrite.h) and the RTX packetizer (rtp_rtx.h,
// on the raw packet and on its rewritten form, as resendRtx runs it): the first bytes choose the rewriter
// (SSRC, payload type, an extension id map, the transport-cc id and the output room), the rest is the
// packet, copied to a heap block of exactly its size. RewriteRtp must never read outside the packet or
// write outside an output block of exactly the room it was given (ASan checks both), its result must be
// -1 or a length within the room, and a planned packet must be written in exactly its planned length;
// WriteRtx likewise stays within the original and an output block of exactly its room.
#include <cstdint>
#include <cstring>
#include <vector>

#include "rtp_rewrite.h"
#include "rtp_rtx.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHead = 24;
  if (size < kHead) return 0;
  shoal::rtp::RewriteConfig c;
  c.ssrc = (static_cast<uint32_t>(data[0]) << 24) | (data[1] << 16) | (data[2] << 8) | data[3];
  c.payloadType = data[4] & 0x7f;
  // Eight map entries: publisher id → subscriber id entry (low byte id, bit 8 forces two-byte).
  for (size_t i = 0; i < 8; i++) {
    const uint8_t from = data[5 + 2 * i];
    const uint8_t to = data[6 + 2 * i];
    if (from != 0) c.idMap[from] = static_cast<uint16_t>(to | (to > 14 ? shoal::rtp::kIdForcesTwoByte : 0));
  }
  c.tccId = static_cast<uint16_t>(data[21] | ((data[22] & 1) != 0 ? shoal::rtp::kIdForcesTwoByte : 0));
  const size_t room = (data[23] & 0x80) != 0 ? 65536 : static_cast<size_t>(data[23]) * 4;
  shoal::rtp::RewriteFields f;
  f.seq = static_cast<uint16_t>(size * 7);
  f.ts = static_cast<uint32_t>(size * 2654435761u);
  f.tseq = static_cast<uint16_t>(size * 13);
  const std::vector<uint8_t> packet(data + kHead, data + size);
  std::vector<uint8_t> out(room);
  const long n = shoal::rtp::RewriteRtp(packet.data(), packet.size(), c, f, out.data(), out.size());
  Check(n == -1 || (n >= 12 && static_cast<size_t>(n) <= room));
  shoal::rtp::RewritePlan plan;
  const long planned = shoal::rtp::PlanRewrite(packet.data(), packet.size(), c, &plan);
  Check(planned == -1 || planned >= 12);
  if (planned > 0) {
    std::vector<uint8_t> exact(static_cast<size_t>(planned));
    shoal::rtp::WriteRewrite(packet.data(), packet.size(), c, plan, f, exact.data());
    if (n > 0) Check(n == planned && std::memcmp(exact.data(), out.data(), exact.size()) == 0);
  }
  shoal::rtp::RtxFields rtx;
  rtx.ssrc = c.ssrc ^ 0x5a5a5a5a;
  rtx.payloadType = static_cast<uint8_t>(c.payloadType ^ 1);
  rtx.seq = f.tseq;
  rtx.tccId = c.tccId & shoal::rtp::kIdMask;
  rtx.tseq = f.seq;
  std::vector<uint8_t> rtxOut(room);
  const long r = shoal::rtp::WriteRtx(packet.data(), packet.size(), rtx, rtxOut.data(), rtxOut.size());
  Check(r == -1 || (r >= 14 && static_cast<size_t>(r) <= room));
  if (n > 0) {
    const std::vector<uint8_t> rewritten(out.begin(), out.begin() + n);
    const long r2 = shoal::rtp::WriteRtx(rewritten.data(), rewritten.size(), rtx, rtxOut.data(), rtxOut.size());
    Check(r2 == -1 || (r2 >= 14 && static_cast<size_t>(r2) <= room));
  }
  return 0;
}
