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

/**
 * One consumer's forwarding state (made by rtp-forward.ts newRtpForward): what its stream is rewritten to,
 * fixed for its life, and the outcome of the last forward (set by whichever plane forwarded it).
 */
export interface RtpForward {
  readonly ssrc: number;
  readonly payloadType: number;
  /** Publisher extension id → the subscriber's; ids not listed are dropped (undefined: the block is dropped). */
  readonly extensionMap: Map<number, number> | undefined;
  /** The subscriber's transport-cc extension id (undefined: no transport-wide sequence number). */
  readonly transportSeqExtId: number | undefined;
  /** The subscriber's RTX stream (RFC 4588): each packet's plaintext is kept, and a resend goes out on it. */
  readonly rtx: { readonly ssrc: number; readonly payloadType: number } | undefined;
  /** The last forward: the rewritten length (−1: it could not be rewritten, nothing was sent). */
  length: number;
  /** The last forward: what to keep for a resend (with an RTX stream: the plaintext, or the native plane's handle of it), or undefined when nothing was sent. */
  sent: SentFrame | undefined;
  /** The data plane's own form of this rewrite, made by the plane on its first use (the native plane's RtpRewriter). */
  planeForm: unknown;
}

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
  /**
   * The native plane's forwarding path: rewrites `src` for `f`'s subscriber with these numbers (as
   * rewriteRtpInto does) and sends it as sendDirect does, in one step; sets f.length and f.sent.
   */
  forwardDirect?(route: UdpRoute, f: RtpForward, src: Buffer, seq: number, ts: number, tseq: number): void;
  /**
   * For `f` with an RTX stream: the packet forwardDirect kept as `frame` sent again on it (writeRtxPacket's
   * form) with these numbers; the RTX packet's length, or −1 when it is no longer kept.
   */
  resendRtxDirect?(route: UdpRoute, f: RtpForward, frame: DirectFrame, rtxSeq: number, tseq: number): number;
  /** Sends a frame sendDirect kept once more; false when it is no longer kept. */
  resendDirect?(route: UdpRoute, frame: DirectFrame): boolean;
}

/** Makes the session of one transport once its DTLS handshake has given the master keys. */
export type SrtpSessionFactory = (profile: SrtpProfile, keys: SrtpKeys, slab: PacketSlab) => SrtpSession;
