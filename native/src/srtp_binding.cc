// Node-API glue of the SRTP part: the `SrtpSession` class (NativeSrtpSession in
// src/dataplane/native-addon.ts) wrapping one srtp::Session per object, registered by InitSrtp on each
// environment's exports. Its send path (sendRtp/resendRtp, and forwardRtp, which first rewrites the packet for a
// subscriber with an RtpRewriter) protects straight into a UdpPort's send
// queue behind a TURN ChannelData header and keeps each frame sent in the transport's RtpHistory. Arguments are checked here (a wrong type or a length outside its Buffer throws:
// caller bugs); packet content never throws, the core's length or negative code is returned as is.
// What it must not do: hold SRTP logic (srtp.cc does), keep state in statics (each environment and each
// object has its own), or copy packet bytes (the core reads and writes the caller's Buffers directly).
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>

#include "addon.h"
#include "rtp_history.h"
#include "rtp_parse.h"
#include "rtp_rewrite.h"
#include "srtp.h"
#include "udp_port.h"

namespace shoal {
namespace {

/** The send time RtpHistory measures its laps by (steady clock, ns). */
uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

/** The bytes of a Buffer (or any ArrayBufferView) argument; throws a TypeError for anything else. */
void BufferArg(const Napi::CallbackInfo& info, size_t i, const char* name, uint8_t** data, size_t* size) {
  void* p = nullptr;
  if (i >= info.Length() || napi_get_buffer_info(info.Env(), info[i], &p, size) != napi_ok) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Buffer");
  }
  *data = static_cast<uint8_t*>(p);
}

/** An integer argument in [0, max]; throws a RangeError otherwise. */
size_t IndexArg(const Napi::CallbackInfo& info, size_t i, const char* name, double max) {
  double d = NAN;
  if (i >= info.Length() || napi_get_value_double(info.Env(), info[i], &d) != napi_ok || !(d >= 0) || d > max || std::floor(d) != d) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer within its Buffer");
  }
  return static_cast<size_t>(d);
}

/** One key of a NativeSrtpKeys object; absent optional keys are empty (the core checks sizes). */
srtp::Bytes KeyField(Napi::Env env, const Napi::Object& keys, const char* name, bool optional) {
  const Napi::Value v = keys.Get(name);
  if (optional && v.IsUndefined()) return {};
  if (!v.IsBuffer()) throw Napi::TypeError::New(env, std::string("SRTP keys: ") + name + " must be a Buffer");
  const auto b = v.As<Napi::Buffer<uint8_t>>();
  return srtp::Bytes{b.Data(), b.Length()};
}

srtp::SessionKeys KeysArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "SRTP keys must be an object");
  const Napi::Object o = info[i].As<Napi::Object>();
  const Napi::Env env = info.Env();
  return srtp::SessionKeys{KeyField(env, o, "rtpKey", false),     KeyField(env, o, "rtpSalt", false),
                           KeyField(env, o, "rtcpKey", false),    KeyField(env, o, "rtcpSalt", false),
                           KeyField(env, o, "rtpAuthKey", true), KeyField(env, o, "rtcpAuthKey", true)};
}

