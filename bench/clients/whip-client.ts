// Browserless WHIP publisher and WHEP viewer (libdatachannel via node-datachannel) for tests and the bench,
// speaking plain RFC 9725 / WHEP HTTP: an OPTIONS with the token for the ICE servers (Link rel="ice-server";
// libdatachannel needs TURN before it offers, and Shoal's media is reached only through its TURN server),
// one POST of the SDP offer, the answer (candidates inline) as the remote description, DELETE to stop.
// The publisher sends synthetic VP8 + opus RTP; the viewer counts what arrives per m-line (loss from gaps).
import { randomBytes, randomUUID } from 'node:crypto';
import { Audio, PeerConnection, Video, type IceServer, type Track } from 'node-datachannel';
import { countRtp, isKeyframeRequest, lostOf, newReceiveCounter, OpusSource, OPUS_PT, paced, Vp8Source, VP8_PT, type ReceiveCounter } from '../lib/synthetic-rtp.js';

export interface WhipOptions {
  /** The WHIP/WHEP endpoint, e.g. http://127.0.0.1:5002/api/v1/live/api/whip */
  url: string;
  token?: string;
  name?: string;
  timeoutMs?: number;
  /** Local address for libdatachannel's sockets (default: let it choose). */
  bindAddress?: string;
}

export class WhipHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`WHIP/WHEP request refused with ${status}: ${body}`);
  }
}

/** `Link: <turn:h:p?transport=udp>; rel="ice-server"; username=...; credential=...` → libdatachannel's UDP TURN servers. */
export function parseIceLinks(header: string | null): IceServer[] {
  if (!header) return [];
  const out: IceServer[] = [];
  for (const link of header.split(/,\s*(?=<)/)) {
    const m = /^<(turns?):([^:>]+):(\d+)\?transport=(udp|tcp)>(.*)$/.exec(link.trim());
    if (!m || m[1] !== 'turn' || m[4] !== 'udp' || !/rel="ice-server"/.test(m[5]!)) continue;
    const param = (k: string) => new RegExp(`${k}="([^"]*)"`).exec(m[5]!)?.[1];
    out.push({ hostname: m[2]!, port: Number(m[3]), username: param('username'), password: param('credential'), relayType: 'TurnUdp' });
  }
  return out;
}

abstract class WhipBase {
  resource: string | undefined;
  pcState = 'new';
  readonly errors: string[] = [];
  protected pc: PeerConnection | undefined;
  protected readonly tracks: Track[] = [];
  private stateWaiters: (() => void)[] = [];

  constructor(protected readonly opts: WhipOptions) {}

