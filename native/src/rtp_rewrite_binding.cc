// Node-API glue of the rewrite: the `RtpRewriter` class (NativeRtpRewriter in src/dataplane/native-addon.ts),
// one per consumer, holding what its stream is rewritten to (SSRC, payload type, the extension id table
// and transport-cc id TypeScript built) and, for a consumer with an RTX stream, that stream's SSRC, payload
// type and transport-cc id. SrtpSession.forwardRtp/resendRtx (srtp_binding.cc) read it through
// RtpRewriterOf; `rewrite` and `writeRtx` run the cores alone (the tests compare them with the TypeScript).
// What it must not do: decide ids or numbers (TypeScript gives them), keep per-packet state, or throw
// for packet content (a wrong argument type is a caller bug and throws).
#include <cmath>

#include "addon.h"
#include "rtp_rewrite.h"
#include "rtp_rtx.h"

namespace shoal {
namespace {

/** Marks RtpRewriter objects, so RtpRewriterOf can tell them from any other object. */
constexpr napi_type_tag kRtpRewriterTag = {0x7c1e5a93d04b2f68ULL, 0xa3f09e6b2c1d4875ULL};

uint32_t Uint32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  uint32_t v = 0;
  if (i >= info.Length() || napi_get_value_uint32(info.Env(), info[i], &v) != napi_ok) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  }
  return v;
}

class RtpRewriter : public Napi::ObjectWrap<RtpRewriter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RtpRewriter", {InstanceMethod<&RtpRewriter::Rewrite>("rewrite"), InstanceMethod<&RtpRewriter::WriteRtx>("writeRtx")});
  }

  /**
   * new RtpRewriter(ssrc, payloadType, idTable: Uint16Array(256), tccId, rtxSsrc | null, rtxPayloadType,
   * rtxTccId): rtxSsrc null = no RTX stream; rtxTccId the transport-cc element's id as written (0: none).
   */
  explicit RtpRewriter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RtpRewriter>(info) {
    const Napi::Env env = info.Env();
    state_.config.ssrc = Uint32Arg(info, 0, "ssrc");
    state_.config.payloadType = static_cast<uint8_t>(Uint32Arg(info, 1, "payloadType") & 0x7f);
    const bool tableOk = info.Length() > 2 && info[2].IsTypedArray() && info[2].As<Napi::TypedArray>().TypedArrayType() == napi_uint16_array &&
                         info[2].As<Napi::TypedArray>().ElementLength() == 256;
    if (!tableOk) throw Napi::TypeError::New(env, "RtpRewriter: idTable must be a Uint16Array of 256 entries");
    const auto table = info[2].As<Napi::Uint16Array>();
    for (size_t i = 0; i < 256; i++) state_.config.idMap[i] = table[i] & (rtp::kIdMask | rtp::kIdForcesTwoByte);
    state_.config.idMap[0] = 0;  // id 0 is padding, never an element
    state_.config.tccId = static_cast<uint16_t>(Uint32Arg(info, 3, "tccId") & (rtp::kIdMask | rtp::kIdForcesTwoByte));
    if (info.Length() > 4 && !info[4].IsNull() && !info[4].IsUndefined()) {
      state_.rtx = true;
      state_.rtxFields.ssrc = Uint32Arg(info, 4, "rtxSsrc");
      state_.rtxFields.payloadType = static_cast<uint8_t>(Uint32Arg(info, 5, "rtxPayloadType") & 0x7f);
      state_.rtxFields.tccId = static_cast<uint16_t>(Uint32Arg(info, 6, "rtxTccId") & 0xff);
    }
    if (napi_type_tag_object(env, info.This(), &kRtpRewriterTag) != napi_ok) throw Napi::Error::New(env, "RtpRewriter: cannot tag the object");
  }

  const RtpRewriterState& State() const { return state_; }

 private:
  /** rewrite(src, len, seq, ts, tseq, out): the core alone; the rewritten length in out, or -1. */
  Napi::Value Rewrite(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsBuffer() || !info[5].IsBuffer()) throw Napi::TypeError::New(env, "rewrite(src, len, seq, ts, tseq, out)");
    const auto src = info[0].As<Napi::Buffer<uint8_t>>();
    const auto out = info[5].As<Napi::Buffer<uint8_t>>();
    const uint32_t len = Uint32Arg(info, 1, "len");
    if (len > src.Length()) throw Napi::RangeError::New(env, "len must be within src");
    rtp::RewriteFields f;
    f.seq = static_cast<uint16_t>(Uint32Arg(info, 2, "seq"));
    f.ts = Uint32Arg(info, 3, "ts");
    f.tseq = static_cast<uint16_t>(Uint32Arg(info, 4, "tseq"));
    return Napi::Number::New(env, static_cast<double>(rtp::RewriteRtp(src.Data(), len, state_.config, f, out.Data(), out.Length())));
  }

  /** writeRtx(original, len, rtxSeq, tseq, out): the RTX packetizer alone, with this rewriter's RTX stream; length or -1. */
  Napi::Value WriteRtx(const Napi::CallbackInfo& info) {
    const Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsBuffer() || !info[4].IsBuffer()) throw Napi::TypeError::New(env, "writeRtx(original, len, rtxSeq, tseq, out)");
    const auto src = info[0].As<Napi::Buffer<uint8_t>>();
    const auto out = info[4].As<Napi::Buffer<uint8_t>>();
    const uint32_t len = Uint32Arg(info, 1, "len");
    if (len > src.Length()) throw Napi::RangeError::New(env, "len must be within original");
    rtp::RtxFields f = state_.rtxFields;
    f.seq = static_cast<uint16_t>(Uint32Arg(info, 2, "rtxSeq"));
    f.tseq = static_cast<uint16_t>(Uint32Arg(info, 3, "tseq"));
    return Napi::Number::New(env, static_cast<double>(rtp::WriteRtx(src.Data(), len, f, out.Data(), out.Length())));
  }

  RtpRewriterState state_;
};

}  // namespace

void InitRtpRewriter(Napi::Env env, Napi::Object exports) { exports.Set("RtpRewriter", RtpRewriter::Define(env)); }

const RtpRewriterState* RtpRewriterOf(napi_env env, napi_value rewriter) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, rewriter, &kRtpRewriterTag, &tagged) != napi_ok || !tagged) return nullptr;
  void* wrapped = nullptr;
  if (napi_unwrap(env, rewriter, &wrapped) != napi_ok || wrapped == nullptr) return nullptr;
  return &static_cast<RtpRewriter*>(wrapped)->State();
}

}  // namespace shoal
