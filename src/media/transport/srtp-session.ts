// The SRTP seam between a media transport and the data plane that runs it: what one DTLS-SRTP session
// can do (SrtpContext is the TypeScript plane's, src/dataplane/native-srtp.ts the native plane's), and
// the factory a plane hands its transports.
// What it must not do: hold code.
import type { PacketSlab } from './packet-slab.js';
import type { SrtpKeys, SrtpProfile } from './srtp.js';

export interface SrtpSession {
  readonly profile: SrtpProfile;
  /**
   * Encrypts the plaintext RTP packet `packet[0, len)`; returns a Buffer (from the plane's packet slab)
   * with `headroom` unwritten bytes (for the caller's framing) followed by the SRTP packet.
   */
  protectRtp(packet: Buffer, headroom?: number, len?: number): Buffer;
  /** Decrypts and authenticates an SRTP packet (the result may share `packet`'s memory); throws SrtpError. */
  unprotectRtp(packet: Buffer): Buffer;
  protectRtcp(packet: Buffer): Buffer;
  /** Decrypts and authenticates an SRTCP packet (the result may share `packet`'s memory); throws SrtpError. */
  unprotectRtcp(packet: Buffer): Buffer;
}

/** Makes the session of one transport once its DTLS handshake has given the master keys. */
export type SrtpSessionFactory = (profile: SrtpProfile, keys: SrtpKeys, slab: PacketSlab) => SrtpSession;