  protected headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}), ...extra };
  }

  /** OPTIONS → ICE servers; PeerConnection; offer → POST → answer. Throws WhipHttpError on a refusal. */
  protected async negotiate(addMedia: (pc: PeerConnection) => void): Promise<void> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs ?? 10_000);
    const pre = await fetch(this.opts.url, { method: 'OPTIONS', headers: this.headers(), signal });
    const iceServers = parseIceLinks(pre.headers.get('link'));
    const pc = new PeerConnection(this.opts.name ?? 'whip', { iceServers, iceTransportPolicy: iceServers.length > 0 ? 'relay' : 'all', disableAutoNegotiation: true, ...(this.opts.bindAddress ? { bindAddress: this.opts.bindAddress } : {}) });
    this.pc = pc;
    pc.onStateChange((s) => {
      this.pcState = s;
      for (const w of this.stateWaiters.splice(0)) w();
    });
    const offer = new Promise<string>((resolve) => pc.onLocalDescription((sdp, type) => type === 'offer' && resolve(sdp)));
    addMedia(pc);
    pc.setLocalDescription('offer');
    const res = await fetch(this.opts.url, { method: 'POST', headers: this.headers({ 'content-type': 'application/sdp' }), body: await offer, signal });
    const body = await res.text();
    if (res.status !== 201) throw new WhipHttpError(res.status, body);
    const location = res.headers.get('location');
    if (!location) throw new Error('201 without Location');
    this.resource = new URL(location, this.opts.url).toString();
    pc.setRemoteDescription(body, 'answer');
  }

  /** Resolves once the peer connection is connected (rejects on failure or after `timeoutMs`). */
  connected(timeoutMs = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.opts.name ?? 'whip'}: not connected after ${timeoutMs} ms (state ${this.pcState})`)), timeoutMs);
      const check = () => {
        if (this.pcState === 'connected') {
          clearTimeout(timer);
          resolve();
        } else if (this.pcState === 'failed' || this.pcState === 'closed') {
          clearTimeout(timer);
          reject(new Error(`peer connection ${this.pcState}`));
        } else this.stateWaiters.push(check);
      };
      check();
    });
  }

  /** DELETE on the resource; returns its status. */
  async stop(): Promise<number> {
    if (!this.resource) return 0;
    const res = await fetch(this.resource, { method: 'DELETE', headers: this.headers(), signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  }

  /** Closes the peer connection and its tracks (a track left open keeps node-datachannel alive). */
  close(): void {
    for (const t of this.tracks) {
      try {
        t.close();
      } catch {
        // already closed
      }
    }
    try {
      this.pc?.close();
    } catch {
      // already closed
    }
  }
}

/** Publishes one VP8 video and one opus audio track over WHIP. */
export class WhipPublisher extends WhipBase {
  readonly sent = { rtp: 0, pliReceived: 0 };
  private readonly videoSsrc = randomBytes(4).readUInt32BE(0) >>> 0;
  private readonly audioSsrc = randomBytes(4).readUInt32BE(0) >>> 0;
  private video: Track | undefined;
  private audio: Track | undefined;
  private source: Vp8Source | undefined;
  private stopPacing: (() => void)[] = [];

  async publish(): Promise<void> {
    await this.negotiate((pc) => {
      const cname = randomUUID();
      const stream = randomUUID();
      const v = new Video('0', 'SendOnly');
      v.addVP8Codec(VP8_PT);
      v.addSSRC(this.videoSsrc, cname, stream, 'video');
      const a = new Audio('1', 'SendOnly');
      a.addOpusCodec(OPUS_PT);
      a.addSSRC(this.audioSsrc, cname, stream, 'audio');
      this.video = pc.addTrack(v);
      this.audio = pc.addTrack(a);
      this.tracks.push(this.video, this.audio);
      this.video.onMessage((msg) => {
        if (!isKeyframeRequest(msg)) return;
        this.sent.pliReceived++;
        this.source?.requestKeyframe();
      });
    });
  }

  /** Sends ~1 Mbit/s VP8 (25 fps × 4 packets) and 50 opus packets/s until stopSending(). */
  startSending(): void {
    if (this.stopPacing.length > 0) return;
    const source = (this.source = new Vp8Source(this.videoSsrc));
    const opus = new OpusSource(this.audioSsrc);
    this.stopPacing.push(paced(source.fps, 20, () => source.nextFrame().forEach((p) => this.send(this.video, p))));
    this.stopPacing.push(paced(50, 20, () => this.send(this.audio, opus.nextPacket())));
  }

  stopSending(): void {
    for (const stop of this.stopPacing.splice(0)) stop();
  }

  private send(track: Track | undefined, pkt: Buffer): void {
    try {
      if (track?.isOpen() && track.sendMessageBinary(pkt)) this.sent.rtp++;
    } catch (err) {
      this.errors.push(`send: ${(err as Error).message}`);
    }
  }

  override close(): void {
    this.stopSending();
    super.close();
  }
}

/**
 * Receives a stream over WHEP: recvonly video then audio (as react-client's viewer offers), counted per kind.
 * Sends an empty RTCP receiver report every second, as browsers send RTCP: Shoal ends a WHEP session whose
 * client is silent for 30 s (libdatachannel sends no RTCP of its own without a handler).
 */
export class WhepViewer extends WhipBase {
  readonly video = newReceiveCounter('0', 'video');
  readonly audio = newReceiveCounter('1', 'audio');
  /** performance.now() when the POST was sent (time to first packet is measured from it). */
  startedAt = 0;
  private rrTimer: NodeJS.Timeout | undefined;
  private readonly rr = emptyReceiverReport(randomBytes(4).readUInt32BE(0) >>> 0);

  async view(): Promise<void> {
    this.startedAt = performance.now();
    await this.negotiate((pc) => {
      const v = new Video('0', 'RecvOnly');
      v.addVP8Codec(VP8_PT);
      const a = new Audio('1', 'RecvOnly');
      a.addOpusCodec(OPUS_PT);
      const vt = pc.addTrack(v);
      const at = pc.addTrack(a);
      this.tracks.push(vt, at);
      vt.onMessage((msg) => countRtp(this.video, msg));
      at.onMessage((msg) => countRtp(this.audio, msg));
      this.rrTimer = setInterval(() => {
        try {
          if (vt.isOpen()) vt.sendMessageBinary(this.rr);
        } catch (err) {
          this.errors.push(`rtcp: ${(err as Error).message}`);
        }
      }, 1000);
    });
  }

  override close(): void {
    clearInterval(this.rrTimer);
    super.close();
  }

  /** Both receiving m-lines' counters (the shape bench/lib/media.ts reads). */
  get received(): ReceiveCounter[] {
    return [this.video, this.audio];
  }

  lost(): number {
    return lostOf(this.video) + lostOf(this.audio);
  }

  firstPacketMs(): number | undefined {
    const first = [this.video.firstPacketAt, this.audio.firstPacketAt].filter((t): t is number => t !== undefined);
    return first.length === 0 ? undefined : Math.min(...first) - this.startedAt;
  }
}

/** RTCP RR (PT 201) with no report blocks: V=2, RC=0, length 1 (8 bytes). */
function emptyReceiverReport(ssrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(ssrc, 4);
  return b;
}

export type { ReceiveCounter };
