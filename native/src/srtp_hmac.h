// HMAC-SHA1 (RFC 2104) under one SRTP session authentication key, for profile 1 (RFC 3711 §4.2.1): the
// 20-byte digest of a byte range plus an optional suffix (the ROC). The key is absorbed once into inner
// and outer SHA-1 states, each message copies them (a plain struct copy: measured cheaper than reusing an
// HMAC_CTX or EVP_MAC_CTX, which duplicate provider contexts per message).
// What it must not do: truncate or compare tags (srtp.cc takes 10 bytes and compares in constant time),
// keep state between messages, allocate, or know about packet layout.
#pragma once
#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>

namespace shoal::srtp {

/** HMAC-SHA1 under one key: the pre-keyed inner and outer SHA-1 states are copied per message. */
class HmacSha1 {
 public:
  void SetKey(const uint8_t* key, size_t size);
  /** The 20-byte HMAC of `a[0, aLen)` followed by `b[0, bLen)`. */
  void Digest(const uint8_t* a, size_t aLen, const uint8_t* b, size_t bLen, uint8_t out[20]) const;
  ~HmacSha1();

 private:
  SHA_CTX inner_{};
  SHA_CTX outer_{};
};

}  // namespace shoal::srtp
