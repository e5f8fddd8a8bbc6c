// A minimal Janus HTTP API client (https://janus.conf.meetecho.com/docs/rest.html) plus VideoRoom publisher and
// subscriber peers on top of node-datachannel (libdatachannel), for the fan-out bench.
//
//   JanusSession   POST {janus:"create"} → session id; one long-poll loop (GET /janus/<session>?maxev=N)
//                  dispatching events to handles by `sender`; {janus:"keepalive"} every 20 s; destroy().
//   JanusHandle    POST {janus:"attach", plugin} → handle id; request() for synchronous plugin requests
//                  (create/destroy room: "success" + plugindata), message() for asynchronous ones ("ack", then
//                  an "event" with the same transaction, carrying plugindata and maybe a jsep).
//   JanusPublisher joins a room as publisher, offers a sendonly VP8 m-line ({request:"publish"} + jsep offer),
//                  applies Janus's answer and sends synthetic VP8 RTP (bench/janus/rtp.ts).
//   JanusSubscriber joins as subscriber to a feed ({request:"join", ptype:"subscriber", streams:[{feed}]}),
//                  answers Janus's offer ({request:"start"} + jsep answer) and counts received RTP per m-line.
//
// No trickle from our side: we wait for libdatachannel's gathering to complete and send the full SDP. Janus
// (half-trickle) puts its candidates in its SDP; "trickle" events from Janus are applied anyway.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PeerConnection, Video, type Track } from 'node-datachannel';
import { countRtp, newReceiveCounter, VP8_PT, type ReceiveCounter } from '../lib/synthetic-rtp.js';
import { Vp8Sender, type SendOptions } from './rtp.js';

interface JanusMessage {
  janus: string;
  transaction?: string;
  session_id?: number;
  sender?: number;
  data?: any;
  plugindata?: { plugin: string; data: any };
  jsep?: { type: 'offer' | 'answer'; sdp: string };
  candidate?: { sdpMid?: string; sdpMLineIndex?: number; candidate?: string; completed?: boolean };
  error?: { code: number; reason: string };
  [k: string]: unknown;
}

const tx = () => randomBytes(9).toString('base64url');

async function post(url: string, body: object): Promise<JanusMessage> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST ${url} → HTTP ${r.status} ${text}`);
  const m = JSON.parse(text) as JanusMessage;
  if (m.janus === 'error') throw new Error(`Janus error ${m.error?.code}: ${m.error?.reason}`);
  return m;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export class JanusSession {
  readonly handles = new Map<number, JanusHandle>();
  readonly errors: string[] = [];
  private readonly abort = new AbortController();
  private keepalive: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly baseUrl: string,
    readonly id: number,
  ) {}

  get url(): string {
    return `${this.baseUrl}/${this.id}`;
  }

  static async create(baseUrl: string): Promise<JanusSession> {
    const r = await post(baseUrl, { janus: 'create', transaction: tx() });
    if (r.janus !== 'success') throw new Error(`create: unexpected ${JSON.stringify(r)}`);
    const s = new JanusSession(baseUrl, r.data.id);
    s.polling = s.poll();
    s.keepalive = setInterval(() => {
      post(s.url, { janus: 'keepalive', transaction: tx() }).catch((e) => s.errors.push(`keepalive: ${(e as Error).message}`));
    }, 20_000);
    return s;
  }

  async attach(plugin = 'janus.plugin.videoroom'): Promise<JanusHandle> {
    const r = await post(this.url, { janus: 'attach', plugin, transaction: tx() });
    if (r.janus !== 'success') throw new Error(`attach: unexpected ${JSON.stringify(r)}`);
    const h = new JanusHandle(this, r.data.id);
    this.handles.set(h.id, h);
    return h;
  }

  private async poll(): Promise<void> {
    while (!this.closed) {
      let events: JanusMessage[];
      try {
        const r = await fetch(`${this.url}?maxev=100&rid=${Date.now()}`, { signal: this.abort.signal });
        const body = (await r.json()) as JanusMessage | JanusMessage[];
        events = Array.isArray(body) ? body : [body];
      } catch (err) {
        if (this.closed) return;
        this.errors.push(`long-poll: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      for (const e of events) {
        if (e.janus === 'keepalive') continue;
        const h = e.sender !== undefined ? this.handles.get(e.sender) : undefined;
        if (h) h.dispatch(e);
        else if (e.janus === 'error') this.errors.push(`session error: ${JSON.stringify(e.error)}`);
      }
    }
  }

  async destroy(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.keepalive);
    // Stop polling first: a long-poll issued after the destroy would only earn a "no such session" error.
    this.closed = true;
    this.abort.abort();
    try {
      await post(this.url, { janus: 'destroy', transaction: tx() });
    } catch {
      // already gone
    }
    await this.polling?.catch(() => undefined);
  }
}

