// A cheap subscriber for capacity runs: it joins like bench/clients/c5-peer.ts (the peer socket with binary
// protobuf and JSON media events, through test/helpers/raw-peer.ts) and answers Shoal's offerData with a
// hand-made SDP offer of recvonly VP8 (and opus if asked) m-lines; its media leg is hand-made too: a TURN
// allocation on Shoal's integrated TURN server (the requests of test/helpers/turn-requests.ts), a ChannelBind
// to the server's trickled host candidate, one ICE check through it (USERNAME, PRIORITY, ICE-CONTROLLING,
// USE-CANDIDATE, MESSAGE-INTEGRITY with the answer's ice-pwd), and a DTLS client handshake (werift's
// DtlsClient) whose flights go as ChannelData. After the handshake it decrypts nothing: it counts SRTP
// packets by their clear-text RTP header (SSRC → packets, extended highest sequence number, so received and
// lost), reading its socket with the native UdpPort (recvmmsg batches, one JS call per batch, no Buffer
// made per packet). A LightSocketPool lets several subscribers share one socket and TURN allocation, each
// on a channel (and so a virtual address) of its own: Shoal still sees one ICE/DTLS/SRTP session per
// subscriber, and the generator reads many subscribers' packets per recvmmsg.
//
// What Shoal needs from it to keep streaming: nothing more. Shoal is ICE-lite (src/media/transport/
// ice-lite.ts: it answers checks, sends none, so there are no consent checks to answer), and the idle
// watch (src/media/session/idle-watch.ts) only runs for sessions without a signaling socket (WHIP/WHEP);
// so it sends no RTCP. The allocation, permission and channel outlive a capacity step (600 s / 300 s /
// 600 s); refresh() renews them for longer runs.
// What it must not do: decrypt, allocate per media packet, or read past a datagram's bounds.
import { randomBytes } from 'node:crypto';
import { DtlsClient } from 'werift';
import { dtlsCertificate, type DtlsCertificate } from '../../src/media/transport/dtls-certificate.js';
import { loadNativeAddon, UDP_META_WORDS, UDP_MAX_BATCH, type NativeUdpPort } from '../../src/dataplane/native-addon.js';
import { Attr, StunClass, StunMethod, encodeChannelData, encodeStun, type DecodedStun, type TransportAddress } from '../../src/turn/stun-message.js';
import { RawPeer } from '../../test/helpers/raw-peer.js';
import { AsyncTurnClient, REQUESTED_UDP } from '../../test/helpers/turn-requests.js';
import type { TurnServerEntry } from './c5-peer.js';
import { newReceiveCounter, OPUS_PT, VP8_PT, type ReceiveCounter } from '../lib/synthetic-rtp.js';

/** Distinct SSRCs counted per subscriber (more are ignored and counted in `otherSsrcPackets`). */
const MAX_SSRCS = 8;
const CHANNEL = 0x4000;
const MAX_CHANNEL = 0x7fff;

export interface LightSubscriberOptions {
  /** ws://host:port (the path /socket/peer/websocket is appended). */
  wsUrl: string;
  token: string;
  name?: string;
  /** Also offer a recvonly opus m-line (when Shoal's offerData asks for audio). */
  audio?: boolean;
  /** The DTLS certificate (default: this process's one, src/media/transport/dtls-certificate.ts). */
  certificate?: DtlsCertificate;
  /** Where its socket comes from (default: a socket of its own, closed with it). */
  sockets?: LightSocketPool;
}

function ip4ToU32(ip: string): number {
  const p = ip.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`not an IPv4 literal: ${ip}`);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** The TURN requests of test/helpers/turn-requests.ts over a native UdpPort; datagrams come in through feed(). */
class PortTurnClient extends AsyncTurnClient {
  constructor(
    private readonly port: NativeUdpPort,
    private readonly serverIp: number,
    private readonly serverPort: number,
  ) {
    super(10_000);
  }

  protected override sendBytes(buf: Buffer): void {
    this.port.send(buf, 0, buf.length, this.serverIp, this.serverPort);
    this.port.flush();
  }

