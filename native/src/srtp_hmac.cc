// HMAC-SHA1 of srtp_hmac.h on OpenSSL's low-level SHA-1 (SHA-NI when the CPU has it): pre-keyed inner and
// outer states, copied per message; key material and intermediate states are wiped after use.
// What it must not do: allocate or read beyond the ranges it is given.
#define OPENSSL_SUPPRESS_DEPRECATED  // SHA1_*: deprecated in OpenSSL 3, but the only copyable SHA-1 state
#include "srtp_hmac.h"

#include <openssl/crypto.h>

#include <cstring>

namespace shoal::srtp {

void HmacSha1::SetKey(const uint8_t* key, size_t size) {
  uint8_t pad[64];
  for (int round = 0; round < 2; round++) {
    std::memset(pad, round == 0 ? 0x36 : 0x5c, sizeof pad);
    for (size_t i = 0; i < size && i < sizeof pad; i++) pad[i] ^= key[i];
    SHA_CTX& c = round == 0 ? inner_ : outer_;
    SHA1_Init(&c);
    SHA1_Update(&c, pad, sizeof pad);
  }
  OPENSSL_cleanse(pad, sizeof pad);
}

void HmacSha1::Digest(const uint8_t* a, size_t aLen, const uint8_t* b, size_t bLen, uint8_t out[20]) const {
  SHA_CTX c = inner_;
  SHA1_Update(&c, a, aLen);
  if (bLen > 0) SHA1_Update(&c, b, bLen);
  uint8_t innerHash[20];
  SHA1_Final(innerHash, &c);
  c = outer_;
  SHA1_Update(&c, innerHash, sizeof innerHash);
  SHA1_Final(out, &c);
  OPENSSL_cleanse(&c, sizeof c);
}

HmacSha1::~HmacSha1() {
  OPENSSL_cleanse(&inner_, sizeof inner_);
  OPENSSL_cleanse(&outer_, sizeof outer_);
}

}  // namespace shoal::srtp
