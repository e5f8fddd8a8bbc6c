// Small recording fakes for driving a Room in unit tests (no sockets, no media, no real timers): a link
// that records what the room sends and how it hangs up, a media port whose sessions record every call
// and keep their host so a test can play the session's side, and a harness around the real NotificationBus.
import { DEFAULT_PERMISSIONS, type PeerPermissions } from '../../src/auth/peer-token.js';
import type { EndpointLink, ServerEndpointEvent, TurnServerInfo } from '../../src/room/endpoint-events.js';
import type { MediaPort, MediaSession, MediaSessionHost, MediaSessionOptions } from '../../src/room/media-port.js';
import { NotificationBus, type Notification } from '../../src/room/notifications.js';
import type { Peer, PeerOptions } from '../../src/room/peer.js';
import type { RoomConfig } from '../../src/room/room-config.js';
import { Room } from '../../src/room/room.js';
import type { TrackInfo, TrackKind, Variant } from '../../src/room/track.js';

export class FakeLink implements EndpointLink {
  sent: ServerEndpointEvent[] = [];
  readonly closes: { code: number; reason: string }[] = [];

  send(event: ServerEndpointEvent): void {
    this.sent.push(event);
  }

  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }

  types(): string[] {
    return this.sent.map((e) => e.type);
  }

  /** Forgets what was sent so far. */
  clear(): void {
    this.sent = [];
  }
}

export type SessionCall =
  | ['subscribe', string, TrackInfo[]]
  | ['unsubscribe', string, string[]]
  | ['trackEvent', string, TrackInfo, ServerEndpointEvent]
  | ['setTargetVariant', string, Variant]
  | ['requestNegotiation']
  | ['handleOffer', string, Record<string, unknown>, Record<string, string>]
  | ['close'];

export class FakeSession implements MediaSession {
  calls: SessionCall[] = [];

  constructor(
    readonly options: MediaSessionOptions,
    readonly host: MediaSessionHost,
  ) {}

  get closed(): boolean {
    return this.calls.some((c) => c[0] === 'close');
  }

  /** The calls of one method, in order. */
  callsOf<M extends SessionCall[0]>(method: M): Extract<SessionCall, [M, ...unknown[]]>[] {
    return this.calls.filter((c): c is Extract<SessionCall, [M, ...unknown[]]> => c[0] === method);
  }

  clear(): void {
    this.calls = [];
  }

  subscribe(endpointId: string, tracks: TrackInfo[]): void {
    this.calls.push(['subscribe', endpointId, tracks]);
  }
  unsubscribe(endpointId: string, trackIds: string[]): void {
    this.calls.push(['unsubscribe', endpointId, trackIds]);
  }
  trackEvent(endpointId: string, track: TrackInfo, event: ServerEndpointEvent): void {
    this.calls.push(['trackEvent', endpointId, track, event]);
  }
  setTargetVariant(trackId: string, variant: Variant): void {
    this.calls.push(['setTargetVariant', trackId, variant]);
  }
  requestNegotiation(): void {
    this.calls.push(['requestNegotiation']);
  }
  handleOffer(sdp: string, trackIdToMetadata: Record<string, unknown>, midToTrackId: Record<string, string>): void {
    this.calls.push(['handleOffer', sdp, trackIdToMetadata, midToTrackId]);
  }
  close(): void {
    this.calls.push(['close']);
  }
}

export const TURN: TurnServerInfo[] = [{ serverAddr: '127.0.0.1', serverPort: 3478, transport: 'udp', username: 'u', password: 'p' }];

export class FakeMediaPort implements MediaPort {
  readonly sessions: FakeSession[] = [];

  open(options: MediaSessionOptions, host: MediaSessionHost): MediaSession {
    const session = new FakeSession(options, host);
    this.sessions.push(session);
    return session;
  }

  turnServers(): TurnServerInfo[] {
    return TURN;
  }

