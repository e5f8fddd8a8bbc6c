// RtpHistory (rtp_history.h): a frame is stored contiguously at absolute position p (skipping the ring's
// tail when it would not fit there), and is intact while p + capacity >= bytes written since. Growing
// copies the last capacity bytes to the same absolute positions in a ring twice the size (a multiple, so
// no frame is split) and re-indexes the intact entries; older positions are never indexed again.
// What it must not do: read or write outside the ring, or hand out a frame another one overwrote.
#include "rtp_history.h"

#include <algorithm>
#include <cstring>

namespace shoal {

RtpHistory::RtpHistory(size_t bytes, size_t slots, size_t maxBytes, uint64_t keepNs)
    : cap_(bytes),
      slots_(slots < 2 ? 2 : slots),
      maxCap_(std::max(bytes, maxBytes)),
      keepNs_(keepNs),
      ring_(new uint8_t[bytes]),
      index_(new Entry[slots_]) {}

void RtpHistory::Index(uint32_t ssrc, uint16_t seq, uint64_t pos, size_t len) {
  const size_t set = SetOf(ssrc, seq);
  Entry* a = &index_[set];
  Entry* b = &index_[set + 1];
  // The same key again takes its own slot; else a free or stale slot; else the older of the two.
  Entry* e = (a->used && a->ssrc == ssrc && a->seq == seq) ? a
             : (b->used && b->ssrc == ssrc && b->seq == seq) ? b
             : !Intact(*a)                                     ? a
             : !Intact(*b)                                     ? b
             : (a->pos <= b->pos ? a : b);
  e->pos = pos;
  e->ssrc = ssrc;
  e->seq = seq;
  e->len = static_cast<uint16_t>(len);
  e->used = true;
}

void RtpHistory::Grow() {
  const size_t oldCap = cap_;
  const size_t newCap = oldCap * 2;
  std::unique_ptr<uint8_t[]> ring(new uint8_t[newCap]);
  const uint64_t lo = written_ > oldCap ? written_ - oldCap : 0;
  for (uint64_t q = lo; q < written_;) {
    const size_t from = static_cast<size_t>(q % oldCap);
    const size_t to = static_cast<size_t>(q % newCap);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(written_ - q, std::min(oldCap - from, newCap - to)));
    std::memcpy(ring.get() + to, ring_.get() + from, n);
    q += n;
  }
  std::unique_ptr<Entry[]> old = std::move(index_);
  const size_t oldSlots = slots_;
  ring_ = std::move(ring);
  cap_ = newCap;
  slots_ = oldSlots * 2;
  index_.reset(new Entry[slots_]);
  for (size_t i = 0; i < oldSlots; i++) {
    const Entry& e = old[i];
    if (e.used && e.pos >= lo) Index(e.ssrc, e.seq, e.pos, e.len);
  }
}

uint64_t RtpHistory::Place(size_t len) const {
  const uint64_t pos = written_;
  const size_t at = static_cast<size_t>(pos % cap_);
  return at + len > cap_ ? pos + (cap_ - at) : pos;  // never split a frame: skip the tail
}

void RtpHistory::Put(uint32_t ssrc, uint16_t seq, const uint8_t* frame, size_t len, uint64_t nowNs) {
  if (len == 0 || len > cap_ / 4 || len > 0xffff) return;
  if (written_ == 0) segStartNs_[0] = nowNs;
  uint64_t pos = Place(len);
  // Entering segment S overwrites segment S - kSegments, entered at segStartNs_[S % kSegments]: if that is
  // less than keepNs_ ago, grow first (then every segment counts as entered now: an upper bound).
  const size_t segBytes = cap_ / kSegments;
  const uint64_t endSeg = (pos + len - 1) / segBytes;
  for (uint64_t seg = seg_ + 1; seg <= endSeg; seg++) {
    uint64_t& entered = segStartNs_[seg % kSegments];
    if (seg >= kSegments && nowNs - entered < keepNs_ && cap_ * 2 <= maxCap_) {
      Grow();
      pos = Place(len);
      for (uint64_t& t : segStartNs_) t = nowNs;
      seg_ = (pos + len - 1) / (cap_ / kSegments);
      break;
    }
    entered = nowNs;
    seg_ = seg;
  }
  std::memcpy(ring_.get() + (pos % cap_), frame, len);
  written_ = pos + len;
  Index(ssrc, seq, pos, len);
}

const uint8_t* RtpHistory::Get(uint32_t ssrc, uint16_t seq, size_t* len) const {
  *len = 0;
  const size_t set = SetOf(ssrc, seq);
  for (size_t i = set; i < set + 2; i++) {
    const Entry& e = index_[i];
    if (e.ssrc != ssrc || e.seq != seq || !Intact(e)) continue;
    *len = e.len;
    return ring_.get() + (e.pos % cap_);
  }
  return nullptr;
}

}  // namespace shoal