  protected override streamFramed(): boolean {
    return false;
  }

  /** As AsyncTurnClient's, but over UDP: the request is sent again every 500 ms until answered (RFC 5389 §7.2.1, simplified). */
  override sendAndWait(tid: Buffer, buf: Buffer, timeoutMs = 10_000): Promise<DecodedStun> {
    const again = setInterval(() => this.sendBytes(buf), 500);
    return super.sendAndWait(tid, buf, timeoutMs).finally(() => clearInterval(again));
  }

  feed(buf: Buffer): void {
    try {
      this.onMessage(buf);
    } catch {
      // not a STUN message we can read: ignored
    }
  }

  close(): void {
    this.markClosed();
  }

  allocate(username: string, password: string): Promise<DecodedStun> {
    return this.longTermAllocate(username, password, [REQUESTED_UDP]);
  }
}

/** What a LightSocket hands each channel's datagram payload to (a subscriber). */
interface ChannelSink {
  onChannelData(buf: Buffer, off: number, len: number): void;
}

/**
 * One native UdpPort and one TURN allocation shared by up to `perSocket` subscribers, each on a channel of
 * its own (ChannelBind to its own virtual address: Shoal's relay takes packets to a virtual address from
 * any allocation). Shoal still runs one ICE/DTLS/SRTP session per subscriber; sharing the 5-tuple lets one
 * recvmmsg read many subscribers' packets, which is what makes a packet cost the generator so little.
 */
export class LightSocket {
  readonly meta = new Int32Array(UDP_MAX_BATCH * UDP_META_WORDS);
  readonly port: NativeUdpPort;
  readonly turn: PortTurnClient;
  /** Sinks by channel − 0x4000. */
  private readonly sinks: (ChannelSink | undefined)[] = [];
  users = 0;
  unknown = 0;

  constructor(entry: TurnServerEntry) {
    const addon = loadNativeAddon();
    if (!addon.addon) throw new Error(`light subscribers need the native addon (UdpPort): ${addon.reason}`);
    this.port = new addon.addon.UdpPort((arena, count) => this.onBatch(arena, count), this.meta);
    // onBatch keeps no view of a datagram (TURN responses are copied): one arena, written over and over.
    this.port.reuseArena(true);
    this.port.bind('127.0.0.1', 0, 2 << 20);
    this.turn = new PortTurnClient(this.port, ip4ToU32(entry.serverAddr), entry.serverPort);
  }

  /** The next free channel, routed to `sink`. */
  addChannel(sink: ChannelSink): number {
    if (this.sinks.length >= MAX_CHANNEL - CHANNEL + 1) throw new Error('no TURN channel left on this socket');
    this.sinks.push(sink);
    return CHANNEL + this.sinks.length - 1;
  }

  /** One recvmmsg batch: `count` datagrams in `arena`, placed by `meta`. The per-packet path: no allocation. */
  private onBatch(arena: Buffer, count: number): void {
    const meta = this.meta;
    for (let i = 0; i < count; i++) {
      const off = meta[i * UDP_META_WORDS]!;
      const len = meta[i * UDP_META_WORDS + 1]!;
      if (len < 4) continue;
      const b0 = arena[off]!;
      if (b0 >= 0x40 && b0 <= 0x7f) {
        const dlen = arena.readUInt16BE(off + 2);
        const sink = this.sinks[arena.readUInt16BE(off) - CHANNEL];
        if (dlen > len - 4 || sink === undefined) this.unknown++;
        else sink.onChannelData(arena, off + 4, dlen);
      } else if (b0 <= 3) this.turn.feed(Buffer.from(arena.subarray(off, off + len)));
      else this.unknown++;
    }
  }

  close(): void {
    this.turn.close();
    this.port.close();
  }
}

/**
 * Hands out LightSockets per TURN server, `perSocket` subscribers each (1: a socket per subscriber). With
 * `readEveryMs` > 0 the sockets are not read when readable but all together every `readEveryMs` (UdpPort
 * poll(false) + read()): a read then takes tens of datagrams instead of the two or three that have
 * arrived when a readable event wakes the generator, which is most of what a packet costs it.
 */
