// A media plane's packet counters (plain numbers, incremented on the hot path by producers, consumers and
// sessions; read by metrics and benches through MediaPlane.stats(), which sums them over media worker
// threads). One object per plane, handed down through its routers: two servers in one process count apart.
// What it must not do: hold anything but plain, ever-growing counters (no gauges, no objects).
export interface MediaStats {
  /** RTP packets received from publishers (decrypted). */
  rtpReceived: number;
  /** RTP packets sent to subscribers (one per subscriber per packet). */
  rtpForwarded: number;
  /** Of rtpReceived: simulcast packets of a layer no sink needed, dropped before any per-subscriber work. */
  rtpDroppedUnusedLayer: number;
  /** Retransmissions answered from the buffer. */
  rtpRetransmitted: number;
  /** Of rtpRetransmitted: sent on the subscriber's RTX stream (RFC 4588), not as the original packet. */
  rtpRetransmittedRtx: number;
  /** NACKed packets not resent: unknown, too old, resent too recently or too often (the NACK budget). */
  rtpRetransmitRefused: number;
  /** PLIs sent to publishers (the keyframe pacer's output). */
  keyframeRequests: number;
  /** Generic NACK feedback messages received from subscribers. */
  nacksReceived: number;
  /** Generic NACK feedback messages sent to publishers (for packets lost on their uplink). */
  nacksSent: number;
  /** Received SRTP/SRTCP packets dropped: malformed or truncated, failed authentication, replayed (or too old). */
  srtpDroppedMalformed: number;
  srtpDroppedAuth: number;
  srtpDroppedReplay: number;
  /** RTX retransmissions received from publishers (unwrapped into their original streams). */
  rtxReceived: number;
  /** transport-cc feedback packets sent to publishers. */
  twccFeedbackSent: number;
  /** transport-cc feedback packets received from subscribers (fed to their bandwidth estimates). */
  transportFeedbackReceived: number;
  /** Layer changes the bandwidth allocators made (a simulcast track moved up or down for a subscriber). */
  allocatorLayerChanges: number;
  /** Video tracks the bandwidth allocators paused (lowest layer did not fit) and resumed. */
  allocatorPauses: number;
  allocatorResumes: number;
  /** Padding-only RTX packets sent to subscribers (bandwidth probes), and the probes started / that found room. */
  paddingSent: number;
  probesStarted: number;
  probesSucceeded: number;
  /** PLIs received from subscribers. */
  plisReceived: number;
  /** FIRs received from subscribers. */
  firsReceived: number;
  /** Receiver report blocks received from subscribers about the streams Shoal sends them. */
  receiverReports: number;
  /** Data-channel messages published by peers and accepted (permission and size checked). */
  dataReceived: number;
  /** Data-channel messages handed to receivers' channels (one per receiver per message). */
  dataForwarded: number;
  /** Data-channel messages dropped: the publisher lacks canPublishData. */
  dataDroppedNotAllowed: number;
  /** Data-channel messages dropped: larger than the maximum message size. */
  dataDroppedTooLarge: number;
  /** Data-channel messages not delivered to a receiver: its buffer was full (lossy) or its channel closed. */
  dataDroppedSlowReceiver: number;
}

export function emptyMediaStats(): MediaStats {
  return {
    rtpReceived: 0,
    rtpForwarded: 0,
    rtpDroppedUnusedLayer: 0,
    rtpRetransmitted: 0,
    rtpRetransmittedRtx: 0,
    rtpRetransmitRefused: 0,
    keyframeRequests: 0,
    nacksReceived: 0,
    nacksSent: 0,
    srtpDroppedMalformed: 0,
    srtpDroppedAuth: 0,
    srtpDroppedReplay: 0,
    rtxReceived: 0,
    twccFeedbackSent: 0,
    transportFeedbackReceived: 0,
    allocatorLayerChanges: 0,
    allocatorPauses: 0,
    allocatorResumes: 0,
    paddingSent: 0,
    probesStarted: 0,
    probesSucceeded: 0,
    plisReceived: 0,
    firsReceived: 0,
    receiverReports: 0,
    dataReceived: 0,
    dataForwarded: 0,
    dataDroppedNotAllowed: 0,
    dataDroppedTooLarge: 0,
    dataDroppedSlowReceiver: 0,
  };
}

export function addMediaStats<T extends MediaStats>(into: T, from: MediaStats): T {
  for (const key of Object.keys(emptyMediaStats()) as (keyof MediaStats)[]) into[key] += from[key] ?? 0;
  return into;
}
