// TURN framing of one received datagram (RFC 8656 §12 demultiplexing, RFC 5766 §11.4 ChannelData, RFC 5389
// message structure and FINGERPRINT, the Send indication's XOR-PEER-ADDRESS and DATA): which of ChannelData,
// Send indication, other STUN or malformed it is, and where its inner data lies, written into the datagram's
// meta entry so that TypeScript does not parse it again. The twin of src/turn/turn-framing.ts
// (frameTurnDatagram): the same checks in the same order, the same answer for every input.
// Pure bytes: no Node-API, no sockets (udp_binding.cc calls it per datagram; fuzz_turn_framing.cc alone).
// What it must not do: decide anything about allocations, permissions, channel bindings or who gets a
// packet (TypeScript does), read outside the datagram, allocate, or keep state.
#pragma once
#include <cstddef>
#include <cstdint>

namespace shoal {

/** What a datagram is: TURN_FRAMING_* in src/dataplane/native-addon.ts. */
enum class TurnKind : int32_t {
  /** Not framed (framing is off on the port). */
  kNone = 0,
  kChannelData = 1,
  kSendIndication = 2,
  /** Any other well-formed STUN message (a request, a response, another indication): TypeScript decodes it. */
  kOtherStun = 3,
  kMalformed = 4,
};

/** Why a datagram is malformed: the index into TURN_FRAMING_REASONS of native-addon.ts (the TypeScript decoders' messages). */
enum class TurnReason : int32_t {
  kNone = 0,
  kNeitherStunNorChannelData = 1,
  kTruncatedChannelDataHeader = 2,
  kChannelDataLengthExceedsPacket = 3,
  kTruncatedHeader = 4,
  kFirstTwoBitsNotZero = 5,
  kBadMagicCookie = 6,
  kLengthNotMultipleOf4 = 7,
  kLengthDoesNotMatchSize = 8,
  kAttributeAfterFingerprint = 9,
  kTruncatedAttributeHeader = 10,
  kAttributeOverflowsMessage = 11,
  kBadFingerprintLength = 12,
  kBadIntegrityLength = 13,
  kBadFingerprint = 14,
  kSendUnknownRequiredAttribute = 15,
  kSendWithoutPeerOrData = 16,
  kBadAddressLength = 17,
  kUnknownAddressFamily = 18,
};

/** The framing of one datagram; offsets are from the datagram's first byte. */
struct TurnFraming {
  TurnKind kind = TurnKind::kNone;
  TurnReason reason = TurnReason::kNone;
  /** ChannelData: the channel number (0x4000-0x7FFF). */
  uint16_t channel = 0;
  /** Send indication: the peer's family (4 or 6), port and address (IPv4: 4 bytes, IPv6: 16), XOR undone. */
  int peerFamily = 0;
  uint16_t peerPort = 0;
  uint8_t peerAddress[16] = {};
  /** ChannelData: its data; Send indication: the DATA attribute's value. */
  uint32_t innerOffset = 0;
  uint32_t innerLength = 0;
};

/** Frames `data[0, len)`. Total: every input gets an answer, and nothing outside the datagram is read. */
TurnFraming FrameTurnDatagram(const uint8_t* data, size_t len);

/** Words of framing after a datagram's UDP words in a meta entry (kind, detail, peer port, inner offset and length, address). */
constexpr int kTurnMetaWords = 9;

/**
 * Writes `f` as kTurnMetaWords words at `words`: kind; channel, peer family or reason; peer port; inner offset
 * (arena offset: `base` + the datagram-relative one); inner length; the peer address (1 or 4 big-endian words).
 */
void TurnWriteMeta(int32_t* words, const TurnFraming& f, uint32_t base);

/** CRC-32 (ISO-HDLC, zlib's) of `data[0, len)`: STUN's FINGERPRINT is it xor 0x5354554e. */
uint32_t TurnCrc32(const uint8_t* data, size_t len);

}  // namespace shoal