export class LightSocketPool {
  private readonly open = new Map<string, { socket: LightSocket; ready: Promise<void> }[]>();
  private reader: NodeJS.Timeout | undefined;

  constructor(
    readonly perSocket = 1,
    readonly readEveryMs = 0,
  ) {}

  /** A socket with room for one more subscriber, allocated on `entry`'s server (with the first user's credentials). */
  async acquire(entry: TurnServerEntry): Promise<LightSocket> {
    const key = `${entry.serverAddr}:${entry.serverPort}`;
    const list = this.open.get(key) ?? [];
    this.open.set(key, list);
    let slot = list.find((s) => s.socket.users < this.perSocket);
    if (!slot) {
      const socket = new LightSocket(entry);
      if (this.readEveryMs > 0) {
        socket.port.poll(false);
        this.reader ??= setInterval(() => this.readAll(), this.readEveryMs);
      }
      const ready = socket.turn.allocate(entry.username, entry.password).then((r) => {
        if (r.cls !== StunClass.SuccessResponse) throw new Error('TURN Allocate refused');
      });
      const made = { socket, ready };
      list.push(made);
      // A socket whose allocation failed takes no further users.
      ready.catch(() => {
        list.splice(list.indexOf(made), 1);
        socket.close();
      });
      slot = made;
    }
    slot.socket.users++;
    await slot.ready;
    return slot.socket;
  }

  /** Datagrams and recvmmsg batches over every socket. */
  totals(): { received: number; batches: number } {
    let received = 0;
    let batches = 0;
    for (const list of this.open.values())
      for (const { socket } of list) {
        const c = socket.port.counters();
        received += c.received;
        batches += c.batches;
      }
    return { received, batches };
  }

  private readAll(): void {
    for (const list of this.open.values()) for (const { socket } of list) socket.port.read();
  }

  close(): void {
    if (this.reader) clearInterval(this.reader);
    this.reader = undefined;
    for (const list of this.open.values()) for (const { socket } of list) socket.close();
    this.open.clear();
  }
}

export class LightSubscriber implements ChannelSink {
  /** One counter per SSRC received (mid = the SSRC in decimal; kind from the payload type). */
  readonly received: ReceiveCounter[] = [];
  readonly errors: string[] = [];
  /** RTP packets of SSRCs beyond MAX_SSRCS, SRTCP packets, and datagrams that were none of the known kinds. */
  readonly other = { otherSsrcPackets: 0, rtcp: 0, unknown: 0 };
  dtlsConnected = false;
  private readonly peer: RawPeer;
  private readonly name: string;
  private readonly sockets: LightSocketPool;
  private readonly ownSockets: boolean;
  private socket: LightSocket | undefined;
  private channel = 0;
  private dtls: { client: DtlsClient; deliver: (data: Buffer) => void } | undefined;
  private readonly bySsrc = new Map<number, ReceiveCounter>();
  private lastSsrc = -1;
  private lastCounter: ReceiveCounter | undefined;
  private closed = false;

  constructor(private readonly opts: LightSubscriberOptions) {
    this.name = opts.name ?? 'light-subscriber';
    this.peer = new RawPeer(opts.wsUrl);
    this.ownSockets = opts.sockets === undefined;
    this.sockets = opts.sockets ?? new LightSocketPool(1);
  }

