// The media plane in the calling thread: one integrated TURN server (one UDP port, optional TCP port)
// for every peer, one DTLS certificate, the plane's packet counters and packet slab, and per room the
// Router that owns its media graph (walked for quality snapshots); a session is a PeerSession, or an
// AgentSession for an agent. Used directly when FJ_MEDIA_WORKERS is 0, and inside each media
// worker otherwise. It knows nothing about rooms beyond their ids.
import type { Logger } from '../../log/logger.js';
import type { TurnServerInfo } from '../../room/endpoint-events.js';
import { issueTurnCredentials } from '../../turn/turn-credentials.js';
import { TurnServer, type TurnPorts, type TurnServerOptions } from '../../turn/turn-server.js';
import type { DtlsCertificate } from '../transport/dtls-certificate.js';
import type { MediaSession, MediaSessionHost, MediaSessionOptions } from '../../room/media-port.js';
import type { MediaPlane, MediaThreadLoad, PlaneStats } from './media-plane.js';
import { DEFAULT_QUALITY_LIMITS, QualityCollector, type QualityLimits, type QualitySnapshot } from '../sfu/media-quality.js';
import { emptyMediaStats } from '../sfu/media-stats.js';
import { Router } from '../sfu/router.js';
import { AgentSession } from '../agent/agent-session.js';
import { PeerSession, type MediaContext } from '../session/peer-session.js';
import { PacketSlab } from '../transport/packet-slab.js';
import { openDataPlane, type DataPlaneKind } from '../../dataplane/data-plane.js';

/** The plane's TURN server settings, and the host name clients are given for TURNS (its certificate's name). */
export type PlaneTurnOptions = Omit<TurnServerOptions, 'log'> & { tlsHost?: string };

export interface LocalMediaPlaneOptions {
  turn: PlaneTurnOptions;
  certificate: DtlsCertificate;
  /** Lifetime of the TURN credentials handed to peers. */
  credentialTtlSeconds: number;
  log: Logger;
  /** Which data plane carries this thread's packets (default js; the server passes the one it chose). */
  dataPlane?: DataPlaneKind;
}

export class LocalMediaPlane implements MediaPlane {
  /** Agents' media runs here too (AgentSession). */
  readonly hostsAgents = true;
  private readonly turn: TurnServer;
  private ports: TurnPorts | undefined;
  private readonly routers = new Map<string, Router>();
  private readonly counters = emptyMediaStats();
  private readonly ctx: MediaContext;
  readonly dataPlane: DataPlaneKind;

  constructor(private readonly options: LocalMediaPlaneOptions) {
    const dataPlane = openDataPlane(options.dataPlane ?? 'js');
    this.dataPlane = dataPlane.kind;
    this.turn = new TurnServer({ ...options.turn, log: options.log.child({ module: 'turn' }), udpSocket: dataPlane.udpSocket });
    this.ctx = {
      srtp: dataPlane.srtp,
      turn: this.turn,
      certificate: options.certificate,
      slab: new PacketSlab(),
      log: options.log.child({ module: 'media' }),
      turnServers: (peerId) => this.turnServersFor(peerId),
      stats: this.counters,
    };
  }

  /** The bound TURN ports (after start). */
  get boundPorts(): TurnPorts | undefined {
    return this.ports;
  }

  async start(): Promise<void> {
    this.ports = await this.turn.start();
  }

  open(options: MediaSessionOptions, host: MediaSessionHost): MediaSession {
    const { roomId } = options;
    let router = this.routers.get(roomId);
    if (!router) {
      router = new Router(roomId, this.counters, (empty) => {
        if (this.routers.get(roomId) === empty) this.routers.delete(roomId);
      });
      this.routers.set(roomId, router);
    }
    if (options.agent) return new AgentSession(options, host, router, this.ctx.log.child({ agentId: options.peerId }));
    return new PeerSession(options, host, this.ctx, router);
  }

  turnServers(_roomId: string, peerId: string): TurnServerInfo[] {
    return this.turnServersFor(peerId);
  }

  async stats(): Promise<PlaneStats> {
    return { ...this.counters, turn: this.turn.snapshot() };
  }

  async quality(limits: QualityLimits = DEFAULT_QUALITY_LIMITS): Promise<QualitySnapshot> {
    const collector = new QualityCollector(limits);
    for (const router of this.routers.values()) router.collectQuality(collector);
    return collector.snapshot();
  }

  async stop(): Promise<void> {
    await this.turn.stop();
  }

  load(): { threads: MediaThreadLoad[]; workerRestarts: number } {
    let sessions = 0;
    for (const router of this.routers.values()) sessions += router.sessions;
    return { threads: [{ thread: 'main', rooms: this.routers.size, sessions }], workerRestarts: 0 };
  }

  private turnServersFor(peerId: string): TurnServerInfo[] {
    if (!this.ports) return [];
    return turnServerEntries(this.options.turn, this.ports, peerId, this.options.credentialTtlSeconds);
  }
}

/** The `integratedTurnServers` entries for one peer: UDP, TCP when it is on, and TLS (TURNS, by host name) when it is on. */
export function turnServerEntries(turn: PlaneTurnOptions, ports: TurnPorts, peerId: string, ttlSeconds: number): TurnServerInfo[] {
  const { username, password } = issueTurnCredentials(turn.secret, peerId, ttlSeconds);
  const servers: TurnServerInfo[] = [{ serverAddr: turn.advertisedIp, serverPort: ports.udpPort, transport: 'udp', username, password }];
  if (ports.tcpPort !== undefined) servers.push({ serverAddr: turn.advertisedIp, serverPort: ports.tcpPort, transport: 'tcp', username, password });
  if (ports.tlsPort !== undefined) servers.push({ serverAddr: turn.tlsHost ?? turn.advertisedIp, serverPort: ports.tlsPort, transport: 'tls', username, password });
  return servers;
}