  /** The latest session opened for `peerId`. */
  session(peerId: string): FakeSession {
    const s = this.sessions.filter((x) => x.options.peerId === peerId).at(-1);
    if (!s) throw new Error(`no session for ${peerId}`);
    return s;
  }

  sessionsOf(peerId: string): FakeSession[] {
    return this.sessions.filter((x) => x.options.peerId === peerId);
  }
}

export function config(over: Partial<RoomConfig> = {}): RoomConfig {
  return {
    roomId: 'room-1',
    maxPeers: null,
    videoCodec: null,
    webhookUrl: null,
    peerlessPurgeTimeout: null,
    peerDisconnectedTimeout: null,
    roomType: 'conference',
    public: false,
    ...over,
  };
}

export interface Harness {
  room: Room;
  bus: NotificationBus;
  /** Every notification published on the bus, in order. */
  notes: Notification[];
  port: FakeMediaPort;
  purges: Room[];
  errors: { err: unknown; context: string }[];
  /** Types of the notifications, optionally only those about `peerId`. */
  types(peerId?: string): string[];
  clearNotes(): void;
}

/** A started room; `media: false` leaves hooks.media absent (signaling only). */
export function makeRoom(over: Partial<RoomConfig> = {}, opts: { media?: boolean; start?: boolean } = {}): Harness {
  const bus = new NotificationBus();
  const port = new FakeMediaPort();
  const purges: Room[] = [];
  const errors: { err: unknown; context: string }[] = [];
  const cfg = config(over);
  const room = new Room(cfg.roomId, cfg, bus, {
    onPurge: (r) => purges.push(r),
    onError: (err, context) => errors.push({ err, context }),
    media: opts.media === false ? undefined : port,
  });
  const h: Harness = {
    room,
    bus,
    notes: [],
    port,
    purges,
    errors,
    types: (peerId) => h.notes.filter((n) => peerId === undefined || ('peerId' in n && n.peerId === peerId)).map((n) => n.type),
    clearNotes: () => {
      h.notes.length = 0;
    },
  };
  bus.subscribe((n) => h.notes.push(n));
  if (opts.start !== false) room.start();
  return h;
}

export type PeerOverrides = Omit<Partial<PeerOptions>, 'permissions'> & { permissions?: Partial<PeerPermissions> };

export function peerOptions(over: PeerOverrides = {}): PeerOptions {
  return {
    type: 'webrtc',
    enableSimulcast: true,
    metadata: null,
    subscribeMode: 'auto',
    ...over,
    permissions: { ...DEFAULT_PERMISSIONS, ...over.permissions },
  };
}

let tokenSeq = 0;

/** Adds a peer and gives it a fresh token (not yet attached). */
export function addPeer(h: Harness, over: PeerOverrides = {}): { peer: Peer; token: string } {
  const peer = h.room.addPeer(peerOptions(over));
  const token = `tok-${++tokenSeq}`;
  h.room.setPeerToken(peer.id, token);
  return { peer, token };
}

/** Attaches a new link for `peer` (must succeed). */
export function attach(h: Harness, peer: Peer, token: string): FakeLink {
  const link = new FakeLink();
  const r = h.room.attach(peer.id, token, link);
  if (r !== peer) throw new Error(`attach refused: ${String(r)}`);
  return link;
}

export interface Joined {
  peer: Peer;
  token: string;
  link: FakeLink;
}

/** Adds a peer, attaches it and sends `connect`. */
export function join(h: Harness, over: PeerOverrides = {}, metadata: unknown = null): Joined {
  const { peer, token } = addPeer(h, over);
  const link = attach(h, peer, token);
  h.room.handle(peer.id, link, { type: 'connect', metadata });
  return { peer, token, link };
}

export function track(id: string, type: TrackKind = 'video', metadata: unknown = null, simulcast = false): TrackInfo {
  return { id, type, metadata, simulcast: { enabled: simulcast, active: simulcast ? ['l', 'm', 'h'] : [], disabled: [] } };
}
