// SRTP/SRTCP protect and unprotect of one session (srtp.h): the per-packet IVs, AES-CM and AES-GCM through
// OpenSSL EVP contexts set up once per key, HMAC-SHA1 (srtp_hmac.h), ROC estimation, the SRTCP index and
// the replay window (srtp_streams.h) — the same bytes and verdicts as src/media/transport/srtp.ts.
// What it must not do: allocate per packet (only a new SSRC adds a table entry), set up a cipher per
// packet (only the IV), read or write outside the ranges it is given, or mark a packet as seen before it
// authenticated.
#include "srtp.h"

#include <openssl/crypto.h>

#include <cstring>

#include "rtp_parse.h"

namespace shoal::srtp {
namespace {

constexpr size_t kGcmTag = 16;
constexpr size_t kHmacTag = 10;
constexpr size_t kSrtcpIndex = 4;
constexpr uint32_t kMaxSrtcpIndex = 0x7fffffff;
constexpr uint32_t kEBit = 0x80000000;

/** Estimated ROC of sequence `seq` given the highest ROC/seq so far (RFC 3711 Appendix A). */
int64_t EstimateRoc(int64_t roc, int64_t sl, int64_t seq) {
  if (sl < 0x8000) return seq - sl > 0x8000 ? roc - 1 : roc;
  return sl - 0x8000 > seq ? roc + 1 : roc;
}

/** iv[0, at) = salt; then SSRC, ROC and SEQ big-endian, each XORed with the salt bytes at their place. */
void SaltedIndex(uint8_t* iv, const uint8_t* salt, size_t at, uint32_t ssrc, uint32_t roc, uint16_t seq) {
  for (size_t i = 0; i < at; i++) iv[i] = salt[i];
  rtp::StoreU32(iv + at, ssrc);
  rtp::StoreU32(iv + at + 4, roc);
  iv[at + 8] = static_cast<uint8_t>(seq >> 8);
  iv[at + 9] = static_cast<uint8_t>(seq);
  for (size_t i = at; i < at + 10; i++) iv[i] ^= salt[i];
}

/** AES-CM IV (RFC 3711 §4.1.1): (salt·2^16) XOR (SSRC·2^64) XOR (index·2^16), 16 bytes. */
void CmIv(uint8_t iv[16], const uint8_t* salt, uint32_t ssrc, uint32_t roc, uint16_t seq) {
  SaltedIndex(iv, salt, 4, ssrc, roc, seq);
  iv[14] = 0;
  iv[15] = 0;
}

/** AES-GCM SRTP IV (RFC 7714 §8.1): (00 00 | SSRC | ROC | SEQ) XOR salt, 12 bytes. */
void GcmRtpIv(uint8_t iv[12], const uint8_t* salt, uint32_t ssrc, uint32_t roc, uint16_t seq) { SaltedIndex(iv, salt, 2, ssrc, roc, seq); }

/** AES-GCM SRTCP IV (RFC 7714 §9.1): (00 00 | SSRC | 00 00 | 31-bit index) XOR salt, 12 bytes. */
void GcmRtcpIv(uint8_t iv[12], const uint8_t* salt, uint32_t ssrc, uint32_t index) {
  iv[0] = 0;
  iv[1] = 0;
  rtp::StoreU32(iv + 2, ssrc);
  iv[6] = 0;
  iv[7] = 0;
  rtp::StoreU32(iv + 8, index);
  for (size_t i = 0; i < 12; i++) iv[i] ^= salt[i];
}

/** Keystream XOR of `in[0, n)` into `out` (may be `in`) under the IV: AES-CTR, or GCM's data pass. */
bool CipherUpdate(EVP_CIPHER_CTX* ctx, uint8_t* out, const uint8_t* in, size_t n) {
  if (n == 0) return true;
  int outLen = 0;
  return EVP_CipherUpdate(ctx, out, &outLen, in, static_cast<int>(n)) == 1 && static_cast<size_t>(outLen) == n;
}

bool Aad(EVP_CIPHER_CTX* ctx, const uint8_t* p, size_t n) {
  int outLen = 0;
  return EVP_CipherUpdate(ctx, nullptr, &outLen, p, static_cast<int>(n)) == 1;
}

bool SetIv(EVP_CIPHER_CTX* ctx, const uint8_t* iv) { return EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv, -1) == 1; }

/** Ends a GCM encryption and writes its 16-byte tag. */
bool GcmFinishEncrypt(EVP_CIPHER_CTX* ctx, uint8_t* tag) {
  int outLen = 0;
  uint8_t none[16];
  return EVP_EncryptFinal_ex(ctx, none, &outLen) == 1 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTag, tag) == 1;
}

