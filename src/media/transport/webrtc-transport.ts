// One peer's media transport behind the integrated TURN server: a virtual host candidate (never
// bound) whose packets arrive in-process; ICE-lite on it, then DTLS (server role, werift) and SRTP/SRTCP.
// Emits decrypted RTP/RTCP and sends encrypted RTP/RTCP back along the nominated TURN path.
// What it must not do: know about tracks, SDP or rooms; let anything but a Binding request that passed
// the ICE credential check set or move the path; or hear DTLS/SRTP from an allocation that never sent
// one (any allocation can reach the virtual port, only the client knows the ICE password).
import { EventEmitter } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { DtlsServer, keyLength, saltLength, type SrtpProfile } from 'werift';
import type { Logger } from '../../log/logger.js';
import { REPLY_HEADROOM, type ClientRef, type TurnServer, type VirtualEndpoint, type VirtualReply } from '../../turn/turn-server.js';
import { classifyPacket, type TransportAddress } from '../../turn/stun-message.js';
import { fingerprintOf, type DtlsCertificate } from './dtls-certificate.js';
import { IceLite } from './ice-lite.js';
import { isRtcp, type RtpHeader } from '../wire/rtp.js';
import { resendAsRtx, rewriteAndSend } from './rtp-forward.js';
import type { PacketSlab } from './packet-slab.js';
import { SrtpContext } from './srtp.js';
import { SrtpError } from './srtp-error.js';
import type { RtpForward, SentFrame, SrtpSession, SrtpSessionFactory } from './srtp-session.js';
import { routeUsable, type UdpRoute } from '../../turn/udp-route.js';
import type { MediaStats } from '../sfu/media-stats.js';

export type TransportState = 'new' | 'connecting' | 'connected' | 'closed';

interface TransportEvents {
  rtp: [Buffer];
  rtcp: [Buffer];
  /** DTLS application data (SCTP packets of the data channels). */
  sctp: [Buffer];
  connected: [];
  /** ICE saw traffic with the current credentials after a restart. */
  iceRestarted: [];
  closed: [string];
}

/** The transport object werift's DTLS stack reads from and writes to. */
interface DtlsPipe {
  type: string;
  address: { address: string; port: number; family: string };
  closed: boolean;
  onData: (data: Buffer, addr?: unknown) => void;
  send: (data: Buffer) => Promise<void>;
  close: () => Promise<void>;
}

const SRTP_PROFILES: SrtpProfile[] = [7, 1]; // AEAD_AES_128_GCM, AES128_CM_HMAC_SHA1_80
/** ICE-checked allocations remembered per transport (a client uses a handful; the oldest is forgotten). */
const MAX_CHECKED_PATHS = 16;

export class WebRtcTransport extends EventEmitter<TransportEvents> implements VirtualEndpoint {
  readonly ice = new IceLite();
  state: TransportState = 'new';
  private readonly virtual: { ip: string; port: number; release(): void };
  private path: VirtualReply | undefined;
  /** Reply functions (one per allocation) of allocations whose Binding requests passed the ICE check. */
  private readonly checked = new Set<VirtualReply>();
  private nominated = false;
  private readonly pipe: DtlsPipe;
  private readonly dtls: DtlsServer;
  private srtp: SrtpSession | undefined;
  /** The native send path's route for `routePath` (re-asked when it lapses or the path moves). */
  private route: UdpRoute | undefined;
  private routePath: VirtualReply | undefined;
  private remoteFingerprint: string | undefined;
  private awaitingRestart = false;

  constructor(
    turn: TurnServer,
    cert: DtlsCertificate,
    private readonly log: Logger,
    /** Where encrypted outgoing packets are allocated (the media plane's). */
    private readonly slab: PacketSlab,
    /** The data plane's SRTP (default: the TypeScript one). */
    private readonly makeSrtp: SrtpSessionFactory = (profile, keys, s) => new SrtpContext(profile, keys, s),
    /** Where received packets SRTP refused are counted, by reason (the plane's counters). */
    private readonly stats?: Pick<MediaStats, 'srtpDroppedMalformed' | 'srtpDroppedAuth' | 'srtpDroppedReplay'>,
  ) {
    super();
    this.virtual = turn.registerVirtual(this);
    this.pipe = {
      type: 'udp',
      address: { address: this.virtual.ip, port: this.virtual.port, family: 'IPv4' },
      closed: false,
      onData: () => {},
      send: async (data) => this.path?.(data),
      close: async () => {},
    };
    this.dtls = new DtlsServer({
      cert: cert.certPem,
      key: cert.keyPem,
      signatureHash: cert.signatureHash,
      transport: this.pipe as never,
      srtpProfiles: SRTP_PROFILES,
      extendedMasterSecret: true,
      certificateRequest: true,
    });
    this.dtls.onConnect.once(() => this.onDtlsConnected());
    this.dtls.onData.subscribe((data) => this.emit('sctp', data));
    this.dtls.onError.subscribe((err) => this.log.debug({ err: err.message }, 'DTLS error'));
  }

