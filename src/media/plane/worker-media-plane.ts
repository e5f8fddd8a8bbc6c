// The media plane spread over worker threads (FJ_MEDIA_WORKERS > 0): each worker runs a LocalMediaPlane
// with its own TURN ports, and every room is pinned to one worker (the least loaded when its first
// session opens) for as long as it has sessions, so a room's forwarding never crosses threads. Peers
// learn their room's worker from the TURN entries they are given. A worker that dies takes only its own
// rooms' media down: their sessions fail (the room hangs up on those peers so their clients rejoin) and
// the worker is started again. What it must not do: hold room state, or touch packets in this thread.
import { EventEmitter } from 'node:events';
import type { LogLevel } from '../../config/config.js';
import type { Logger } from '../../log/logger.js';
import type { TurnServerInfo } from '../../room/endpoint-events.js';
import type { TurnServerOptions } from '../../turn/turn-server.js';
import type { DtlsCertificate } from '../transport/dtls-certificate.js';
import { turnServerEntries, type PlaneTurnOptions } from './local-media-plane.js';
import type { MediaSession, MediaSessionHost, MediaSessionOptions } from '../../room/media-port.js';
import { addPlaneStats, emptyPlaneStats, type MediaPlane, type MediaThreadLoad, type PlaneStats } from './media-plane.js';
import { DEFAULT_QUALITY_LIMITS, mergeQuality, type QualityLimits, type QualitySnapshot } from '../sfu/media-quality.js';
import { MEDIA_WORKER_ENTRY, MediaWorker } from './media-worker-thread.js';
import { RemoteMediaSession } from './remote-media-session.js';
import type { MediaWorkerData } from './worker-protocol.js';
import type { DataPlaneKind } from '../../dataplane/data-plane.js';

export interface WorkerMediaPlaneOptions {
  workers: number;
  /** Worker i listens on udpPort + i, tcpPort + i and tls.port + i (0 stays 0: any free port). */
  turn: PlaneTurnOptions;
  certificate: DtlsCertificate;
  credentialTtlSeconds: number;
  log: Logger;
  logLevel: LogLevel | 'silent';
  structuredLogging: boolean;
  /** The data plane every worker runs (chosen once, in the main thread). */
  dataPlane: DataPlaneKind;
}

const RESTART_DELAY_MS = 500;

interface WorkerMediaPlaneEvents {
  /** A worker that had died is running again (its index). */
  workerRestarted: [number];
}

export class WorkerMediaPlane extends EventEmitter<WorkerMediaPlaneEvents> implements MediaPlane {
  /** Agents' media runs here too (AgentSession). */
  readonly hostsAgents = true;
  private readonly workers: MediaWorker[] = [];
  /** Room id → its worker and how many of its sessions are open there. */
  private readonly pins = new Map<string, { worker: MediaWorker; sessions: number }>();
  private nextSession = 0;
  private nextRequest = 0;
  private stopping = false;
  private restarts = 0;

  readonly dataPlane: DataPlaneKind;

  constructor(private readonly options: WorkerMediaPlaneOptions) {
    super();
    this.dataPlane = options.dataPlane;
    if (options.workers < 1) throw new Error('WorkerMediaPlane needs at least one worker');
    for (let i = 0; i < options.workers; i++) {
      const portOf = (base: number | undefined) => (base === undefined || base === 0 ? base : base + i);
      const data: MediaWorkerData = {
        entry: MEDIA_WORKER_ENTRY,
        index: i,
        turn: {
          ...options.turn,
          udpPort: portOf(options.turn.udpPort)!,
          tcpPort: portOf(options.turn.tcpPort),
          tls: options.turn.tls && { ...options.turn.tls, port: portOf(options.turn.tls.port)! },
        },
        certificate: options.certificate,
        credentialTtlSeconds: options.credentialTtlSeconds,
        logLevel: options.logLevel,
        structuredLogging: options.structuredLogging,
        dataPlane: options.dataPlane,
      };
      this.workers.push(new MediaWorker(i, data, options.log, (w) => this.onWorkerDied(w)));
    }
  }