class SrtpSessionWrap : public Napi::ObjectWrap<SrtpSessionWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SrtpSession",
                       {InstanceMethod<&SrtpSessionWrap::ProtectRtp>("protectRtp"),
                        InstanceMethod<&SrtpSessionWrap::UnprotectRtp>("unprotectRtp"),
                        InstanceMethod<&SrtpSessionWrap::ProtectRtcp>("protectRtcp"),
                        InstanceMethod<&SrtpSessionWrap::UnprotectRtcp>("unprotectRtcp"),
                        InstanceMethod<&SrtpSessionWrap::SendRtp>("sendRtp"),
                        InstanceMethod<&SrtpSessionWrap::ResendRtp>("resendRtp"),
                        InstanceMethod<&SrtpSessionWrap::ForwardRtp>("forwardRtp"),
                        InstanceMethod<&SrtpSessionWrap::ResendRtx>("resendRtx")});
  }

  /** new SrtpSession(profile, txKeys, rxKeys): the keys are copied into the cipher contexts. */
  explicit SrtpSessionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SrtpSessionWrap>(info) {
    const Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "SrtpSession(profile, tx, rx)");
    const int profile = info[0].As<Napi::Number>().Int32Value();
    const srtp::SessionKeys tx = KeysArg(info, 1);
    const srtp::SessionKeys rx = KeysArg(info, 2);
    const char* error = "SRTP session setup failed";
    session_ = srtp::Session::Create(profile, tx, rx, &error);
    if (!session_) throw Napi::Error::New(env, error);
  }

 private:
  using Protect = int (srtp::Session::*)(const uint8_t*, size_t, uint8_t*, size_t);
  using Unprotect = int (srtp::Session::*)(uint8_t*, size_t);

  /** (src, len, dst, dstOffset) → length or code; an offset past the end of dst leaves no room. */
  Napi::Value CallProtect(const Napi::CallbackInfo& info, Protect call) {
    uint8_t* src = nullptr;
    uint8_t* dst = nullptr;
    size_t srcSize = 0;
    size_t dstSize = 0;
    BufferArg(info, 0, "src", &src, &srcSize);
    const size_t len = IndexArg(info, 1, "len", static_cast<double>(srcSize));
    BufferArg(info, 2, "dst", &dst, &dstSize);
    const size_t offset = IndexArg(info, 3, "dstOffset", 9007199254740991.0);
    const int r = offset > dstSize ? srtp::kNoRoom : ((*session_).*call)(src, len, dst + offset, dstSize - offset);
    return Napi::Number::New(info.Env(), r);
  }

  /** (buf, len) → plaintext length or code. */
  Napi::Value CallUnprotect(const Napi::CallbackInfo& info, Unprotect call) {
    uint8_t* buf = nullptr;
    size_t size = 0;
    BufferArg(info, 0, "buf", &buf, &size);
    const size_t len = IndexArg(info, 1, "len", static_cast<double>(size));
    return Napi::Number::New(info.Env(), ((*session_).*call)(buf, len));
  }

  /** The UdpPort argument's socket and the IPv4 destination and ChannelData channel of args [first, first+2]. */
  UdpSocket* Route(const Napi::CallbackInfo& info, size_t first, UdpDest* dest, uint16_t* channel) {
    UdpSocket* socket = UdpSocketOf(info.Env(), info[0]);
    if (socket == nullptr) throw Napi::TypeError::New(info.Env(), "port must be a UdpPort");
    const size_t ip4 = IndexArg(info, first, "ip4", 4294967295.0);
    const size_t port = IndexArg(info, first + 1, "port", 65535.0);
    const size_t ch = IndexArg(info, first + 2, "channel", 0x7fff);
    if (ch < 0x4000) throw Napi::RangeError::New(info.Env(), "channel must be a TURN channel number (0x4000-0x7FFF)");
    *channel = static_cast<uint16_t>(ch);
    return socket->Dest4(static_cast<uint32_t>(ip4), static_cast<int64_t>(port), dest) ? socket : nullptr;
  }

  /** Writes the 4-byte ChannelData header (channel, length) in front of a frame of `len` bytes. */
  static void ChannelHeader(uint8_t* at, uint16_t channel, size_t len) {
    at[0] = static_cast<uint8_t>(channel >> 8);
    at[1] = static_cast<uint8_t>(channel);
    at[2] = static_cast<uint8_t>(len >> 8);
    at[3] = static_cast<uint8_t>(len);
  }

  /**
   * sendRtp(port, src, len, ip4, destPort, channel): protects the plaintext RTP packet src[0, len) into the
   * port's send queue as ChannelData on `channel` to ip4:destPort and keeps the frame for resendRtp;
   * returns the SRTP length, or a negative code (SRTP_NOT_SENT: no room in the queue or a bad destination).
   */
  Napi::Value SendRtp(const Napi::CallbackInfo& info) {
    UdpDest dest;
    uint16_t channel = 0;
    UdpSocket* socket = Route(info, 3, &dest, &channel);
    uint8_t* src = nullptr;
    size_t srcSize = 0;
    BufferArg(info, 1, "src", &src, &srcSize);
    const size_t len = IndexArg(info, 2, "len", static_cast<double>(srcSize));
    const size_t room = len + kMaxSrtpGrowth;
    uint8_t* out = socket == nullptr || room + 4 > kUdpMaxSend ? nullptr : socket->Reserve(room + 4, &dest);
    if (out == nullptr) return Napi::Number::New(info.Env(), kNotSent);
    const int n = session_->ProtectRtp(src, len, out + 4, room);
    if (n > 0) {
      ChannelHeader(out, channel, static_cast<size_t>(n));
      if (!history_) history_ = std::make_unique<RtpHistory>();
      history_->Put(rtp::RtpSsrc(src), rtp::RtpSequence(src), out + 4, static_cast<size_t>(n), NowNs());  // n > 0: src is RTP
      socket->Commit(static_cast<size_t>(n) + 4);
    }
    return Napi::Number::New(info.Env(), n);
  }

  /**
   * forwardRtp(port, rewriter, src, seq, ts, tseq, ip4, destPort, channel): rewrites the RTP packet `src`
   * (the whole Buffer) for the rewriter's subscriber with these numbers straight into the port's send
   * queue, protects it there in place, queues it as ChannelData and keeps the frame for resendRtp (and,
   * when the rewriter has an RTX stream, the rewritten plaintext for resendRtx). Returns the rewritten plaintext length when queued
   * (the SRTP length is that plus the profile's tag), -1 when `src` cannot be rewritten (malformed, or
   * longer than the rewrite's room: nothing done), or -2 - length when it was rewritten but not queued.
   */
  Napi::Value ForwardRtp(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    UdpDest dest;
    uint16_t channel = 0;
    UdpSocket* socket = Route(info, 6, &dest, &channel);
    const RtpRewriterState* rw = info.Length() > 1 ? RtpRewriterOf(env, info[1]) : nullptr;
    if (rw == nullptr) throw Napi::TypeError::New(env, "rewriter must be an RtpRewriter");
    uint8_t* src = nullptr;
    size_t srcSize = 0;
    BufferArg(info, 2, "src", &src, &srcSize);
    rtp::RewriteFields f;
    f.seq = static_cast<uint16_t>(IndexArg(info, 3, "seq", 65535.0));
    f.ts = static_cast<uint32_t>(IndexArg(info, 4, "ts", 4294967295.0));
    f.tseq = static_cast<uint16_t>(IndexArg(info, 5, "tseq", 65535.0));
    rtp::RewritePlan plan;
    const long planned = rtp::PlanRewrite(src, srcSize, rw->config, &plan);
    if (planned < 0 || static_cast<size_t>(planned) > kRewriteRoom) return Napi::Number::New(env, -1);
    const size_t n = static_cast<size_t>(planned);
    const size_t srtpRoom = n + kMaxSrtpGrowth;
    uint8_t* out = socket == nullptr || srtpRoom + 4 > kUdpMaxSend ? nullptr : socket->Reserve(srtpRoom + 4, &dest);
    if (out == nullptr) return Napi::Number::New(env, -2 - static_cast<double>(n));
    rtp::WriteRewrite(src, srcSize, rw->config, plan, f, out + 4);
    // A subscriber with an RTX stream is answered on it (resendRtx, from the plaintext); one without, with
    // the SRTP frame as sent (resendRtp). Each keeps only the history it is answered from.
    if (rw->rtx) {
      if (!plainHistory_) plainHistory_ = std::make_unique<RtpHistory>();
      plainHistory_->Put(rw->config.ssrc, f.seq, out + 4, n, NowNs());
    }
    const int s = session_->ProtectRtp(out + 4, n, out + 4, srtpRoom);
    if (s <= 0) return Napi::Number::New(env, -2 - static_cast<double>(n));  // the reservation is abandoned
    ChannelHeader(out, channel, static_cast<size_t>(s));
    if (!rw->rtx) {
      if (!history_) history_ = std::make_unique<RtpHistory>();
      history_->Put(rw->config.ssrc, f.seq, out + 4, static_cast<size_t>(s), NowNs());
    }
    socket->Commit(static_cast<size_t>(s) + 4);
    return Napi::Number::New(env, static_cast<double>(n));
  }

  /**
   * resendRtx(port, rewriter, seq, rtxSeq, tseq, ip4, destPort, channel): the plaintext forwardRtp kept
   * under (the rewriter's SSRC, seq) sent again on its RTX stream (writeRtxPacket's form, rtp_rtx.h) with
   * these RTX and transport-wide numbers, protected into the queue. Returns the RTX packet's plaintext
   * length (queued or not: a full queue loses it as a send would), or -1 when that packet is no longer kept.
   */
  Napi::Value ResendRtx(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    UdpDest dest;
    uint16_t channel = 0;
    UdpSocket* socket = Route(info, 5, &dest, &channel);
    const RtpRewriterState* rw = info.Length() > 1 ? RtpRewriterOf(env, info[1]) : nullptr;
    if (rw == nullptr || !rw->rtx) throw Napi::TypeError::New(env, "rewriter must be an RtpRewriter with an RTX stream");
    const uint16_t seq = static_cast<uint16_t>(IndexArg(info, 2, "seq", 65535.0));
    rtp::RtxFields f = rw->rtxFields;
    f.seq = static_cast<uint16_t>(IndexArg(info, 3, "rtxSeq", 65535.0));
    f.tseq = static_cast<uint16_t>(IndexArg(info, 4, "tseq", 65535.0));
    size_t len = 0;
    const uint8_t* kept = plainHistory_ ? plainHistory_->Get(rw->config.ssrc, seq, &len) : nullptr;
    if (kept == nullptr) return Napi::Number::New(env, -1);
    if (!rtxScratch_) rtxScratch_.reset(new uint8_t[kRewriteRoom + 2]);
    const long n = rtp::WriteRtx(kept, len, f, rtxScratch_.get(), kRewriteRoom + 2);
    if (n < 0) return Napi::Number::New(env, -1);
    const size_t room = static_cast<size_t>(n) + kMaxSrtpGrowth;
    uint8_t* out = socket == nullptr || room + 4 > kUdpMaxSend ? nullptr : socket->Reserve(room + 4, &dest);
    if (out == nullptr) return Napi::Number::New(env, static_cast<double>(n));
    std::memcpy(out + 4, rtxScratch_.get(), static_cast<size_t>(n));
    const int s = session_->ProtectRtp(out + 4, static_cast<size_t>(n), out + 4, room);
    if (s > 0) {
      ChannelHeader(out, channel, static_cast<size_t>(s));
      socket->Commit(static_cast<size_t>(s) + 4);
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  /** resendRtp(port, ssrc, seq, ip4, destPort, channel): queues the kept frame again; its length, or SRTP_NOT_SENT (not kept). */
  Napi::Value ResendRtp(const Napi::CallbackInfo& info) {
    UdpDest dest;
    uint16_t channel = 0;
    UdpSocket* socket = Route(info, 3, &dest, &channel);
    const uint32_t ssrc = static_cast<uint32_t>(IndexArg(info, 1, "ssrc", 4294967295.0));
    const uint16_t seq = static_cast<uint16_t>(IndexArg(info, 2, "seq", 65535.0));
    size_t len = 0;
    const uint8_t* frame = history_ ? history_->Get(ssrc, seq, &len) : nullptr;
    uint8_t* out = frame == nullptr || socket == nullptr ? nullptr : socket->Reserve(len + 4, &dest);
    if (out == nullptr) return Napi::Number::New(info.Env(), kNotSent);
    ChannelHeader(out, channel, len);
    std::memcpy(out + 4, frame, len);
    socket->Commit(len + 4);
    return Napi::Number::New(info.Env(), static_cast<double>(len));
  }

  Napi::Value ProtectRtp(const Napi::CallbackInfo& info) { return CallProtect(info, &srtp::Session::ProtectRtp); }
  Napi::Value UnprotectRtp(const Napi::CallbackInfo& info) { return CallUnprotect(info, &srtp::Session::UnprotectRtp); }
  Napi::Value ProtectRtcp(const Napi::CallbackInfo& info) { return CallProtect(info, &srtp::Session::ProtectRtcp); }
  Napi::Value UnprotectRtcp(const Napi::CallbackInfo& info) { return CallUnprotect(info, &srtp::Session::UnprotectRtcp); }

  /** An SRTP packet is at most this much longer than its plaintext (a GCM tag; HMAC tags are 10). */
  static constexpr size_t kMaxSrtpGrowth = 16;
  /** forwardRtp: the longest rewritten packet (rewriteRtpInto's scratch in consumer.ts is this long). */
  static constexpr size_t kRewriteRoom = 65536;
  /** sendRtp/resendRtp: nothing was queued (SRTP_NOT_SENT in native-addon.ts). */
  static constexpr int kNotSent = -5;

  std::unique_ptr<srtp::Session> session_;
  /** Frames sent through sendRtp, for resendRtp (made on the first send: receive-only sessions need none). */
  std::unique_ptr<RtpHistory> history_;
  /** Rewritten plaintexts forwardRtp kept for consumers with an RTX stream, for resendRtx (made on first use). */
  std::unique_ptr<RtpHistory> plainHistory_;
  /** Where resendRtx writes the RTX packet before it is queued (made on first use). */
  std::unique_ptr<uint8_t[]> rtxScratch_;
};

}  // namespace

void InitSrtp(Napi::Env env, Napi::Object exports) { exports.Set("SrtpSession", SrtpSessionWrap::Define(env)); }

}  // namespace shoal
