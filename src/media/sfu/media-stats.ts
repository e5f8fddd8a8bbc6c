// A media plane's packet counters (plain numbers, incremented on the hot path by producers and consumers;
// read by metrics and benches through MediaPlane.stats(), which sums them over media worker threads).
// One object per plane, handed down through its routers: two servers in one process count apart.
export interface MediaStats {
  /** RTP packets received from publishers (decrypted). */
  rtpReceived: number;
  /** RTP packets sent to subscribers (one per subscriber per packet). */
  rtpForwarded: number;
  /** Retransmissions answered from the buffer. */
  rtpRetransmitted: number;
  keyframeRequests: number;
}

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
