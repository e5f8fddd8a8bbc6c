// The addon's entry: registers each part of the native data plane (addon.h) on the exports object of
// every environment that loads it, plus `abi` (the seam's version, checked by src/dataplane/native-addon.ts).
// What it must not do: keep process-wide state (workers load the addon again in their own environment).
#include "addon.h"

namespace {

/** Bumped whenever a call of the seam changes shape; the TypeScript loader refuses a different one. */
constexpr uint32_t kSeamAbi = 4;

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abi", Napi::Number::New(env, kSeamAbi));
  shoal::InitSrtp(env, exports);
  shoal::InitUdpPort(env, exports);
  shoal::InitRtpRewriter(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(shoal_native, Init)