  /** The server's (virtual) host candidate. */
  get candidate(): { ip: string; port: number } {
    return { ip: this.virtual.ip, port: this.virtual.port };
  }

  setRemoteFingerprint(value: string): void {
    this.remoteFingerprint = value.toUpperCase();
  }

  /** New local ICE credentials; the old ones keep working until the client uses the new ones. */
  restartIce(): void {
    this.ice.restart();
    this.awaitingRestart = true;
  }

  // ---- VirtualEndpoint: packets from the client through its TURN allocation ----

  receive(data: Buffer, from: ClientRef, reply: VirtualReply): void {
    if (this.state === 'closed' || data.length === 0) return;
    const first = data[0]!;
    if (classifyPacket(first) === 'stun') return this.onStun(data, from, reply);
    if (!this.checked.has(reply)) return; // no ICE-checked Binding from this allocation: not our client
    if (first >= 20 && first <= 63) {
      this.pipe.onData(data);
      return;
    }
    if (first >= 128 && first <= 191) this.onSrtp(data);
  }

  private onStun(data: Buffer, from: ClientRef, reply: VirtualReply): void {
    const source: TransportAddress = from.relayed;
    const result = this.ice.handle(data, source);
    if (result.kind === 'ignore') return;
    reply(result.response);
    if (result.kind !== 'response') return;
    if (!this.checked.has(reply)) this.rememberChecked(reply);
    if (result.nominated || !this.nominated) {
      this.path = reply;
      this.nominated ||= result.nominated;
    }
    if (this.state === 'new') this.state = 'connecting';
    if (this.awaitingRestart && result.current) {
      this.awaitingRestart = false;
      this.emit('iceRestarted');
    }
  }

  private rememberChecked(reply: VirtualReply): void {
    if (this.checked.size >= MAX_CHECKED_PATHS) {
      for (const old of this.checked) {
        if (old === this.path) continue;
        this.checked.delete(old);
        break;
      }
    }
    this.checked.add(reply);
  }