/** Ends a GCM decryption: true when the 16-byte tag matches. */
bool GcmFinishDecrypt(EVP_CIPHER_CTX* ctx, const uint8_t* tag) {
  int outLen = 0;
  uint8_t none[16];
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTag, const_cast<uint8_t*>(tag)) != 1) return false;
  return EVP_DecryptFinal_ex(ctx, none, &outLen) == 1;
}

/** After a failed GCM tag check: XORs the same keystream over `p[0, n)` again, giving back the ciphertext
 * (GCM decryption is CTR underneath), so a refused packet leaves the caller's buffer as it was. */
void GcmRestore(EVP_CIPHER_CTX* ctx, const uint8_t* iv, uint8_t* p, size_t n) {
  if (SetIv(ctx, iv)) CipherUpdate(ctx, p, p, n);
}

/** Where a protected packet goes: copies `src[0, len)` to dst first when the ranges overlap, so the
 * cipher then runs in place (EVP allows only exact overlap); returns the source to read from. */
const uint8_t* PrepareOutput(const uint8_t* src, size_t len, uint8_t* dst, size_t copyPrefix) {
  if (src == dst) return src;
  if (dst < src + len && src < dst + len) {
    std::memmove(dst, src, len);
    return dst;
  }
  std::memcpy(dst, src, copyPrefix);
  return src;
}

}  // namespace

DirectionCrypto::~DirectionCrypto() {
  EVP_CIPHER_CTX_free(rtp);
  EVP_CIPHER_CTX_free(rtcp);
  OPENSSL_cleanse(rtpSalt, sizeof rtpSalt);
  OPENSSL_cleanse(rtcpSalt, sizeof rtcpSalt);
}

std::unique_ptr<Session> Session::Create(int profile, const SessionKeys& tx, const SessionKeys& rx, const char** error) {
  if (profile != kProfileAesCmSha1_80 && profile != kProfileAeadAes128Gcm) {
    *error = "unsupported SRTP profile (1 or 7)";
    return nullptr;
  }
  std::unique_ptr<Session> s(new Session(profile == kProfileAeadAes128Gcm));
  if (!s->SetUp(s->tx_, tx, true, error) || !s->SetUp(s->rx_, rx, false, error)) return nullptr;
  return s;
}

bool Session::SetUp(DirectionCrypto& d, const SessionKeys& k, bool encrypt, const char** error) {
  const size_t saltLen = gcm_ ? 12 : 14;
  if (k.rtpKey.size != 16 || k.rtcpKey.size != 16) {
    *error = "SRTP session keys must be 16 bytes";
    return false;
  }
  if (k.rtpSalt.size != saltLen || k.rtcpSalt.size != saltLen) {
    *error = gcm_ ? "SRTP session salts must be 12 bytes for profile 7" : "SRTP session salts must be 14 bytes for profile 1";
    return false;
  }
  if (!gcm_ && (k.rtpAuthKey.size != 20 || k.rtcpAuthKey.size != 20)) {
    *error = "SRTP auth keys must be 20 bytes for profile 1";
    return false;
  }
  std::memcpy(d.rtpSalt, k.rtpSalt.data, saltLen);
  std::memcpy(d.rtcpSalt, k.rtcpSalt.data, saltLen);
  // GCM decrypts in decrypt mode (tag check); CTR keystream is the same both ways, so CM always encrypts.
  const EVP_CIPHER* cipher = gcm_ ? EVP_aes_128_gcm() : EVP_aes_128_ctr();
  const int enc = gcm_ && !encrypt ? 0 : 1;
  d.rtp = EVP_CIPHER_CTX_new();
  d.rtcp = EVP_CIPHER_CTX_new();
  if (d.rtp == nullptr || d.rtcp == nullptr || EVP_CipherInit_ex(d.rtp, cipher, nullptr, k.rtpKey.data, nullptr, enc) != 1 ||
      EVP_CipherInit_ex(d.rtcp, cipher, nullptr, k.rtcpKey.data, nullptr, enc) != 1) {
    *error = "OpenSSL could not set up the SRTP ciphers";
    return false;
  }
  if (!gcm_) {
    d.rtpAuth.SetKey(k.rtpAuthKey.data, k.rtpAuthKey.size);
    d.rtcpAuth.SetKey(k.rtcpAuthKey.data, k.rtcpAuthKey.size);
  }
  return true;
}

