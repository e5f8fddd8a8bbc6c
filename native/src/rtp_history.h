// The sent-frame history of one transport for NACK answers: the SRTP packets it sent, as sent (a resend
// keeps its SRTP index, so its bytes), in a byte ring, found by (SSRC, sequence number) through a
// direct-mapped index. Old frames are overwritten as the ring wraps; a lookup returns a frame only if it
// is still intact and stored under exactly that SSRC and sequence number.
// What it must not do: decide what to resend (the TypeScript NACK budget does), grow, allocate per
// packet, or return bytes that were overwritten.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace shoal {

class RtpHistory {
 public:
  /** `bytes` of frames at most, `slots` (a power of two) index entries. */
  explicit RtpHistory(size_t bytes = 256 * 1024, size_t slots = 2048);

  /** Keeps a copy of `frame[0, len)` (an SRTP packet) under (ssrc, seq); frames over a quarter of the ring are not kept. */
  void Put(uint32_t ssrc, uint16_t seq, const uint8_t* frame, size_t len);
  /** The frame kept under (ssrc, seq), or null (with *len 0). */
  const uint8_t* Get(uint32_t ssrc, uint16_t seq, size_t* len) const;

 private:
  struct Entry {
    uint64_t pos = 0;
    uint32_t ssrc = 0;
    uint16_t seq = 0;
    uint16_t len = 0;
    bool used = false;
  };
  size_t SlotOf(uint32_t ssrc, uint16_t seq) const { return ((ssrc * 2654435761u) ^ seq) & (slots_ - 1); }

  const size_t cap_;
  const size_t slots_;
  std::unique_ptr<uint8_t[]> ring_;
  std::unique_ptr<Entry[]> index_;
  /** Bytes written since construction (absolute positions; ring offset = pos % cap_). */
  uint64_t written_ = 0;
};

}  // namespace shoal
