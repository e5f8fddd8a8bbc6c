// The sent-frame history of one transport for NACK answers: the SRTP packets it sent, as sent (a resend
// keeps its SRTP index, so its bytes), in a byte ring, found by (SSRC, sequence number) through a
// two-way set-associative index. Old frames are overwritten as the ring wraps; a lookup returns a frame
// only if it is still intact and stored under exactly that SSRC and sequence number. The ring keeps at
// least `keepNs` of what was sent: when it wraps sooner than that, it doubles (ring and index), up to
// `maxBytes`, so a busy transport (a subscriber of several HD streams) still has about a second to answer.
// What it must not do: decide what to resend (the TypeScript NACK budget does), allocate per packet
// (it grows a few times per transport at most), or return bytes that were overwritten.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace shoal {

class RtpHistory {
 public:
  /** `bytes` (a power of two ≥ 64) of frames at first, `slots` (a power of two ≥ 2) index entries; grows up to `maxBytes`. */
  explicit RtpHistory(size_t bytes = 256 * 1024, size_t slots = 2048, size_t maxBytes = 4 * 1024 * 1024,
                      uint64_t keepNs = 1000000000ull);

  /**
   * Keeps a copy of `frame[0, len)` (an SRTP packet) under (ssrc, seq), sent at `nowNs` (any monotonic
   * clock); frames over a quarter of the ring are not kept.
   */
  void Put(uint32_t ssrc, uint16_t seq, const uint8_t* frame, size_t len, uint64_t nowNs);
  /** The frame kept under (ssrc, seq), or null (with *len 0). */
  const uint8_t* Get(uint32_t ssrc, uint16_t seq, size_t* len) const;
  /** The ring's size now. */
  size_t capacity() const { return cap_; }

 private:
  struct Entry {
    uint64_t pos = 0;
    uint32_t ssrc = 0;
    uint16_t seq = 0;
    uint16_t len = 0;
    bool used = false;
  };
  /** The first of the two slots (ssrc, seq) may be in. */
  size_t SetOf(uint32_t ssrc, uint16_t seq) const { return ((ssrc * 2654435761u) ^ (seq * 40503u)) & (slots_ - 2); }
  bool Intact(const Entry& e) const { return e.used && e.pos + cap_ >= written_; }
  /** Where a frame of `len` bytes goes next (absolute position). */
  uint64_t Place(size_t len) const;
  void Index(uint32_t ssrc, uint16_t seq, uint64_t pos, size_t len);
  /** Doubles the ring and the index, keeping every intact frame. */
  void Grow();

  size_t cap_;
  size_t slots_;
  const size_t maxCap_;
  const uint64_t keepNs_;
  std::unique_ptr<uint8_t[]> ring_;
  std::unique_ptr<Entry[]> index_;
  /** Bytes written since construction (absolute positions; ring offset = pos % cap_). */
  uint64_t written_ = 0;
  /** The ring in eighths: when writing entered each of the last kSegments segments, and the last one entered. */
  static constexpr size_t kSegments = 8;
  uint64_t segStartNs_[kSegments] = {};
  uint64_t seg_ = 0;
};

}  // namespace shoal
