// Per-stream state of an SRTP session (srtp.h): the receive-side replay window of one stream (RFC 3711
// §3.3.2, as src/media/transport/srtp-replay.ts: a bitmap of the 1024 indices up to the highest accepted)
// and the SSRC table that holds a state per stream, capped at kMaxStreams entries.
// What it must not do: mark an index as seen before its packet authenticated (Check and Accept are
// separate calls), estimate ROCs, grow past kMaxStreams, or allocate except when a new SSRC is added.
#pragma once
#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace shoal::srtp {

/** SSRCs tracked per direction and kind (RTP, RTCP); a new SSRC beyond this is refused as malformed. */
constexpr size_t kMaxStreams = 1024;
/** Replay window size in packets (as srtp-replay.ts). */
constexpr int64_t kReplayWindow = 1024;

/** The receive-side replay window of one stream: a bitmap of the indices up to the highest accepted. */
class ReplayWindow {
 public:
  /** False for a duplicate or an index older than the window. */
  bool Check(int64_t index) const;
  /** Marks an authenticated index as seen, sliding the window forward when it is the newest. */
  void Accept(int64_t index);
  /** Highest accepted index; -1 before the first packet. */
  int64_t highest() const { return highest_; }

 private:
  int64_t highest_ = -1;
  uint64_t bits_[kReplayWindow / 64] = {};
};

/** SSRC → state, at most kMaxStreams entries, remembering the last one found (the common case). */
template <typename T>
class StreamTable {
 public:
  T* Find(uint32_t ssrc) {
    if (last_ != nullptr && lastSsrc_ == ssrc) return last_;
    auto it = map_.find(ssrc);
    if (it == map_.end()) return nullptr;
    lastSsrc_ = ssrc;
    last_ = &it->second;
    return last_;
  }
  bool Full() const { return map_.size() >= kMaxStreams; }
  /** Adds a new SSRC (the caller checked Find and Full). Node addresses are stable: the cache stays valid. */
  T* Insert(uint32_t ssrc, const T& value) {
    last_ = &map_.emplace(ssrc, value).first->second;
    lastSsrc_ = ssrc;
    return last_;
  }

 private:
  std::unordered_map<uint32_t, T> map_;
  uint32_t lastSsrc_ = 0;
  T* last_ = nullptr;
};

}  // namespace shoal::srtp