  /** Joins, answers the first offerData, and resolves once the DTLS handshake with Shoal is done. */
  async connect(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(1, deadline - Date.now());
    await this.peer.join(this.opts.token, { name: this.name }, left());
    const offerData = (await this.peer.nextEvent('custom', left(), (d) => d?.type === 'offerData')).data.data as {
      tracksTypes?: { audio?: number; video?: number };
      integratedTurnServers?: TurnServerEntry[];
    };
    const turnEntry = offerData.integratedTurnServers?.find((t) => t.transport === 'udp');
    if (!turnEntry) throw new Error(`${this.name}: no UDP entry in integratedTurnServers`);

    const socket = (this.socket = await this.sockets.acquire(turnEntry));
    const turn = socket.turn;
    const channel = (this.channel = socket.addChannel(this));

    const cert = this.opts.certificate ?? (await dtlsCertificate());
    const local = { ufrag: randomBytes(4).toString('hex'), pwd: randomBytes(16).toString('hex') };
    const kinds: ('audio' | 'video')[] = [];
    if (this.opts.audio) for (let i = 0; i < (offerData.tracksTypes?.audio ?? 0); i++) kinds.push('audio');
    for (let i = 0; i < Math.max(1, offerData.tracksTypes?.video ?? 0); i++) kinds.push('video');
    this.peer.sendEvent('custom', {
      type: 'sdpOffer',
      data: { sdpOffer: { type: 'offer', sdp: offerSdp(kinds, local, cert.fingerprint) }, trackIdToTrackMetadata: {}, trackIdToTrackBitrates: {}, midToTrackId: {} },
    });
    const answer = (await this.peer.nextEvent('custom', left(), (d) => d?.type === 'sdpAnswer')).data.data as { sdp: string };
    const candidate = (await this.peer.nextEvent('custom', left(), (d) => d?.type === 'candidate')).data.data as { candidate: string };
    const remoteUfrag = /^a=ice-ufrag:(\S+)/m.exec(answer.sdp)?.[1];
    const remotePwd = /^a=ice-pwd:(\S+)/m.exec(answer.sdp)?.[1];
    const c = /candidate:\S+ \d+ udp \d+ (\d+\.\d+\.\d+\.\d+) (\d+) typ host/i.exec(candidate.candidate);
    if (!remoteUfrag || !remotePwd || !c) throw new Error(`${this.name}: no ICE credentials or IPv4 host candidate in the answer (${candidate.candidate})`);
    const server: TransportAddress = { address: c[1]!, port: Number(c[2]) };

    const bound = await turn.channelBind(channel, server);
    if (bound.cls !== StunClass.SuccessResponse) throw new Error(`${this.name}: ChannelBind refused`);
    const tid = randomBytes(12);
    const priority = Buffer.alloc(4);
    priority.writeUInt32BE(0x02ffffff, 0); // a relay candidate's priority
    const check = encodeStun(
      {
        method: StunMethod.Binding,
        cls: StunClass.Request,
        transactionId: tid,
        attributes: [
          { type: Attr.Username, value: Buffer.from(`${remoteUfrag}:${local.ufrag}`) },
          { type: Attr.Priority, value: priority },
          { type: Attr.IceControlling, value: randomBytes(8) },
          { type: Attr.UseCandidate, value: Buffer.alloc(0) },
        ],
      },
      { integrityKey: Buffer.from(remotePwd), fingerprint: true },
    );
    const checked = await turn.sendAndWait(tid, encodeChannelData(channel, check, false), left());
    if (checked.cls !== StunClass.SuccessResponse) throw new Error(`${this.name}: ICE check refused`);

    await this.handshake(cert, left());
  }