export class JanusHandle extends EventEmitter {
  private readonly waiters = new Map<string, (e: JanusMessage) => void>();

  constructor(
    readonly session: JanusSession,
    readonly id: number,
  ) {
    super();
    this.setMaxListeners(0);
  }

  get url(): string {
    return `${this.session.url}/${this.id}`;
  }

  dispatch(e: JanusMessage): void {
    if (e.transaction && this.waiters.has(e.transaction) && e.janus === 'event') {
      const w = this.waiters.get(e.transaction)!;
      this.waiters.delete(e.transaction);
      w(e);
      return;
    }
    this.emit(e.janus, e);
    this.emit('any', e);
  }

  /** A synchronous plugin request (e.g. VideoRoom create/destroy/exists): resolves with plugindata.data. */
  async request(body: object): Promise<any> {
    const r = await post(this.url, { janus: 'message', body, transaction: tx() });
    if (r.janus !== 'success') throw new Error(`request ${JSON.stringify(body)}: unexpected ${JSON.stringify(r)}`);
    const data = r.plugindata?.data;
    if (data?.error_code) throw new Error(`plugin error ${data.error_code}: ${data.error}`);
    return data;
  }

  /** An asynchronous plugin message: resolves with the event's plugindata.data and jsep. */
  async message(body: object, jsep?: { type: string; sdp: string }, timeoutMs = 15_000): Promise<{ data: any; jsep?: JanusMessage['jsep'] }> {
    const t = tx();
    const event = new Promise<JanusMessage>((resolve) => this.waiters.set(t, resolve));
    const r = await post(this.url, { janus: 'message', body, transaction: t, ...(jsep ? { jsep } : {}) });
    if (r.janus === 'success') {
      this.waiters.delete(t);
      return { data: r.plugindata?.data, jsep: r.jsep };
    }
    if (r.janus !== 'ack') throw new Error(`message ${JSON.stringify(body)}: unexpected ${JSON.stringify(r)}`);
    const e = await withTimeout(event, timeoutMs, `event for ${JSON.stringify(body)}`).finally(() => this.waiters.delete(t));
    const data = e.plugindata?.data;
    if (data?.error_code) throw new Error(`plugin error ${data.error_code}: ${data.error}`);
    return { data, jsep: e.jsep };
  }

  async detach(): Promise<void> {
    try {
      await post(this.url, { janus: 'detach', transaction: tx() });
    } catch {
      // session already destroyed
    }
    this.session.handles.delete(this.id);
  }
}