  private onDtlsConnected(): void {
    try {
      const remote = this.dtls.remoteCertificate;
      if (this.remoteFingerprint !== undefined) {
        const actual = remote ? fingerprintOf(Buffer.from(new X509Certificate(remote).raw)) : '';
        if (actual !== this.remoteFingerprint) throw new Error('remote certificate fingerprint mismatch');
      }
      const profile = this.dtls.srtp.srtpProfile as SrtpProfile | undefined;
      if (!profile) throw new Error('no SRTP profile negotiated');
      const { localKey, localSalt, remoteKey, remoteSalt } = this.dtls.extractSessionKeys(keyLength(profile), saltLength(profile));
      this.srtp = this.makeSrtp(profile, { localMasterKey: localKey, localMasterSalt: localSalt, remoteMasterKey: remoteKey, remoteMasterSalt: remoteSalt }, this.slab);
      this.state = 'connected';
      this.emit('connected');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'DTLS setup failed');
      this.close('dtls failed');
    }
  }

  private onSrtp(data: Buffer): void {
    if (!this.srtp) return;
    try {
      if (isRtcp(data)) this.emit('rtcp', this.srtp.unprotectRtcp(data));
      else this.emit('rtp', this.srtp.unprotectRtp(data));
    } catch (err) {
      const stats = this.stats;
      if (stats) {
        const reason = err instanceof SrtpError ? err.reason : 'malformed';
        if (reason === 'auth') stats.srtpDroppedAuth++;
        else if (reason === 'replay') stats.srtpDroppedReplay++;
        else stats.srtpDroppedMalformed++;
      }
      this.log.trace({ err: (err as Error).message }, 'SRTP decrypt failed');
    }
  }

  /**
   * Encrypts and sends the plaintext RTP packet `packet[0, length)`; dropped while not connected (or if
   * malformed). Returns the frame sent (the SRTP packet behind REPLY_HEADROOM bytes), which resendRtp
   * sends again unchanged, or undefined if nothing was sent.
   */
  sendRtp(packet: Buffer, length = packet.length): SentFrame | undefined {
    const path = this.path;
    const srtp = this.srtp;
    if (!srtp || !path) return undefined;
    // The native plane's send path: protect and write in one call, on the route the relay vouched for.
    if (srtp.sendDirect !== undefined && path.route !== undefined) {
      const route = this.directRoute(path);
      if (route !== undefined) return srtp.sendDirect(route, packet, length);
    }
    let out: Buffer;
    try {
      out = srtp.protectRtp(packet, REPLY_HEADROOM, length);
    } catch (err) {
      this.log.trace({ err: (err as Error).message }, 'SRTP encrypt failed');
      return undefined;
    }
    path(out, REPLY_HEADROOM);
    return out;
  }

  /**
   * Rewrites the RTP packet `src` (parsed as `h`) for `f`'s subscriber with these numbers and sends it
   * as sendRtp does; sets f.length and f.sent. On the native plane's send path one addon call does both
   * (forwardDirect), else rewriteRtpInto and sendRtp (rtp-forward.ts rewriteAndSend): the same bytes.
   */
  forwardRtp(f: RtpForward, src: Buffer, h: RtpHeader, seq: number, ts: number, tseq: number): void {
    const path = this.path;
    const srtp = this.srtp;
    if (srtp?.forwardDirect !== undefined && path?.route !== undefined) {
      const route = this.directRoute(path);
      if (route !== undefined) {
        srtp.forwardDirect(route, f, src, seq, ts, tseq);
        return;
      }
    }
    rewriteAndSend(f, src, h, seq, ts, tseq, this.sendPlaintext);
  }

  /**
   * Sends what forwardRtp kept for `f` (which has an RTX stream) again on the RTX stream with these
   * numbers; the RTX packet's length, or −1 when nothing could be sent. The native plane kept the
   * plaintext itself (a DirectFrame), the TypeScript plane as a Buffer (rtp-forward.ts resendAsRtx).
   */
  resendRtx(f: RtpForward, kept: SentFrame, rtxSeq: number, tseq: number): number {
    if (Buffer.isBuffer(kept)) return resendAsRtx(f, kept, rtxSeq, tseq, this.sendPlaintext);
    const route = this.path && this.directRoute(this.path);
    return route === undefined || this.srtp?.resendRtxDirect === undefined ? -1 : this.srtp.resendRtxDirect(route, f, kept, rtxSeq, tseq);
  }

  private readonly sendPlaintext = (packet: Buffer, length: number): SentFrame | undefined => this.sendRtp(packet, length);

  /** Sends a frame sendRtp returned once more (a retransmission keeps its SRTP index, so its bytes). */
  resendRtp(frame: SentFrame): void {
    if (this.state !== 'connected') return;
    if (Buffer.isBuffer(frame)) {
      this.path?.(frame, REPLY_HEADROOM);
      return;
    }
    const route = this.path && this.directRoute(this.path);
    if (route !== undefined) this.srtp?.resendDirect?.(route, frame);
  }

  /** The fast-path route of `path` (the relay's, kept until it lapses or the path moves), if it has one. */
  private directRoute(path: VirtualReply): UdpRoute | undefined {
    if (this.routePath === path && routeUsable(this.route, Date.now())) return this.route;
    this.routePath = path;
    this.route = path.route?.();
    return this.route;
  }

  sendRtcp(packet: Buffer): void {
    if (!this.srtp || !this.path) return;
    let out: Buffer;
    try {
      out = this.srtp.protectRtcp(packet);
    } catch (err) {
      this.log.trace({ err: (err as Error).message }, 'SRTCP encrypt failed');
      return;
    }
    this.path(out);
  }

  /** Sends DTLS application data (an SCTP packet); dropped while not connected. */
  sendSctp(data: Buffer): void {
    if (this.state !== 'connected') return;
    this.dtls.send(data).catch((err: Error) => this.log.trace({ err: err.message }, 'DTLS send failed'));
  }

  close(reason = 'closed'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.virtual.release();
    this.pipe.closed = true;
    try {
      this.dtls.close();
    } catch {
      // already closed
    }
    this.emit('closed', reason);
  }
}