  async start(): Promise<void> {
    const results = await Promise.allSettled(this.workers.map((w) => w.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.stop();
      throw failed.reason;
    }
    this.options.log.info({ workers: this.workers.map((w) => w.ports) }, 'media workers ready');
  }

  open(options: MediaSessionOptions, host: MediaSessionHost): MediaSession {
    const pin = this.pin(options.roomId);
    pin.sessions++;
    const { worker } = pin;
    const id = ++this.nextSession;
    const session = new RemoteMediaSession(id, (msg) => worker.post(msg), host, () => {
      worker.sessions.delete(id);
      if (--pin.sessions === 0 && this.pins.get(options.roomId) === pin) this.pins.delete(options.roomId);
    });
    worker.sessions.set(id, session);
    if (!worker.running) {
      // No worker is running (between a crash and its restart, or stopped): no media now; the client rejoins later.
      setImmediate(() => session.fail(`media worker ${worker.index} is not running`));
      return session;
    }
    worker.post({ type: 'open', session: id, options });
    return session;
  }

  turnServers(roomId: string, peerId: string): TurnServerInfo[] {
    const ports = this.pin(roomId).worker.ports;
    if (!ports) return [];
    return turnServerEntries(this.options.turn, ports, peerId, this.options.credentialTtlSeconds);
  }

  async stats(): Promise<PlaneStats> {
    const all = await Promise.all(this.workers.map((w) => w.stats(++this.nextRequest)));
    return all.reduce(addPlaneStats, emptyPlaneStats());
  }

  /** Every worker's snapshot (each within `limits`), merged and capped at `limits` again. */
  async quality(limits: QualityLimits = DEFAULT_QUALITY_LIMITS): Promise<QualitySnapshot> {
    const all = await Promise.all(this.workers.map((w) => w.quality(++this.nextRequest, limits)));
    return mergeQuality(all, limits);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers.map((w) => w.stop()));
  }

  load(): { threads: MediaThreadLoad[]; workerRestarts: number } {
    return {
      threads: this.workers.map((w) => ({ thread: `worker-${w.index}`, rooms: this.roomsOn(w), sessions: w.sessions.size })),
      workerRestarts: this.restarts,
    };
  }

  /** Ends a worker as if it had crashed (operators' and tests' lever; it restarts like after a crash). */
  async terminateWorker(index: number): Promise<void> {
    await this.workers[index]?.worker?.terminate();
  }

  /** Which worker each room with open sessions is pinned to (for tests and logs). */
  roomPins(): Map<string, number> {
    return new Map([...this.pins].map(([room, pin]) => [room, pin.worker.index]));
  }

  /** The room's pin, made on the least loaded ready worker if it has none. */
  private pin(roomId: string): { worker: MediaWorker; sessions: number } {
    let pin = this.pins.get(roomId);
    if (!pin) {
      const ready = this.workers.filter((w) => w.ready);
      const candidates = ready.length > 0 ? ready : this.workers;
      // Load: open sessions plus one per pinned room (a room's later peers will land there too).
      const load = (w: MediaWorker) => w.sessions.size + this.roomsOn(w);
      const worker = candidates.reduce((best, w) => (load(w) < load(best) ? w : best));
      pin = { worker, sessions: 0 };
      this.pins.set(roomId, pin);
    }
    return pin;
  }

  private roomsOn(worker: MediaWorker): number {
    let n = 0;
    for (const pin of this.pins.values()) if (pin.worker === worker) n++;
    return n;
  }

  private onWorkerDied(worker: MediaWorker): void {
    for (const [room, pin] of this.pins) if (pin.worker === worker) this.pins.delete(room);
    const sessions = [...worker.sessions.values()];
    worker.sessions.clear();
    for (const s of sessions) s.fail(`media worker ${worker.index} exited`);
    if (this.stopping) return;
    const restart = () => {
      if (this.stopping) return;
      worker.start().then(
        () => {
          this.restarts++;
          this.options.log.info({ worker: worker.index, ports: worker.ports }, 'media worker restarted');
          this.emit('workerRestarted', worker.index);
        },
        (err: Error) => {
          this.options.log.error({ err: err.message, worker: worker.index }, 'media worker restart failed; retrying');
          setTimeout(restart, RESTART_DELAY_MS * 4).unref();
        },
      );
    };
    setTimeout(restart, RESTART_DELAY_MS).unref();
  }
}
