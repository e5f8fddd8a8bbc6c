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
  // Small, so the ring wraps, grows (up to 64 KiB: a lap under 1000 "ns" of the input's clock) and the
  // index collides often.
  shoal::RtpHistory history(4096, 64, 65536, 1000);
  uint64_t now = 0;
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
      now += op >> 4;  // the clock advances 0-15 per put: some laps are fast (the ring grows), some slow
      history.Put(ssrc, seq, frame.data(), frame.size(), now);
      if (len > 0 && len <= history.capacity() / 4) last[key] = frame;  // kept (the ring may just have grown)
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
