// The one error type of the SRTP modules (srtp.ts and its helpers, and the native plane's wrapper): thrown
// for bad keys, unsupported profiles, malformed or truncated packets, failed authentication and replays,
// with the drop reason the counters use (read from the message: one wording per reason on both planes).
// What it must not do: carry packet data or key material (messages are plain text), or depend on any
// other module (every SRTP module imports it, so it stays a leaf).

/** Why a received packet was dropped: shoal_srtp_dropped_total's reason label. */
export type SrtpDropReason = 'malformed' | 'auth' | 'replay';

export class SrtpError extends Error {
  override name = 'SrtpError';
  readonly reason: SrtpDropReason;

  constructor(message: string) {
    super(message);
    this.reason = /authentication failed/.test(message) ? 'auth' : /replayed/.test(message) ? 'replay' : 'malformed';
  }
}
