// The one error type of the SRTP modules (srtp.ts and its helpers): thrown for bad keys, unsupported
// profiles, malformed or truncated packets, failed authentication and replays.
// What it must not do: carry packet data or key material (messages are plain text), or depend on any
// other module (every SRTP module imports it, so it stays a leaf).

export class SrtpError extends Error {
  override name = 'SrtpError';
}
