// Shoal's native data plane: the registration functions of its parts, each adding its classes to the
// addon's exports. Context-aware: every part keeps its state per instance (per Node environment: the
// main thread and each media worker thread load their own), never in statics.
// What it must not do: hold state or logic itself.
#pragma once
#include <napi.h>

#include "rtp_rewrite.h"

namespace shoal {

class UdpSocket;

/** One RtpRewriter object's state: its rewrite and where a copy of each rewritten plaintext goes (or none). */
struct RtpRewriterState {
  rtp::RewriteConfig config;
  /** The plaintext Buffer given at construction (kept alive by the object), or null. */
  uint8_t* plaintext = nullptr;
  size_t plaintextSize = 0;
};

/** SrtpSession: SRTP/SRTCP protect and unprotect with per-stream cipher contexts (srtp_binding.cc). */
void InitSrtp(Napi::Env env, Napi::Object exports);
/** UdpPort: one UDP socket read with recvmmsg and written with sendmmsg on the thread's libuv loop (udp_binding.cc). */
void InitUdpPort(Napi::Env env, Napi::Object exports);
/** The socket of a UdpPort object (type-tagged at construction), or nullptr for any other value (udp_binding.cc). */
UdpSocket* UdpSocketOf(napi_env env, napi_value port);
/** RtpRewriter: one consumer's rewrite of the RTP header (rtp_rewrite_binding.cc). */
void InitRtpRewriter(Napi::Env env, Napi::Object exports);
/** The state of an RtpRewriter object (type-tagged at construction), or nullptr for any other value. */
const RtpRewriterState* RtpRewriterOf(napi_env env, napi_value rewriter);

}  // namespace shoal