int Session::ProtectRtp(const uint8_t* src, size_t len, uint8_t* dst, size_t room) {
  if (len > kMaxPacket) return kMalformed;
  const long hlOrError = rtp::RtpHeaderLength(src, len);
  if (hlOrError < 0) return kMalformed;
  const size_t hl = static_cast<size_t>(hlOrError);
  const uint16_t seq = rtp::RtpSequence(src);
  const uint32_t ssrc = rtp::RtpSsrc(src);
  // ROC: estimated against the highest index sent so far (retransmissions of older packets keep theirs).
  TxStream* s = txRtp_.Find(ssrc);
  int64_t roc = 0;
  if (s == nullptr) {
    if (txRtp_.Full()) return kMalformed;
  } else {
    roc = EstimateRoc(s->roc, s->seq, seq);
    if (roc < 0) return kMalformed;
  }
  if (!gcm_ && len - hl > kMaxCmBytes) return kMalformed;
  const size_t outLen = len + (gcm_ ? kGcmTag : kHmacTag);
  if (outLen > room) return kNoRoom;
  if (s == nullptr) {
    txRtp_.Insert(ssrc, TxStream{0, seq});
  } else if (roc > s->roc || (roc == s->roc && seq > s->seq)) {
    s->roc = roc;
    s->seq = seq;
  }
  const uint32_t roc32 = static_cast<uint32_t>(roc);
  src = PrepareOutput(src, len, dst, hl);
  if (gcm_) {
    uint8_t iv[12];
    GcmRtpIv(iv, tx_.rtpSalt, ssrc, roc32, seq);
    if (!SetIv(tx_.rtp, iv) || !Aad(tx_.rtp, dst, hl) || !CipherUpdate(tx_.rtp, dst + hl, src + hl, len - hl) ||
        !GcmFinishEncrypt(tx_.rtp, dst + len)) {
      return kMalformed;
    }
    return static_cast<int>(outLen);
  }
  uint8_t iv[16];
  CmIv(iv, tx_.rtpSalt, ssrc, roc32, seq);
  if (!SetIv(tx_.rtp, iv) || !CipherUpdate(tx_.rtp, dst + hl, src + hl, len - hl)) return kMalformed;
  uint8_t rocBytes[4];
  rtp::StoreU32(rocBytes, roc32);
  uint8_t tag[20];
  tx_.rtpAuth.Digest(dst, len, rocBytes, sizeof rocBytes, tag);
  std::memcpy(dst + len, tag, kHmacTag);
  return static_cast<int>(outLen);
}

