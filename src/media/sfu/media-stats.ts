// This thread's media counters (plain numbers, incremented on the hot path; read by metrics and benches
// through MediaPlane.stats(), which sums them over media worker threads).
export interface MediaStats {
  /** RTP packets received from publishers (decrypted). */
  rtpReceived: number;
  /** RTP packets sent to subscribers (one per subscriber per packet). */
  rtpForwarded: number;
  /** Retransmissions answered from the buffer. */
  rtpRetransmitted: number;
  keyframeRequests: number;
}

export const mediaStats: MediaStats = {
  rtpReceived: 0,
  rtpForwarded: 0,
  rtpRetransmitted: 0,
  keyframeRequests: 0,
};

export function emptyMediaStats(): MediaStats {
  return { rtpReceived: 0, rtpForwarded: 0, rtpRetransmitted: 0, keyframeRequests: 0 };
}

export function addMediaStats(into: MediaStats, from: MediaStats): MediaStats {
  into.rtpReceived += from.rtpReceived;
  into.rtpForwarded += from.rtpForwarded;
  into.rtpRetransmitted += from.rtpRetransmitted;
  into.keyframeRequests += from.keyframeRequests;
  return into;
}
