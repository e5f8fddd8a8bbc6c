// libFuzzer harness of the native TURN framing (native/src/turn_framing.h), which reads every datagram the
// TURN server's UdpPort receives: the input is framed as it is, and again made into a STUN message with a
// right header (cookie, length) and, when it ends in one, a right FINGERPRINT, so that the attribute walk,
// the Send indication's checks and the XOR-PEER-ADDRESS decode are reached at once. Each copy is exactly the
// input's size on the heap (ASan sees any read past it). Every answer must be consistent: a kind, a reason
// only when malformed, inner data inside the datagram, a channel in range, a peer family of 4 or 6; the CRC
// must match a bit-by-bit one; TurnWriteMeta writes its words and no more.
// What it must not do: depend on anything but the framing core (no Node-API, no sockets), or keep state.
#include <cstdint>
#include <cstring>
#include <memory>

#include "turn_framing.h"

namespace {

using shoal::TurnFraming;
using shoal::TurnKind;
using shoal::TurnReason;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

uint32_t BitwiseCrc32(const uint8_t* data, size_t len) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; i++) {
    c ^= data[i];
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
  }
  return c ^ 0xffffffffu;
}

void FrameAndCheck(const uint8_t* input, size_t size) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
  if (size > 0) std::memcpy(copy.get(), input, size);
  const uint8_t* data = size == 0 ? nullptr : copy.get();
  TurnFraming f = shoal::FrameTurnDatagram(data, size);
  const bool hasInner = f.kind == TurnKind::kChannelData || f.kind == TurnKind::kSendIndication;
  Check(f.kind >= TurnKind::kChannelData && f.kind <= TurnKind::kMalformed);
  Check((f.kind == TurnKind::kMalformed) == (f.reason != TurnReason::kNone));
  Check(f.reason >= TurnReason::kNone && f.reason <= TurnReason::kUnknownAddressFamily);
  if (hasInner) Check(f.innerOffset <= size && f.innerLength <= size - f.innerOffset);
  else Check(f.innerOffset == 0 && f.innerLength == 0);
  if (f.kind == TurnKind::kChannelData) {
    Check(f.channel >= 0x4000 && f.channel <= 0x7fff && f.innerOffset == 4);
    Check(static_cast<size_t>(data[2] << 8 | data[3]) == f.innerLength);
  }
  if (f.kind == TurnKind::kSendIndication) {
    Check(f.peerFamily == 4 || f.peerFamily == 6);
    Check(size >= 20 && data[0] == 0x00 && data[1] == 0x16 && f.innerOffset >= 24);
  } else {
    Check(f.peerFamily == 0);
  }
  if (f.kind == TurnKind::kOtherStun || f.kind == TurnKind::kSendIndication) Check(size >= 20 && size % 4 == 0 && data[0] <= 3);

  int32_t words[shoal::kTurnMetaWords + 1];
  words[shoal::kTurnMetaWords] = 0x5a5a5a5a;
  shoal::TurnWriteMeta(words, f, 1000);
  Check(words[shoal::kTurnMetaWords] == 0x5a5a5a5a);
  Check(words[0] == static_cast<int32_t>(f.kind));
  if (hasInner) Check(words[3] == static_cast<int32_t>(1000 + f.innerOffset) && words[4] == static_cast<int32_t>(f.innerLength));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FrameAndCheck(data, size);

  // The same bytes as the body of a well-headed STUN message (a Send indication when the first input byte is
  // even), with a right FINGERPRINT when the body ends in a FINGERPRINT header: the deep paths at once.
  size_t body = (size > 1 ? size - 1 : 0) & ~static_cast<size_t>(3);
  if (body > 0xfff0) body = 0xfff0;
  std::unique_ptr<uint8_t[]> msg(new uint8_t[20 + body]);
  const bool send = size > 0 && (data[0] & 1) == 0;
  msg[0] = send ? 0x00 : static_cast<uint8_t>(size > 0 ? data[0] & 3 : 0);
  msg[1] = send ? 0x16 : 0x01;
  msg[2] = static_cast<uint8_t>(body >> 8);
  msg[3] = static_cast<uint8_t>(body);
  const uint8_t cookie[4] = {0x21, 0x12, 0xa4, 0x42};
  std::memcpy(msg.get() + 4, cookie, 4);
  for (int i = 0; i < 12; i++) msg[8 + i] = static_cast<uint8_t>(i * 37);
  if (body > 0) std::memcpy(msg.get() + 20, data + 1, body);
  const size_t total = 20 + body;
  if (body >= 8 && msg[total - 8] == 0x80 && msg[total - 7] == 0x28 && msg[total - 6] == 0 && msg[total - 5] == 4) {
    const uint32_t fp = shoal::TurnCrc32(msg.get(), total - 8) ^ 0x5354554eu;
    for (int i = 0; i < 4; i++) msg[total - 4 + i] = static_cast<uint8_t>(fp >> (24 - 8 * i));
  }
  FrameAndCheck(msg.get(), total);

  Check(shoal::TurnCrc32(data, size < 256 ? size : 256) == BitwiseCrc32(data, size < 256 ? size : 256));
  return 0;
}
