// Shoal's native data plane: the registration functions of its parts, each adding its classes to the
// addon's exports. Context-aware: every part keeps its state per instance (per Node environment: the
// main thread and each media worker thread load their own), never in statics.
// What it must not do: hold state or logic itself.
#pragma once
#include <napi.h>

#include "rtp_rewrite.h"
#include "rtp_rtx.h"

namespace shoal {

class UdpSocket;

/** One RtpRewriter object's state: its rewrite and, for a consumer with an RTX stream, that stream. */
struct RtpRewriterState {
  rtp::RewriteConfig config;
  /** An RTX stream (RFC 4588): forwardRtp keeps each rewritten plaintext, resendRtx sends one again as RTX. */
  bool rtx = false;
  /** Its SSRC, payload type and transport-cc id (seq and tseq are per resend). */
  rtp::RtxFields rtxFields;
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
