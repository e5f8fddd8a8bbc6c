// SRTP/SRTCP (RFC 3711, RFC 7714) for one DTLS-SRTP session, the native twin of SrtpContext in
// src/media/transport/srtp.ts and byte-for-byte the same: profiles 1 (AES128_CM_HMAC_SHA1_80) and 7
// (AEAD_AES_128_GCM), send-side ROC per SSRC, receive-side index estimation (RFC 3711 App. A) with a
// 1024-packet replay window, SRTCP index per sender SSRC and the E bit. Keys arrive as session keys
// (derived in TypeScript); one OpenSSL cipher context per key is set up once, per packet only the IV is set.
// What it must not do: include Node-API (fuzzers and sanitizer builds link it alone), derive keys, throw
// or read/write out of bounds for packet content (every call returns a length or a negative code), keep
// state outside its Session, or hold more than kMaxStreams SSRCs per direction and kind.
#pragma once
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "srtp_hmac.h"
#include "srtp_streams.h"

namespace shoal::srtp {

/** Results below zero: why a packet was refused (the SRTP_* constants of src/dataplane/native-addon.ts). */
constexpr int kMalformed = -1;
constexpr int kAuthFailed = -2;
constexpr int kReplayed = -3;
constexpr int kNoRoom = -4;

constexpr int kProfileAesCmSha1_80 = 1;
constexpr int kProfileAeadAes128Gcm = 7;

/** The largest packet any call takes (longer ones are malformed): keeps lengths within an int. */
constexpr size_t kMaxPacket = 0x1000000;
/** AES-CM encrypts at most 2^16 blocks per packet (the 16-bit block counter, as srtp-aes-cm.ts). */
constexpr size_t kMaxCmBytes = 0x10000 * 16;

/** Bytes of key material (not owned; only read while a Session is created). */
struct Bytes {
  const uint8_t* data = nullptr;
  size_t size = 0;
};

/** One direction's session keys (srtp-kdf.ts): the auth keys only for the AES-CM profile. */
struct SessionKeys {
  Bytes rtpKey, rtpSalt, rtcpKey, rtcpSalt, rtpAuthKey, rtcpAuthKey;
};

/** One direction's crypto state: a cipher context per key (encrypting for tx, decrypting for rx GCM). */
struct DirectionCrypto {
  EVP_CIPHER_CTX* rtp = nullptr;
  EVP_CIPHER_CTX* rtcp = nullptr;
  uint8_t rtpSalt[14] = {};
  uint8_t rtcpSalt[14] = {};
  HmacSha1 rtpAuth;
  HmacSha1 rtcpAuth;
  ~DirectionCrypto();
};

class Session {
 public:
  /** Null (with *error set to a static text) for an unsupported profile or keys of the wrong size. */
  static std::unique_ptr<Session> Create(int profile, const SessionKeys& tx, const SessionKeys& rx, const char** error);

  /** Writes the SRTP form of `src[0, len)` to `dst[0, room)`; returns its length (dst may be src). */
  int ProtectRtp(const uint8_t* src, size_t len, uint8_t* dst, size_t room);
  /** Authenticates and decrypts `buf[0, len)` in place; returns the plaintext length. A refused packet
   * leaves buf as it was. */
  int UnprotectRtp(uint8_t* buf, size_t len);
  int ProtectRtcp(const uint8_t* src, size_t len, uint8_t* dst, size_t room);
  int UnprotectRtcp(uint8_t* buf, size_t len);

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() = default;

 private:
  struct TxStream {
    int64_t roc;
    uint16_t seq;
  };
  explicit Session(bool gcm) : gcm_(gcm) {}
  bool SetUp(DirectionCrypto& d, const SessionKeys& k, bool encrypt, const char** error);

  const bool gcm_;
  DirectionCrypto tx_;
  DirectionCrypto rx_;
  StreamTable<TxStream> txRtp_;
  StreamTable<ReplayWindow> rxRtp_;
  /** The next SRTCP index per sender SSRC. */
  StreamTable<uint32_t> txRtcp_;
  StreamTable<ReplayWindow> rxRtcp_;
};

}  // namespace shoal::srtp
