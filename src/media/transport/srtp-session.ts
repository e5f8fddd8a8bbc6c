// The SRTP seam between a media transport and the data plane that runs it: what one DTLS-SRTP session
// can do (SrtpContext is the TypeScript plane's, src/dataplane/native-srtp.ts the native plane's), and
// the factory a plane hands its transports.
// What it must not do: hold code.
import type { UdpRoute } from '../../turn/udp-route.js';
import type { PacketSlab } from './packet-slab.js';
import type { SrtpKeys, SrtpProfile } from './srtp.js';

/** A frame the native send path sent and keeps (by SSRC and sequence number) for NACK resends. */
export interface DirectFrame {
  readonly length: number;
  readonly ssrc: number;
  readonly seq: number;
}

/** What a transport's send returns for the retransmission buffer: the SRTP frame itself, or the native plane's handle of it. */
export type SentFrame = Buffer | DirectFrame;

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
  /**
   * The native plane's send path: protects `packet[0, len)` and writes it to the route's socket as
   * ChannelData in one step, keeping the frame; undefined when it could not (the caller drops the packet).
   */
  sendDirect?(route: UdpRoute, packet: Buffer, len: number): DirectFrame | undefined;
  /** Sends a frame sendDirect kept once more; false when it is no longer kept. */
  resendDirect?(route: UdpRoute, frame: DirectFrame): boolean;
}

/** Makes the session of one transport once its DTLS handshake has given the master keys. */
export type SrtpSessionFactory = (profile: SrtpProfile, keys: SrtpKeys, slab: PacketSlab) => SrtpSession;
