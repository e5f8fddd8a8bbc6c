// libFuzzer harness of RtpHistory (rtp_history.h) and the send queue's reservations (UdpSocket
// Reserve/Commit): frames of any size under any (SSRC, sequence number), interleaved with lookups, must
// come back byte-identical while intact and never as bytes another frame overwrote; reservations of any
// size, committed or abandoned, never write outside the queue (ASan checks) on an unbound socket.
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "rtp_history.h"
#include "udp_port.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  shoal::RtpHistory history(4096, 64);  // small, so the ring wraps and the index collides often
  // What was last put under each key, with the byte count written after it (to know when it may be gone).
  std::map<uint64_t, std::vector<uint8_t>> last;
  size_t at = 0;
  uint8_t fill = 0;
  while (at + 5 <= size) {
    const uint8_t op = data[at];
    const uint32_t ssrc = data[at + 1] & 3;
    const uint16_t seq = static_cast<uint16_t>((data[at + 2] << 8) | data[at + 3]) & 0x3f;
    const size_t len = data[at + 4] * 8u;
    at += 5;
    const uint64_t key = (static_cast<uint64_t>(ssrc) << 16) | seq;
    if ((op & 1) == 0) {
      std::vector<uint8_t> frame(len, ++fill);
      history.Put(ssrc, seq, frame.data(), frame.size());
      if (len > 0 && len <= 1024) last[key] = frame;
    } else {
      size_t got = 0;
      const uint8_t* p = history.Get(ssrc, seq, &got);
      if (p != nullptr) {
        // Whatever comes back is exactly the last frame put under this key.
        auto it = last.find(key);
        Check(it != last.end() && got == it->second.size() && std::memcmp(p, it->second.data(), got) == 0);
      }
    }
  }
  shoal::UdpSocket socket;  // never bound: every reservation is refused, nothing is written
  shoal::UdpDest dest;
  for (size_t i = 0; i + 2 <= size && i < 64; i += 2) {
    const size_t want = (static_cast<size_t>(data[i]) << 8 | data[i + 1]) * 4;
    uint8_t* room = socket.Reserve(want, &dest);
    Check(room == nullptr);
    socket.Commit(want);
  }
  Check(socket.Queued() == 0);
  return 0;
}
