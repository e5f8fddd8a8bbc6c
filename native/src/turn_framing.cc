// TURN framing of a received datagram (turn_framing.h): first-byte demultiplexing, ChannelData's header,
// the STUN header and attribute walk of src/turn/stun-message.ts decodeStun (same checks, same order),
// FINGERPRINT, and for Send indications the checks of src/turn/turn-framing.ts frameSendIndication.
// What it must not do: read outside the datagram (every offset is checked against `len` before use),
// loop more than once per attribute, allocate, or decide anything beyond what the bytes say.
#include "turn_framing.h"

namespace shoal {

namespace {

constexpr uint32_t kMagicCookie = 0x2112a442;
constexpr size_t kStunHeader = 20;
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr uint16_t kAttrMessageIntegrity = 0x0008;
constexpr uint16_t kAttrXorPeerAddress = 0x0012;
constexpr uint16_t kAttrData = 0x0013;
constexpr uint16_t kAttrFingerprint = 0x8028;
constexpr int kMethodSend = 0x006;
constexpr int kClassIndication = 1;

/** The comprehension-required attributes the TURN server understands (src/turn/known-attributes.ts). */
bool KnownRequired(uint16_t type) {
  switch (type) {
    case 0x0001:  // MAPPED-ADDRESS
    case 0x0006:  // USERNAME
    case 0x0009:  // ERROR-CODE
    case 0x000a:  // UNKNOWN-ATTRIBUTES
    case 0x000c:  // CHANNEL-NUMBER
    case 0x000d:  // LIFETIME
    case 0x0012:  // XOR-PEER-ADDRESS
    case 0x0013:  // DATA
    case 0x0014:  // REALM
    case 0x0015:  // NONCE
    case 0x0016:  // XOR-RELAYED-ADDRESS
    case 0x0017:  // REQUESTED-ADDRESS-FAMILY
    case 0x0019:  // REQUESTED-TRANSPORT
    case 0x001a:  // DONT-FRAGMENT
    case 0x0020:  // XOR-MAPPED-ADDRESS
    case 0x0024:  // PRIORITY
    case 0x0025:  // USE-CANDIDATE
      return true;
    default:
      return false;
  }
}

uint16_t U16(const uint8_t* b) { return static_cast<uint16_t>(b[0] << 8 | b[1]); }
uint32_t U32(const uint8_t* b) { return static_cast<uint32_t>(U16(b)) << 16 | U16(b + 2); }
size_t Pad4(size_t n) { return (n + 3) & ~static_cast<size_t>(3); }

TurnFraming Malformed(TurnReason reason) {
  TurnFraming f;
  f.kind = TurnKind::kMalformed;
  f.reason = reason;
  return f;
}

TurnFraming FrameChannelData(const uint8_t* data, size_t len) {
  if (len < 4) return Malformed(TurnReason::kTruncatedChannelDataHeader);
  size_t inner = U16(data + 2);
  if (4 + inner > len) return Malformed(TurnReason::kChannelDataLengthExceedsPacket);
  TurnFraming f;
  f.kind = TurnKind::kChannelData;
  f.channel = U16(data);
  f.innerOffset = 4;
  f.innerLength = static_cast<uint32_t>(inner);
  return f;
}

/** XOR-PEER-ADDRESS at data[at, at + attrLen) with the transaction id at data[8, 20) (decodeXorAddress). */
bool DecodePeer(const uint8_t* data, size_t at, size_t attrLen, TurnFraming* f) {
  if (attrLen < 4) {
    *f = Malformed(TurnReason::kBadAddressLength);
    return false;
  }
  uint8_t family = data[at + 1];
  size_t size = family == 0x01 ? 4 : family == 0x02 ? 16 : 0;
  if (size == 0) {
    *f = Malformed(TurnReason::kUnknownAddressFamily);
    return false;
  }
  if (attrLen != 4 + size) {
    *f = Malformed(TurnReason::kBadAddressLength);
    return false;
  }
  // The mask is the magic cookie then the transaction id: exactly bytes 4..20 of the message.
  for (size_t i = 0; i < size; i++) f->peerAddress[i] = data[at + 4 + i] ^ data[4 + i];
  f->peerFamily = size == 4 ? 4 : 6;
  f->peerPort = static_cast<uint16_t>(U16(data + at + 2) ^ (kMagicCookie >> 16));
  return true;
}

TurnFraming FrameStun(const uint8_t* data, size_t len) {
  if (len < kStunHeader) return Malformed(TurnReason::kTruncatedHeader);
  uint16_t type = U16(data);
  if (type & 0xc000) return Malformed(TurnReason::kFirstTwoBitsNotZero);
  size_t length = U16(data + 2);
  if (U32(data + 4) != kMagicCookie) return Malformed(TurnReason::kBadMagicCookie);
  if (length % 4 != 0) return Malformed(TurnReason::kLengthNotMultipleOf4);
  if (kStunHeader + length != len) return Malformed(TurnReason::kLengthDoesNotMatchSize);
  int method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  int cls = ((type >> 4) & 1) | ((type >> 7) & 2);
  const bool send = method == kMethodSend && cls == kClassIndication;

  // The attribute walk of decodeStun. Attributes listed: those before MESSAGE-INTEGRITY (others are ignored).
  bool unknownRequired = false;
  size_t peerAt = 0, peerLen = 0, dataAt = 0, dataLen = 0;
  bool havePeer = false, haveData = false;
  bool haveIntegrity = false;
  size_t fingerprintAt = 0;
  bool haveFingerprint = false;
  size_t off = kStunHeader;
  while (off < len) {
    if (haveFingerprint) return Malformed(TurnReason::kAttributeAfterFingerprint);
    if (off + 4 > len) return Malformed(TurnReason::kTruncatedAttributeHeader);
    uint16_t attrType = U16(data + off);
    size_t attrLen = U16(data + off + 2);
    size_t next = off + 4 + Pad4(attrLen);
    if (next > len) return Malformed(TurnReason::kAttributeOverflowsMessage);
    if (attrType == kAttrFingerprint) {
      if (attrLen != 4) return Malformed(TurnReason::kBadFingerprintLength);
      fingerprintAt = off;
      haveFingerprint = true;
    } else if (haveIntegrity) {
      // ignored: follows MESSAGE-INTEGRITY
    } else if (attrType == kAttrMessageIntegrity) {
      if (attrLen != 20) return Malformed(TurnReason::kBadIntegrityLength);
      haveIntegrity = true;
    } else {
      if (attrType < 0x8000 && !KnownRequired(attrType)) unknownRequired = true;
      if (attrType == kAttrXorPeerAddress && !havePeer) {
        havePeer = true;
        peerAt = off + 4;
        peerLen = attrLen;
      } else if (attrType == kAttrData && !haveData) {
        haveData = true;
        dataAt = off + 4;
        dataLen = attrLen;
      }
    }
    off = next;
  }
  if (haveFingerprint && (TurnCrc32(data, fingerprintAt) ^ kFingerprintXor) != U32(data + fingerprintAt + 4)) {
    return Malformed(TurnReason::kBadFingerprint);
  }
  TurnFraming f;
  if (!send) {
    f.kind = TurnKind::kOtherStun;
    return f;
  }
  if (unknownRequired) return Malformed(TurnReason::kSendUnknownRequiredAttribute);
  if (!havePeer || !haveData) return Malformed(TurnReason::kSendWithoutPeerOrData);
  if (!DecodePeer(data, peerAt, peerLen, &f)) return f;
  f.kind = TurnKind::kSendIndication;
  f.innerOffset = static_cast<uint32_t>(dataAt);
  f.innerLength = static_cast<uint32_t>(dataLen);
  return f;
}

/** The CRC-32 table (reflected polynomial 0xedb88320), built at compile time. */
struct CrcTable {
  uint32_t entries[256];
  constexpr CrcTable() : entries() {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      entries[n] = c;
    }
  }
};

constexpr CrcTable kCrcTable;

}  // namespace

