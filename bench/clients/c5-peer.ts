// A browserless peer that speaks @fishjam-dev/ts-client 0.5.0's protocol to Shoal (peer-protocol.md §2/§3):
// binary protobuf PeerMessage over /socket/peer/websocket, JSON media events in field 3, and a real WebRTC
// stack (libdatachannel via node-datachannel) that reaches Shoal only through the integrated TURN server
// from `offerData.integratedTurnServers`, with a relay-only ICE policy, as the browser client does.
//
// A publisher adds sendonly VP8 (and optionally opus) m-lines and sends synthetic RTP at a steady rate:
// VP8 payload descriptors with S=1/PID=0 on each frame's first packet, P=0 (keyframe) every
// `keyframeInterval` frames and right after a PLI/FIR from Shoal. A subscriber adds the recvonly m-lines
// that `tracksTypes` asks for (audio first, then video, like C5) and counts the RTP it receives and the
// sequence-number gaps (losses) per m-line.
//
// Differences from the real C5 client (on purpose, none changes what Shoal sees on the wire format level):
// no ICE restart on later negotiations (libdatachannel keeps its ufrag; Shoal only restarts when the
// ufrag changes), no simulcast, no bitrate adaptation, and no deferred-metadata bookkeeping.
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Audio, PeerConnection, Video, type IceServer, type Track } from 'node-datachannel';
import { WebSocket } from 'ws';
import { PeerMessageSchema } from '../../src/gen/fishjam/peer_notifications_pb.js';
import { socketOpened } from '../../test/helpers/raw-peer.js';
import { countRtp, isKeyframeRequest, lostOf, newReceiveCounter, OpusSource, OPUS_PT, paced, Vp8Source, VP8_PT, type ReceiveCounter, type Vp8Options } from '../lib/synthetic-rtp.js';


export interface C5PeerOptions {
  /** ws://host:port (the path /socket/peer/websocket is appended). */
  wsUrl: string;
  token: string;
  metadata?: unknown;
  /** Label for libdatachannel logs and errors. */
  name?: string;
  /** Local address for libdatachannel's sockets (default: let it choose). */
  bindAddress?: string;
}

export interface TurnServerEntry {
  serverAddr: string;
  serverPort: number;
  transport: 'udp' | 'tcp' | 'tls';
  username: string;
  password: string;
}

interface LocalTrack {
  id: string;
  kind: 'audio' | 'video';
  mid?: string;
  ssrc: number;
  track?: Track;
  open: boolean;
}

interface MediaEvent {
  type: string;
  data?: any;
}

export interface SendOptions extends Vp8Options {
  /** Also send opus (20 ms frames) on the audio track, if one was published. */
  audio?: boolean;
}

export class C5Peer extends EventEmitter {
  id: string | undefined;
  readonly events: MediaEvent[] = [];
  readonly errors: string[] = [];
  /** Remote tracks announced in connected/tracksAdded: trackId → endpointId. */
  readonly remoteTracks = new Map<string, string>();
  readonly received: ReceiveCounter[] = [];
  readonly sent = { rtp: 0, bytes: 0, keyframes: 0, pliReceived: 0 };
  pcState = 'new';
  private readonly ws: WebSocket;
  private readonly name: string;
  private pc: PeerConnection | undefined;
  private turn: TurnServerEntry[] = [];
  private readonly local: LocalTrack[] = [];
  private readonly recvMedia: { kind: 'audio' | 'video'; mid: string; track: Track }[] = [];
  private midToTrackId: Record<string, string> = {};
  private nextMid = 0;
  private negotiations = 0;
  private answers = 0;
  private readonly cname = randomUUID();
  private readonly streamId = randomUUID();
  private stopPacing: (() => void)[] = [];
  private video: Vp8Source | undefined;
  private wsClosed: { code: number; reason: string } | undefined;
  private authenticated = false;
  private closed = false;