int Session::UnprotectRtp(uint8_t* buf, size_t len) {
  const size_t tagLen = gcm_ ? kGcmTag : kHmacTag;
  if (len > kMaxPacket || len < tagLen + rtp::kRtpFixedHeader) return kMalformed;
  const size_t end = len - tagLen;
  const long hlOrError = rtp::RtpHeaderLength(buf, end);
  if (hlOrError < 0) return kMalformed;
  const size_t hl = static_cast<size_t>(hlOrError);
  const uint16_t seq = rtp::RtpSequence(buf);
  const uint32_t ssrc = rtp::RtpSsrc(buf);
  ReplayWindow* w = rxRtp_.Find(ssrc);
  int64_t roc = 0;
  if (w == nullptr) {
    if (rxRtp_.Full()) return kMalformed;
  } else {
    const int64_t h = w->highest();
    roc = EstimateRoc(h >> 16, h & 0xffff, seq);
    if (roc < 0) return kReplayed;
  }
  const int64_t index = roc * 0x10000 + seq;
  if (w != nullptr && !w->Check(index)) return kReplayed;
  if (!gcm_ && end - hl > kMaxCmBytes) return kMalformed;
  const uint32_t roc32 = static_cast<uint32_t>(roc);
  if (gcm_) {
    // Decrypts before the tag check (one pass); a packet that fails is encrypted back.
    uint8_t iv[12];
    GcmRtpIv(iv, rx_.rtpSalt, ssrc, roc32, seq);
    if (!SetIv(rx_.rtp, iv) || !Aad(rx_.rtp, buf, hl) || !CipherUpdate(rx_.rtp, buf + hl, buf + hl, end - hl)) return kMalformed;
    if (!GcmFinishDecrypt(rx_.rtp, buf + end)) {
      GcmRestore(rx_.rtp, iv, buf + hl, end - hl);
      return kAuthFailed;
    }
  } else {
    uint8_t rocBytes[4];
    rtp::StoreU32(rocBytes, roc32);
    uint8_t tag[20];
    rx_.rtpAuth.Digest(buf, end, rocBytes, sizeof rocBytes, tag);
    if (CRYPTO_memcmp(tag, buf + end, kHmacTag) != 0) return kAuthFailed;
    uint8_t iv[16];
    CmIv(iv, rx_.rtpSalt, ssrc, roc32, seq);
    if (!SetIv(rx_.rtp, iv) || !CipherUpdate(rx_.rtp, buf + hl, buf + hl, end - hl)) return kMalformed;
  }
  if (w == nullptr) w = rxRtp_.Insert(ssrc, ReplayWindow());
  w->Accept(index);
  return static_cast<int>(end);
}

int Session::ProtectRtcp(const uint8_t* src, size_t len, uint8_t* dst, size_t room) {
  if (len > kMaxPacket || !rtp::RtcpHeaderOk(src, len)) return kMalformed;
  const uint32_t ssrc = rtp::RtcpSenderSsrc(src);
  uint32_t* next = txRtcp_.Find(ssrc);
  if (next == nullptr && txRtcp_.Full()) return kMalformed;
  const uint32_t index = next == nullptr ? 0 : *next;
  if (!gcm_ && len - rtp::kRtcpHeaderAndSsrc > kMaxCmBytes) return kMalformed;
  const size_t outLen = len + kSrtcpIndex + (gcm_ ? kGcmTag : kHmacTag);
  if (outLen > room) return kNoRoom;
  const uint32_t following = index >= kMaxSrtcpIndex ? 0 : index + 1;
  if (next == nullptr) {
    txRtcp_.Insert(ssrc, following);
  } else {
    *next = following;
  }
  src = PrepareOutput(src, len, dst, rtp::kRtcpHeaderAndSsrc);
  const size_t body = len - rtp::kRtcpHeaderAndSsrc;
  if (gcm_) {
    // header(8) | ciphertext | tag(16) | E+index(4); AAD = header(8) | E+index(4)
    uint8_t* word = dst + len + kGcmTag;
    rtp::StoreU32(word, index | kEBit);
    uint8_t iv[12];
    GcmRtcpIv(iv, tx_.rtcpSalt, ssrc, index);
    if (!SetIv(tx_.rtcp, iv) || !Aad(tx_.rtcp, dst, rtp::kRtcpHeaderAndSsrc) || !Aad(tx_.rtcp, word, kSrtcpIndex) ||
        !CipherUpdate(tx_.rtcp, dst + 8, src + 8, body) || !GcmFinishEncrypt(tx_.rtcp, dst + len)) {
      return kMalformed;
    }
    return static_cast<int>(outLen);
  }
  // header(8) | ciphertext | E+index(4) | tag(10); the tag covers everything before it
  uint8_t iv[16];
  CmIv(iv, tx_.rtcpSalt, ssrc, index >> 16, static_cast<uint16_t>(index));
  if (!SetIv(tx_.rtcp, iv) || !CipherUpdate(tx_.rtcp, dst + 8, src + 8, body)) return kMalformed;
  rtp::StoreU32(dst + len, index | kEBit);
  uint8_t tag[20];
  tx_.rtcpAuth.Digest(dst, len + kSrtcpIndex, nullptr, 0, tag);
  std::memcpy(dst + len + kSrtcpIndex, tag, kHmacTag);
  return static_cast<int>(outLen);
}