  private async handshake(cert: DtlsCertificate, timeoutMs: number): Promise<void> {
    const pipe = {
      type: 'udp',
      address: { address: '127.0.0.1', port: 1, family: 'IPv4' },
      closed: false,
      onData: (_data: Buffer) => {},
      send: async (data: Buffer) => this.socket?.turn.sendChannelData(this.channel, Buffer.from(data)),
      close: async () => {},
    };
    const client = new DtlsClient({ transport: pipe as never, cert: cert.certPem, key: cert.keyPem, signatureHash: cert.signatureHash, srtpProfiles: [7, 1], extendedMasterSecret: true });
    this.dtls = { client, deliver: (d) => pipe.onData(d) };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${this.name}: DTLS handshake did not finish in ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
    }
    this.dtlsConnected = true;
  }

  /** The payload of one ChannelData message on this subscriber's channel (LightSocket's per-packet path). */
  onChannelData(buf: Buffer, off: number, len: number): void {
    if (len === 0) return;
    const b0 = buf[off]!;
    if (b0 >= 128 && b0 <= 191) {
      if (len < 12) return;
      const b1 = buf[off + 1]!;
      if (b1 >= 192 && b1 <= 223) {
        this.other.rtcp++;
        return;
      }
      const ssrc = buf.readUInt32BE(off + 8);
      let c = ssrc === this.lastSsrc ? this.lastCounter : this.counterOf(ssrc, b1 & 0x7f);
      if (c === undefined) {
        this.other.otherSsrcPackets++;
        return;
      }
      this.lastSsrc = ssrc;
      this.lastCounter = c;
      countSeq(c, buf.readUInt16BE(off + 2), len);
    } else if (b0 >= 20 && b0 <= 63) {
      if (!this.dtlsConnected) this.dtls?.deliver(Buffer.from(buf.subarray(off, off + len)));
    } else if (b0 <= 3) this.socket?.turn.feed(Buffer.from(buf.subarray(off, off + len)));
    else this.other.unknown++;
  }

  private counterOf(ssrc: number, pt: number): ReceiveCounter | undefined {
    let c = this.bySsrc.get(ssrc);
    if (c === undefined && this.bySsrc.size < MAX_SSRCS) {
      c = newReceiveCounter(String(ssrc), pt === OPUS_PT ? 'audio' : pt === VP8_PT ? 'video' : 'video');
      this.bySsrc.set(ssrc, c);
      this.received.push(c);
    }
    return c;
  }

  /** Renews the allocation, the channel (and so its permission); for runs longer than ~5 minutes. */
  async refresh(server: TransportAddress): Promise<void> {
    await this.socket?.turn.refresh(600);
    await this.socket?.turn.channelBind(this.channel, server);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.dtls?.client.close();
    } catch {
      // already closed
    }
    if (this.ownSockets) this.sockets.close();
    this.peer.close();
  }
}

/** Counts one RTP packet of sequence number `seq` on `c` (wrap-aware extended highest; late = not above it). */
function countSeq(c: ReceiveCounter, seq: number, bytes: number): void {
  c.packets++;
  c.bytes += bytes;
  const hi = c.highestSeq;
  if (hi === undefined) {
    c.highestSeq = seq;
    c.firstSeq = seq;
    c.firstPacketAt = performance.now();
    return;
  }
  let ext = hi - (hi & 0xffff) + seq;
  if (ext < hi - 0x8000) ext += 0x10000;
  else if (ext > hi + 0x8000) ext -= 0x10000;
  if (ext > hi) c.highestSeq = ext;
  else c.late++;
}

/** A browser-shaped offer: BUNDLE, recvonly m-lines of the given kinds (mids 0, 1, …), rtcp-mux, no candidates. */
function offerSdp(kinds: ('audio' | 'video')[], ice: { ufrag: string; pwd: string }, fingerprint: string): string {
  const mids = kinds.map((_, i) => String(i));
  const section = (kind: 'audio' | 'video', mid: string) => {
    const pt = kind === 'video' ? VP8_PT : OPUS_PT;
    return [
      `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`,
      'c=IN IP4 0.0.0.0',
      'a=rtcp:9 IN IP4 0.0.0.0',
      `a=ice-ufrag:${ice.ufrag}`,
      `a=ice-pwd:${ice.pwd}`,
      `a=fingerprint:sha-256 ${fingerprint}`,
      'a=setup:actpass',
      `a=mid:${mid}`,
      'a=recvonly',
      'a=rtcp-mux',
      kind === 'video' ? `a=rtpmap:${pt} VP8/90000` : `a=rtpmap:${pt} opus/48000/2`,
    ];
  };
  return ['v=0', `o=- ${Date.now()} 1 IN IP4 127.0.0.1`, 's=-', 't=0 0', `a=group:BUNDLE ${mids.join(' ')}`, 'a=msid-semantic: WMS', ...kinds.flatMap((k, i) => section(k, mids[i]!)), ''].join('\r\n');
}