  constructor(private readonly opts: C5PeerOptions) {
    super();
    this.setMaxListeners(0);
    this.name = opts.name ?? 'c5-peer';
    this.ws = new WebSocket(`${opts.wsUrl}/socket/peer/websocket`);
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return; // C5 decodes text frames to an empty message and ignores them
      this.onMessage(data);
    });
    this.ws.on('close', (code, reason) => {
      this.wsClosed = { code, reason: reason.toString() };
      this.emit('change');
    });
    this.ws.on('error', (err) => {
      this.errors.push(`socket: ${err.message}`);
      this.emit('change');
    });
  }

  /** How Shoal closed the socket, once it has. */
  get socketClosed(): { code: number; reason: string } | undefined {
    return this.wsClosed;
  }

  // ---- waiting ----

  /** Resolves when `check` returns a value other than undefined; re-checked on every state change and every 50 ms (media counters do not signal). */
  waitUntil<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const test = () => {
        let v: T | undefined;
        try {
          v = check();
        } catch (err) {
          done();
          reject(err);
          return;
        }
        if (v !== undefined) {
          done();
          resolve(v);
        } else if (this.wsClosed) {
          done();
          reject(new Error(`${this.name}: socket closed (${this.wsClosed.code} "${this.wsClosed.reason}") while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; errors: ${JSON.stringify(this.errors)}; pc: ${this.pcState}`));
      }, timeoutMs);
      const poll = setInterval(test, 50);
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.off('change', test);
      };
      this.on('change', test);
      test();
    });
  }

  // ---- signaling ----

  private send(content: Parameters<typeof create<typeof PeerMessageSchema>>[1]): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(toBinary(PeerMessageSchema, create(PeerMessageSchema, content)));
  }

  private sendEvent(event: MediaEvent): void {
    this.send({ content: { case: 'mediaEvent', value: { data: JSON.stringify(event) } } });
  }

  private sendCustom(type: string, data?: unknown): void {
    this.sendEvent({ type: 'custom', data: data === undefined ? { type } : { type, data } });
  }

  /** Opens the socket, authenticates and sends `connect`; resolves with this endpoint's id. */
  async join(timeoutMs = 10_000): Promise<string> {
    await socketOpened(this.ws, timeoutMs, `${this.name}: socket`);
    this.send({ content: { case: 'authRequest', value: { token: this.opts.token } } });
    await this.waitUntil(() => (this.authenticated ? true : undefined), 'authenticated', timeoutMs);
    this.sendEvent({ type: 'connect', data: { metadata: this.opts.metadata ?? null } });
    return this.waitUntil(() => this.id, 'connected', timeoutMs);
  }

  private onMessage(data: Buffer): void {
    let msg;
    try {
      msg = fromBinary(PeerMessageSchema, new Uint8Array(data));
    } catch (err) {
      this.errors.push(`invalid control message: ${(err as Error).message}`);
      return;
    }
    if (msg.content.case === 'authenticated') {
      this.authenticated = true;
      this.emit('change');
      return;
    }
    if (msg.content.case !== 'mediaEvent') return;
    let event: MediaEvent;
    try {
      event = JSON.parse(msg.content.value.data);
    } catch {
      this.errors.push('media event is not JSON');
      return;
    }
    try {
      this.dispatch(event, true);
    } catch (err) {
      this.errors.push(`${event.type}: ${(err as Error).message}`);
    }
    this.emit('change');
  }

  private dispatch(event: MediaEvent, topLevel: boolean): void {
    if (event.type === 'custom') return this.dispatch(event.data as MediaEvent, false);
    this.events.push(event);
    const d = event.data;
    switch (event.type) {
      case 'connected':
        if (!topLevel) throw new Error('connected must not be wrapped');
        for (const e of d.otherEndpoints as { id: string; tracks: Record<string, unknown> }[])
          for (const t of Object.keys(e.tracks)) this.remoteTracks.set(t, e.id);
        this.id = d.id;
        break;
      case 'tracksAdded':
        for (const t of Object.keys(d.tracks)) this.remoteTracks.set(t, d.endpointId);
        break;
      case 'tracksRemoved':
        for (const t of d.trackIds as string[]) this.remoteTracks.delete(t);
        break;
      case 'offerData':
        this.onOfferData(d.tracksTypes ?? {}, d.integratedTurnServers);
        break;
      case 'sdpAnswer':
        this.onSdpAnswer(d);
        break;
      case 'candidate':
        if (!this.pc) throw new Error('candidate before any offer');
        this.pc.addRemoteCandidate(String(d.candidate).replace(/^a=/, ''), d.sdpMid ?? String(d.sdpMLineIndex ?? 0));
        break;
      case 'error':
        this.errors.push(`server error: ${d?.message}`);
        break;
      default:
        break;
    }
  }

  // ---- WebRTC ----

  private createPeerConnection(): PeerConnection {
    // C5: {bundlePolicy: max-bundle, iceTransportPolicy: relay, iceServers: <first offerData>}. libjuice (the
    // ICE agent under libdatachannel) only does TURN over UDP, so only the udp entries are usable here.
    const iceServers: IceServer[] = this.turn
      .filter((t) => t.transport === 'udp')
      .map((t) => ({ hostname: t.serverAddr, port: t.serverPort, username: t.username, password: t.password, relayType: 'TurnUdp' as const }));
    if (iceServers.length === 0) throw new Error(`no UDP TURN server in integratedTurnServers: ${JSON.stringify(this.turn.map((t) => t.transport))}`);
    const pc = new PeerConnection(this.name, {
      iceServers,
      iceTransportPolicy: 'relay',
      disableAutoNegotiation: true,
      ...(this.opts.bindAddress ? { bindAddress: this.opts.bindAddress } : {}),
    });
    pc.onStateChange((s) => {
      this.pcState = s;
      if (s === 'failed') this.errors.push('RTCPeerConnection failed');
      this.emit('change');
    });
    pc.onLocalDescription((sdp, type) => {
      if (type !== 'offer') return;
      this.sendOffer(sdp);
    });
    pc.onLocalCandidate((candidate, mid) => {
      // C5 forwards every gathered candidate (Shoal, like membrane, ignores them).
      const index = Math.max(0, this.allMids().indexOf(mid));
      this.sendCustom('candidate', { candidate: candidate.replace(/^a=/, ''), sdpMLineIndex: index });
    });
    return pc;
  }

  private allMids(): string[] {
    return [...this.local.filter((t) => t.mid !== undefined).map((t) => t.mid!), ...this.recvMedia.map((r) => r.mid)].sort((a, b) => Number(a) - Number(b));
  }

  private onOfferData(tracksTypes: { audio?: number; video?: number }, turn: TurnServerEntry[] | undefined): void {
    this.negotiations++;
    if (!Array.isArray(turn)) throw new Error('offerData without integratedTurnServers');
    // TURN credentials are read once, from the first offerData (as C5 does).
    if (!this.pc) {
      this.turn = turn;
      this.pc = this.createPeerConnection();
    }
    const pc = this.pc;
    // Local tracks first (their transceivers exist before offerData in C5), then recvonly slots.
    for (const t of this.local) {
      if (t.mid !== undefined) continue;
      t.mid = String(this.nextMid++);
      const media = mediaDescription(t.kind, t.mid, 'SendOnly');
      media.addSSRC(t.ssrc, this.cname, this.streamId, t.id);
      const track = pc.addTrack(media);
      t.track = track;
      track.onOpen(() => {
        t.open = true;
        this.emit('change');
      });
      track.onClosed(() => {
        t.open = false;
      });
      // Sendonly tracks still get RTCP (PLI/FIR/REMB) from Shoal.
      track.onMessage((msg) => this.onPublisherRtcp(msg));
    }
    for (const kind of ['audio', 'video'] as const) {
      const need = (tracksTypes[kind] ?? 0) - this.recvMedia.filter((r) => r.kind === kind).length;
      if (need < 0) throw new RangeError(`tracksTypes.${kind} went down to ${tracksTypes[kind]}`); // as C5 does
      for (let i = 0; i < need; i++) {
        const mid = String(this.nextMid++);
        const track = pc.addTrack(mediaDescription(kind, mid, 'RecvOnly'));
        const counter = newReceiveCounter(mid, kind);
        this.received.push(counter);
        this.recvMedia.push({ kind, mid, track });
        track.onMessage((msg) => countRtp(counter, msg));
      }
    }
    pc.setLocalDescription('offer');
  }

  private sendOffer(sdp: string): void {
    const published = this.local.filter((t) => t.mid !== undefined);
    this.sendCustom('sdpOffer', {
      sdpOffer: { type: 'offer', sdp },
      trackIdToTrackMetadata: Object.fromEntries(published.map((t) => [t.id, { kind: t.kind }])),
      trackIdToTrackBitrates: Object.fromEntries(published.map((t) => [t.id, t.kind === 'video' ? 2_500_000 : 50_000])),
      midToTrackId: Object.fromEntries(published.map((t) => [t.mid!, t.id])),
    });
  }

  private onSdpAnswer(d: { type: string; sdp: string; midToTrackId: Record<string, string> }): void {
    if (!this.pc) throw new Error('sdpAnswer before any offer');
    if (d.type !== 'answer') throw new Error(`sdpAnswer has type "${d.type}"`);
    if (typeof d.midToTrackId !== 'object' || d.midToTrackId === null) throw new Error('sdpAnswer without midToTrackId');
    this.midToTrackId = d.midToTrackId;
    this.pc.setRemoteDescription(d.sdp, 'answer');
    this.answers++;
  }

  /** Track ids (as the answer's midToTrackId maps them) of the recvonly m-lines. */
  receivingTrackIds(): string[] {
    return this.recvMedia.map((r) => this.midToTrackId[r.mid]).filter((t): t is string => t !== undefined);
  }

  /** Publishes a VP8 video track (and an opus track if asked); resolves with the track ids once negotiated, connected and open. */
  async publish(what: { video?: boolean; audio?: boolean } = { video: true }, timeoutMs = 15_000): Promise<string[]> {
    if (!this.id) throw new Error('publish before join');
    const fresh: LocalTrack[] = [];
    for (const kind of ['video', 'audio'] as const) {
      if (!what[kind]) continue;
      const t: LocalTrack = { id: `${this.id}:${randomUUID()}`, kind, ssrc: randomBytes(4).readUInt32BE(0) >>> 0, open: false };
      this.local.push(t);
      fresh.push(t);
    }
    const answersBefore = this.answers;
    this.sendCustom('renegotiateTracks');
    await this.waitUntil(
      () => (this.answers > answersBefore && fresh.every((t) => t.mid !== undefined && this.midToTrackId[t.mid] === t.id) ? true : undefined),
      'sdpAnswer with the published mids',
      timeoutMs,
    );
    await this.waitUntil(() => (this.pcState === 'connected' && fresh.every((t) => t.open) ? true : undefined), 'connected and open tracks', timeoutMs);
    return fresh.map((t) => t.id);
  }

  /** Waits until the first `offerData` round is answered and the peer connection is connected. */
  async negotiated(timeoutMs = 15_000): Promise<void> {
    await this.waitUntil(() => (this.answers > 0 && this.pcState === 'connected' ? true : undefined), 'negotiation and connection', timeoutMs);
  }

  // ---- synthetic media ----

  private onPublisherRtcp(msg: Buffer): void {
    if (!isKeyframeRequest(msg)) return;
    this.sent.pliReceived++;
    this.video?.requestKeyframe();
  }

  /**
   * Starts sending synthetic RTP on the published tracks: video at fps × packetsPerFrame packets/s of
   * packetSize bytes (the default 25 × 4 × 1200 B is ~0.96 Mbit/s), audio (if asked) 50 packets/s of 100 B.
   */
  startSending(o: SendOptions = {}): void {
    if (this.stopPacing.length > 0) return;
    const video = this.local.find((t) => t.kind === 'video' && t.open);
    const audio = o.audio ? this.local.find((t) => t.kind === 'audio' && t.open) : undefined;
    if (!video && !audio) throw new Error('nothing published to send on');
    if (video) {
      const source = (this.video = new Vp8Source(video.ssrc, o));
      this.stopPacing.push(
        paced(source.fps, Math.min(20, Math.floor(1000 / source.fps / 2)), () => {
          for (const pkt of source.nextFrame()) this.count(this.sendRtp(video, pkt), pkt);
          this.sent.keyframes = source.keyframes;
        }),
      );
    }
    if (audio) {
      const source = new OpusSource(audio.ssrc);
      this.stopPacing.push(
        paced(50, 20, () => {
          const pkt = source.nextPacket();
          this.count(this.sendRtp(audio, pkt), pkt);
        }),
      );
    }
  }

  private count(sent: boolean, pkt: Buffer): void {
    if (!sent) return;
    this.sent.rtp++;
    this.sent.bytes += pkt.length;
  }

  private sendRtp(t: LocalTrack, pkt: Buffer): boolean {
    if (!t.track || !t.open) return false;
    try {
      return t.track.sendMessageBinary(pkt);
    } catch (err) {
      this.errors.push(`send: ${(err as Error).message}`);
      return false;
    }
  }

  stopSending(): void {
    for (const stop of this.stopPacing.splice(0)) stop();
    this.video = undefined;
  }

  totalReceived(kind?: 'audio' | 'video'): { packets: number; lost: number; bytes: number } {
    let packets = 0;
    let lost = 0;
    let bytes = 0;
    for (const c of this.received) {
      if (kind && c.kind !== kind) continue;
      packets += c.packets;
      lost += lostOf(c);
      bytes += c.bytes;
    }
    return { packets, lost, bytes };
  }

  /**
   * Closes the peer connection and the socket. With `closeTracks`, its tracks too: a track left open keeps
   * libdatachannel's callbacks (and so the process) alive even after `cleanup()`, which matters where the
   * process must end on its own (tests). The bench leaves them (it ends with process.exit): closing tracks
   * and then running further scenarios crashed node-datachannel 0.33 in a later garbage collection.
   */
  close(closeTracks = false): void {
    if (this.closed) return;
    this.closed = true;
    this.stopSending();
    try {
      this.pc?.close();
    } catch {
      // already closed
    }
    if (closeTracks) {
      for (const track of [...this.local.map((t) => t.track), ...this.recvMedia.map((r) => r.track)]) {
        try {
          track?.close();
        } catch {
          // already closed
        }
      }
    }
    this.ws.close();
  }
}

function mediaDescription(kind: 'audio' | 'video', mid: string, direction: 'SendOnly' | 'RecvOnly'): Video | Audio {
  if (kind === 'video') {
    const v = new Video(mid, direction);
    v.addVP8Codec(VP8_PT);
    return v;
  }
  const a = new Audio(mid, direction);
  a.addOpusCodec(OPUS_PT);
  return a;
}