uint32_t TurnCrc32(const uint8_t* data, size_t len) {
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; i++) c = kCrcTable.entries[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

TurnFraming FrameTurnDatagram(const uint8_t* data, size_t len) {
  // RFC 8656 §12 / RFC 7983 by the first byte: 0-3 STUN, 64-127 ChannelData, anything else (or nothing) neither.
  if (len == 0 || data == nullptr) return Malformed(TurnReason::kNeitherStunNorChannelData);
  uint8_t b0 = data[0];
  if (b0 <= 3) return FrameStun(data, len);
  if (b0 >= 0x40 && b0 <= 0x7f) return FrameChannelData(data, len);
  return Malformed(TurnReason::kNeitherStunNorChannelData);
}

void TurnWriteMeta(int32_t* words, const TurnFraming& f, uint32_t base) {
  words[0] = static_cast<int32_t>(f.kind);
  switch (f.kind) {
    case TurnKind::kChannelData:
      words[1] = f.channel;
      break;
    case TurnKind::kSendIndication:
      words[1] = f.peerFamily;
      break;
    default:
      words[1] = static_cast<int32_t>(f.reason);
  }
  words[2] = f.peerPort;
  words[3] = static_cast<int32_t>(base + f.innerOffset);
  words[4] = static_cast<int32_t>(f.innerLength);
  for (int w = 0; w < 4; w++) words[5 + w] = static_cast<int32_t>(f.peerFamily == 0 || (f.peerFamily == 4 && w > 0) ? 0 : U32(f.peerAddress + 4 * w));
}

}  // namespace shoal