/** Resolves when `check` returns true (checked every 20 ms), rejects after `timeoutMs`. */
function waitFor(check: () => boolean, what: string, timeoutMs: number, errors: () => string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (check()) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve();
      }
    }, 20);
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; errors: ${JSON.stringify(errors())}`));
    }, timeoutMs);
    if (check()) {
      clearInterval(poll);
      clearTimeout(timer);
      resolve();
    }
  });
}

abstract class JanusPeer {
  readonly errors: string[] = [];
  pcState = 'new';
  protected pc: PeerConnection | undefined;
  protected handle: JanusHandle | undefined;

  /** `bindAddress`: the local address for libdatachannel's ICE sockets (use JanusServer.iceAddress). */
  constructor(
    protected readonly session: JanusSession,
    readonly name: string,
    private readonly bindAddress?: string,
  ) {}

  protected newPeerConnection(): PeerConnection {
    const pc = new PeerConnection(this.name, {
      iceServers: [],
      disableAutoNegotiation: true,
      ...(this.bindAddress ? { bindAddress: this.bindAddress } : {}),
    });
    pc.onStateChange((s) => {
      this.pcState = s;
      if (s === 'failed') this.errors.push('PeerConnection failed');
    });
    return pc;
  }

  protected attachTrickle(h: JanusHandle): void {
    h.on('trickle', (e: JanusMessage) => {
      const c = e.candidate;
      if (!c || c.completed || !c.candidate || !this.pc) return;
      try {
        this.pc.addRemoteCandidate(c.candidate.replace(/^a=/, ''), c.sdpMid ?? String(c.sdpMLineIndex ?? 0));
      } catch (err) {
        this.errors.push(`candidate: ${(err as Error).message}`);
      }
    });
    h.on('hangup', (e: JanusMessage) => this.errors.push(`hangup: ${String(e.reason)}`));
  }

  /** The local description once ICE gathering is complete (candidates included). */
  protected async completeLocalDescription(timeoutMs = 10_000): Promise<{ type: string; sdp: string }> {
    const pc = this.pc!;
    await waitFor(() => pc.gatheringState() === 'complete', `${this.name}: ICE gathering`, timeoutMs, () => this.errors);
    const d = pc.localDescription();
    if (!d) throw new Error(`${this.name}: no local description`);
    return { type: d.type, sdp: d.sdp };
  }

  async waitConnected(timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.pcState === 'connected', `${this.name}: PeerConnection connected`, timeoutMs, () => this.errors);
  }

  async close(): Promise<void> {
    try {
      this.pc?.close();
    } catch {
      // already closed
    }
    await this.handle?.detach();
  }
}

export class JanusPublisher extends JanusPeer {
  /** Publisher id in the room (the feed subscribers ask for). */
  feedId: number | undefined;
  sender: Vp8Sender | undefined;
  private track: Track | undefined;
  private trackOpen = false;

  async publish(room: number, timeoutMs = 15_000): Promise<number> {
    const h = (this.handle = await this.session.attach());
    this.attachTrickle(h);
    const joined = await h.message({ request: 'join', ptype: 'publisher', room, display: this.name }, undefined, timeoutMs);
    if (joined.data?.videoroom !== 'joined') throw new Error(`${this.name}: join → ${JSON.stringify(joined.data)}`);
    this.feedId = joined.data.id as number;

    const pc = (this.pc = this.newPeerConnection());
    const ssrc = randomBytes(4).readUInt32BE(0) >>> 0;
    const video = new Video('0', 'SendOnly');
    video.addVP8Codec(VP8_PT);
    video.addSSRC(ssrc, 'janus-bench', 'janus-bench-stream', 'janus-bench-video');
    const track = (this.track = pc.addTrack(video));
    this.sender = new Vp8Sender(track, ssrc);
    track.onOpen(() => (this.trackOpen = true));
    track.onClosed(() => (this.trackOpen = false));
    track.onMessage((msg) => this.sender!.onRtcp(msg));
    pc.setLocalDescription('offer');
    const offer = await this.completeLocalDescription();
    const r = await h.message({ request: 'publish', audio: false, video: true, data: false }, offer, timeoutMs);
    if (r.data?.configured !== 'ok') throw new Error(`${this.name}: publish → ${JSON.stringify(r.data)}`);
    if (r.jsep?.type !== 'answer') throw new Error(`${this.name}: publish without an answer jsep`);
    pc.setRemoteDescription(r.jsep.sdp, 'answer');
    await this.waitConnected(timeoutMs);
    await waitFor(() => this.trackOpen, `${this.name}: track open`, timeoutMs, () => this.errors);
    return this.feedId;
  }

  startSending(o?: SendOptions): void {
    if (!this.sender || !this.track) throw new Error('publish first');
    this.sender.start(o);
  }

  override async close(): Promise<void> {
    this.sender?.stop();
    await super.close();
  }
}

export class JanusSubscriber extends JanusPeer {
  readonly received: ReceiveCounter[] = [];
  readonly remoteTracks: Track[] = [];

  /** Subscribes to one feed, or (multistream) to several on one peer connection. */
  async subscribe(room: number, feed: number | number[], timeoutMs = 15_000): Promise<void> {
    const h = (this.handle = await this.session.attach());
    this.attachTrickle(h);
    const streams = (Array.isArray(feed) ? feed : [feed]).map((f) => ({ feed: f }));
    const attached = await h.message({ request: 'join', ptype: 'subscriber', room, streams }, undefined, timeoutMs);
    if (attached.data?.videoroom !== 'attached') throw new Error(`${this.name}: join → ${JSON.stringify(attached.data)}`);
    if (attached.jsep?.type !== 'offer') throw new Error(`${this.name}: no offer from Janus`);

    const pc = (this.pc = this.newPeerConnection());
    pc.onTrack((track) => {
      const counter = newReceiveCounter(track.mid(), 'video');
      this.received.push(counter);
      this.remoteTracks.push(track);
      track.onMessage((msg) => countRtp(counter, msg));
    });
    pc.setRemoteDescription(attached.jsep.sdp, 'offer');
    pc.setLocalDescription('answer');
    const answer = await this.completeLocalDescription();
    const started = await h.message({ request: 'start' }, answer, timeoutMs);
    if (started.data?.started !== 'ok') throw new Error(`${this.name}: start → ${JSON.stringify(started.data)}`);
    await this.waitConnected(timeoutMs);
  }

  totalReceived(): number {
    return this.received.reduce((s, c) => s + c.packets, 0);
  }
}

/** A VideoRoom for `publishers` VP8 publishers, created through `admin` (any attached videoroom handle). */
export async function createRoom(admin: JanusHandle, room: number, publishers = 1): Promise<number> {
  const d = await admin.request({
    request: 'create',
    room,
    description: `bench-${room}`,
    publishers,
    videocodec: 'vp8',
    audiocodec: 'opus',
    bitrate: 0,
    fir_freq: 10,
    record: false,
    permanent: false,
    notify_joining: false,
  });
  if (d?.videoroom !== 'created') throw new Error(`create room → ${JSON.stringify(d)}`);
  return d.room as number;
}

export async function destroyRoom(admin: JanusHandle, room: number): Promise<void> {
  await admin.request({ request: 'destroy', room, permanent: false });
}

