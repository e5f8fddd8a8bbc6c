// Node-API glue of the SRTP part: the `SrtpSession` class (NativeSrtpSession in
// src/dataplane/native-addon.ts) wrapping one srtp::Session per object, registered by InitSrtp on each
// environment's exports. Arguments are checked here (a wrong type or a length outside its Buffer throws:
// caller bugs); packet content never throws, the core's length or negative code is returned as is.
// What it must not do: hold SRTP logic (srtp.cc does), keep state in statics (each environment and each
// object has its own), or copy packet bytes (the core reads and writes the caller's Buffers directly).
#include <cmath>
#include <memory>

#include "addon.h"
#include "srtp.h"

namespace shoal {
namespace {

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
                        InstanceMethod<&SrtpSessionWrap::UnprotectRtcp>("unprotectRtcp")});
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

  Napi::Value ProtectRtp(const Napi::CallbackInfo& info) { return CallProtect(info, &srtp::Session::ProtectRtp); }
  Napi::Value UnprotectRtp(const Napi::CallbackInfo& info) { return CallUnprotect(info, &srtp::Session::UnprotectRtp); }
  Napi::Value ProtectRtcp(const Napi::CallbackInfo& info) { return CallProtect(info, &srtp::Session::ProtectRtcp); }
  Napi::Value UnprotectRtcp(const Napi::CallbackInfo& info) { return CallUnprotect(info, &srtp::Session::UnprotectRtcp); }

  std::unique_ptr<srtp::Session> session_;
};

}  // namespace

void InitSrtp(Napi::Env env, Napi::Object exports) { exports.Set("SrtpSession", SrtpSessionWrap::Define(env)); }

}  // namespace shoal
