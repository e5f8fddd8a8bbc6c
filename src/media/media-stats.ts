// Process-wide media counters (plain numbers, incremented on the hot path; read by metrics and benches).
export const mediaStats = {
  /** RTP packets received from publishers (decrypted). */
  rtpReceived: 0,
  /** RTP packets sent to subscribers (one per subscriber per packet). */
  rtpForwarded: 0,
  /** Retransmissions answered from the buffer. */
  rtpRetransmitted: 0,
  keyframeRequests: 0,
};
