// The replay window of srtp_streams.h: check (duplicate or older than the window) and accept (slides the
// bitmap forward, clearing the indices it skipped), bit (index mod 1024) per index.
// What it must not do: allocate, or read or write outside its 16-word bitmap.
#include <cstring>

#include "srtp_streams.h"

namespace shoal::srtp {

bool ReplayWindow::Check(int64_t index) const {
  if (highest_ < 0 || index > highest_) return true;
  if (highest_ - index >= kReplayWindow) return false;
  const uint64_t pos = static_cast<uint64_t>(index) & (kReplayWindow - 1);
  return ((bits_[pos >> 6] >> (pos & 63)) & 1) == 0;
}

void ReplayWindow::Accept(int64_t index) {
  if (index > highest_) {
    if (highest_ < 0 || index - highest_ >= kReplayWindow) {
      std::memset(bits_, 0, sizeof bits_);
    } else {
      for (int64_t i = highest_ + 1; i < index; i++) {
        const uint64_t p = static_cast<uint64_t>(i) & (kReplayWindow - 1);
        bits_[p >> 6] &= ~(uint64_t{1} << (p & 63));
      }
    }
    highest_ = index;
  }
  const uint64_t pos = static_cast<uint64_t>(index) & (kReplayWindow - 1);
  bits_[pos >> 6] |= uint64_t{1} << (pos & 63);
}

}  // namespace shoal::srtp