int Session::UnprotectRtcp(uint8_t* buf, size_t len) {
  const size_t tagLen = gcm_ ? kGcmTag : kHmacTag;
  if (len > kMaxPacket || len < rtp::kRtcpHeaderAndSsrc + tagLen + kSrtcpIndex || !rtp::IsVersion2(buf[0])) return kMalformed;
  const uint32_t ssrc = rtp::RtcpSenderSsrc(buf);
  // GCM: ... | tag | E+index ; CM: ... | E+index | tag
  const size_t idxOff = gcm_ ? len - kSrtcpIndex : len - kHmacTag - kSrtcpIndex;
  const uint32_t word = rtp::LoadU32(buf + idxOff);
  const bool encrypted = (word & kEBit) != 0;
  const uint32_t index = word & kMaxSrtcpIndex;
  ReplayWindow* w = rxRtcp_.Find(ssrc);
  if (w == nullptr && rxRtcp_.Full()) return kMalformed;
  if (w != nullptr && !w->Check(index)) return kReplayed;
  size_t plainLen;
  if (gcm_) {
    const size_t tagOff = idxOff - kGcmTag;
    uint8_t iv[12];
    GcmRtcpIv(iv, rx_.rtcpSalt, ssrc, index);
    if (!SetIv(rx_.rtcp, iv)) return kMalformed;
    if (encrypted) {
      if (!Aad(rx_.rtcp, buf, 8) || !Aad(rx_.rtcp, buf + idxOff, kSrtcpIndex) || !CipherUpdate(rx_.rtcp, buf + 8, buf + 8, tagOff - 8)) return kMalformed;
    } else if (!Aad(rx_.rtcp, buf, tagOff) || !Aad(rx_.rtcp, buf + idxOff, kSrtcpIndex)) {
      return kMalformed;
    }
    if (!GcmFinishDecrypt(rx_.rtcp, buf + tagOff)) {
      if (encrypted) GcmRestore(rx_.rtcp, iv, buf + 8, tagOff - 8);
      return kAuthFailed;
    }
    plainLen = tagOff;
  } else {
    const size_t tagOff = idxOff + kSrtcpIndex;
    uint8_t tag[20];
    rx_.rtcpAuth.Digest(buf, tagOff, nullptr, 0, tag);
    if (CRYPTO_memcmp(tag, buf + tagOff, kHmacTag) != 0) return kAuthFailed;
    if (encrypted) {
      if (idxOff - 8 > kMaxCmBytes) return kMalformed;
      uint8_t iv[16];
      CmIv(iv, rx_.rtcpSalt, ssrc, index >> 16, static_cast<uint16_t>(index));
      if (!SetIv(rx_.rtcp, iv) || !CipherUpdate(rx_.rtcp, buf + 8, buf + 8, idxOff - 8)) return kMalformed;
    }
    plainLen = idxOff;
  }
  if (w == nullptr) w = rxRtcp_.Insert(ssrc, ReplayWindow());
  w->Accept(index);
  return static_cast<int>(plainLen);
}

}  // namespace shoal::srtp
