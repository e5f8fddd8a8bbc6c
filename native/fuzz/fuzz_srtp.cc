// libFuzzer harness of the SRTP core (native/src/srtp.cc, rtp_parse.h): the input is a profile byte and a
// list of operations on two sessions of one DTLS-SRTP association (A sends to B): protect of input bytes
// as RTP/RTCP (then B must get exactly them back, or a replay verdict), hostile unprotect of raw bytes,
// tampered and truncated protected packets (never accepted, their buffer left as it was), protect into too-small and overlapping
// destinations. Buffers are heap copies of exact size so AddressSanitizer sees any byte out of bounds.
// What it must not do: keep state between inputs (sessions are made per input), or call Node-API.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "srtp.h"

namespace {

using shoal::srtp::Bytes;
using shoal::srtp::Session;
using shoal::srtp::SessionKeys;

/** Fixed session keys of both directions (the fuzzer explores packets, not keys). */
struct KeySet {
  uint8_t key[2][2][16];
  uint8_t salt[2][2][14];
  uint8_t auth[2][2][20];
  KeySet() {
    for (int d = 0; d < 2; d++) {
      for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 16; i++) key[d][k][i] = static_cast<uint8_t>(d * 97 + k * 31 + i);
        for (int i = 0; i < 14; i++) salt[d][k][i] = static_cast<uint8_t>(d * 51 + k * 7 + i * 3);
        for (int i = 0; i < 20; i++) auth[d][k][i] = static_cast<uint8_t>(d * 13 + k * 101 + i * 5);
      }
    }
  }
  SessionKeys Direction(int d, bool gcm) const {
    const size_t saltLen = gcm ? 12 : 14;
    return SessionKeys{Bytes{key[d][0], 16}, Bytes{salt[d][0], saltLen}, Bytes{key[d][1], 16}, Bytes{salt[d][1], saltLen},
                       Bytes{auth[d][0], gcm ? 0u : 20u}, Bytes{auth[d][1], gcm ? 0u : 20u}};
  }
};

const KeySet kKeys;

void Check(bool ok) {
  if (!ok) std::abort();
}

/** Protects `plain` with A (RTP or RTCP) and has B unprotect it: the same bytes back, or a replay. */
void RoundTrip(Session& a, Session& b, bool rtcp, const std::vector<uint8_t>& plain, size_t extraRoom) {
  std::vector<uint8_t> out(plain.size() + extraRoom);
  const int r = rtcp ? a.ProtectRtcp(plain.data(), plain.size(), out.data(), out.size()) : a.ProtectRtp(plain.data(), plain.size(), out.data(), out.size());
  if (r < 0) return;
  Check(static_cast<size_t>(r) <= out.size() && static_cast<size_t>(r) > plain.size());
  std::vector<uint8_t> wire(out.begin(), out.begin() + r);
  const int p = rtcp ? b.UnprotectRtcp(wire.data(), wire.size()) : b.UnprotectRtp(wire.data(), wire.size());
  if (p == shoal::srtp::kReplayed) return;
  Check(p == static_cast<int>(plain.size()) && (plain.empty() || std::memcmp(wire.data(), plain.data(), plain.size()) == 0));
}

/** Protects `plain`, flips one bit or cuts the packet short: B must refuse it. */
void Tampered(Session& a, Session& b, bool rtcp, const std::vector<uint8_t>& plain, uint16_t where) {
  std::vector<uint8_t> out(plain.size() + 64);
  const int r = rtcp ? a.ProtectRtcp(plain.data(), plain.size(), out.data(), out.size()) : a.ProtectRtp(plain.data(), plain.size(), out.data(), out.size());
  if (r <= 0) return;
  std::vector<uint8_t> wire(out.begin(), out.begin() + r);
  if ((where & 1) != 0) {
    wire.resize(static_cast<size_t>(where >> 1) % wire.size());
  } else {
    const size_t bit = static_cast<size_t>(where >> 1) % (wire.size() * 8);
    wire[bit >> 3] ^= static_cast<uint8_t>(1u << (bit & 7));
  }
  const std::vector<uint8_t> sent(wire);
  const int p = rtcp ? b.UnprotectRtcp(wire.data(), wire.size()) : b.UnprotectRtp(wire.data(), wire.size());
  Check(p < 0 && wire == sent);  // refused, and the buffer left as it was
}

/** Protects in place inside one buffer holding the plaintext, the output `offset` bytes later. */
void Overlapping(Session& a, bool rtcp, const std::vector<uint8_t>& plain, size_t offset) {
  std::vector<uint8_t> buf(plain.size() + offset + 40);
  if (!plain.empty()) std::memcpy(buf.data(), plain.data(), plain.size());
  const int r = rtcp ? a.ProtectRtcp(buf.data(), plain.size(), buf.data() + offset, buf.size() - offset)
                     : a.ProtectRtp(buf.data(), plain.size(), buf.data() + offset, buf.size() - offset);
  Check(r < 0 || static_cast<size_t>(r) + offset <= buf.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool gcm = (data[0] & 1) != 0;
  const int profile = gcm ? shoal::srtp::kProfileAeadAes128Gcm : shoal::srtp::kProfileAesCmSha1_80;
  const char* error = nullptr;
  auto a = Session::Create(profile, kKeys.Direction(0, gcm), kKeys.Direction(1, gcm), &error);
  auto b = Session::Create(profile, kKeys.Direction(1, gcm), kKeys.Direction(0, gcm), &error);
  // C has A's keys: what it sends never reaches B intact, so A's send history stays exactly what B saw.
  auto c = Session::Create(profile, kKeys.Direction(0, gcm), kKeys.Direction(1, gcm), &error);
  Check(a != nullptr && b != nullptr && c != nullptr);
  // Operations: [op][len lo][len hi][len bytes]…; the length is cut to what is left.
  size_t at = 1;
  while (at + 3 <= size) {
    const uint8_t op = data[at];
    size_t len = static_cast<size_t>(data[at + 1]) | (static_cast<size_t>(data[at + 2] & 0x07) << 8);
    at += 3;
    if (len > size - at) len = size - at;
    const std::vector<uint8_t> chunk(data + at, data + at + len);
    at += len;
    std::vector<uint8_t> raw(chunk);
    const bool rtcp = (op & 0x10) != 0;
    switch (op & 0x0f) {
      case 0:
        RoundTrip(*a, *b, rtcp, chunk, op >> 5);  // room 0..7 past the input: tag may not fit
        break;
      case 1:
        RoundTrip(*a, *b, rtcp, chunk, 64);
        break;
      case 2:
        (rtcp ? b->UnprotectRtcp(raw.data(), raw.size()) : b->UnprotectRtp(raw.data(), raw.size()));
        break;
      case 3:
        Tampered(*c, *b, rtcp, chunk, static_cast<uint16_t>(op << 8 | len));
        break;
      case 4:
        Overlapping(*c, rtcp, chunk, op >> 5);
        break;
      default:
        break;
    }
  }
  return 0;
}
