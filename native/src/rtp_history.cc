// RtpHistory (rtp_history.h): a frame is stored contiguously at absolute position p (skipping the ring's
// tail when it would not fit there), and is intact while p + capacity >= bytes written since.
// What it must not do: read or write outside the ring, or hand out a frame another one overwrote.
#include "rtp_history.h"

#include <cstring>

namespace shoal {

RtpHistory::RtpHistory(size_t bytes, size_t slots)
    : cap_(bytes), slots_(slots), ring_(new uint8_t[bytes]), index_(new Entry[slots]) {}

void RtpHistory::Put(uint32_t ssrc, uint16_t seq, const uint8_t* frame, size_t len) {
  if (len == 0 || len > cap_ / 4 || len > 0xffff) return;
  uint64_t pos = written_;
  const size_t at = static_cast<size_t>(pos % cap_);
  if (at + len > cap_) pos += cap_ - at;  // never split a frame: skip the tail
  std::memcpy(ring_.get() + (pos % cap_), frame, len);
  written_ = pos + len;
  Entry& e = index_[SlotOf(ssrc, seq)];
  e.pos = pos;
  e.ssrc = ssrc;
  e.seq = seq;
  e.len = static_cast<uint16_t>(len);
  e.used = true;
}

const uint8_t* RtpHistory::Get(uint32_t ssrc, uint16_t seq, size_t* len) const {
  *len = 0;
  const Entry& e = index_[SlotOf(ssrc, seq)];
  if (!e.used || e.ssrc != ssrc || e.seq != seq || e.pos + cap_ < written_) return nullptr;
  *len = e.len;
  return ring_.get() + (e.pos % cap_);
}

}  // namespace shoal
