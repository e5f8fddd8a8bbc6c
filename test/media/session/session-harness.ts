// A PeerSession without sockets for the session unit tests (not a test file itself): a fake TurnServer
// whose registerVirtual hands out virtual ports and keeps the endpoints, a recording MediaSessionHost,
// the process's DTLS certificate and a real Router shared by the sessions of one "room".
import { JS_DATA_PLANE } from '../../../src/dataplane/data-plane.js';
import { pino } from 'pino';
import type { MediaSessionHost, MediaSessionOptions } from '../../../src/room/media-port.js';
import type { ServerEndpointEvent } from '../../../src/room/endpoint-events.js';
import type { TrackInfo } from '../../../src/room/track.js';
import type { TurnServer, VirtualEndpoint } from '../../../src/turn/turn-server.js';
import { emptyMediaStats } from '../../../src/media/sfu/media-stats.js';
import { Router } from '../../../src/media/sfu/router.js';
import { PeerSession, type MediaContext } from '../../../src/media/session/peer-session.js';
import { dtlsCertificate, type DtlsCertificate } from '../../../src/media/transport/dtls-certificate.js';
import { PacketSlab } from '../../../src/media/transport/packet-slab.js';

export interface RecordingHost extends MediaSessionHost {
  events: ServerEndpointEvent[];
  publishedTracks: TrackInfo[];
  unpublishedIds: string[];
  errors(): string[];
  answers(): Extract<ServerEndpointEvent, { type: 'sdpAnswer' }>[];
}

export function recordingHost(): RecordingHost {
  const host: RecordingHost = {
    events: [],
    publishedTracks: [],
    unpublishedIds: [],
    send: (e) => host.events.push(e),
    published: (tracks) => host.publishedTracks.push(...tracks),
    unpublished: (ids) => host.unpublishedIds.push(...ids),
    trackMetadataChanged: () => {},
    voiceActivity: () => {},
    failed: () => {},
    errors: () => host.events.flatMap((e) => (e.type === 'error' ? [e.message] : [])),
    answers: () => host.events.flatMap((e) => (e.type === 'sdpAnswer' ? [e] : [])),
  };
  return host;
}

/** Just enough of TurnServer for a WebRtcTransport: virtual ports on 127.0.0.1, endpoints kept by port. */
export function fakeTurn(): { turn: TurnServer; endpoints: Map<number, VirtualEndpoint> } {
  const endpoints = new Map<number, VirtualEndpoint>();
  let next = 50000;
  const turn = {
    registerVirtual(endpoint: VirtualEndpoint) {
      const port = next++;
      endpoints.set(port, endpoint);
      return { ip: '127.0.0.1', port, release: () => endpoints.delete(port) };
    },
  } as unknown as TurnServer;
  return { turn, endpoints };
}

export interface Room {
  router: Router;
  ctx: MediaContext;
  open(peerId: string, options?: Partial<MediaSessionOptions>): { session: PeerSession; host: RecordingHost };
}

let certificate: Promise<DtlsCertificate> | undefined;

/** One room's Router and a media context; open() makes a session of a peer in it. */
export async function room(roomId = 'room-1'): Promise<Room> {
  certificate ??= dtlsCertificate();
  const { turn } = fakeTurn();
  const stats = emptyMediaStats();
  const ctx: MediaContext = { turn, certificate: await certificate, slab: new PacketSlab(), turnServers: () => [], log: pino({ level: 'silent' }), stats, srtp: JS_DATA_PLANE.srtp };
  const router = new Router(roomId, stats, () => {});
  return {
    router,
    ctx,
    open(peerId, options = {}) {
      const host = recordingHost();
      const session = new PeerSession(
        { roomId, peerId, roomCodec: null, permissions: { canPublish: true, canSubscribe: true, canPublishData: true }, enableSimulcast: true, ...options },
        host,
        ctx,
        router,
      );
      return { session, host };
    },
  };
}
