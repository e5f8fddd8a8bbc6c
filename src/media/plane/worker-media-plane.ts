// The media plane spread over worker threads (FJ_MEDIA_WORKERS > 0): each worker runs a LocalMediaPlane
// with its own TURN ports, and every room is pinned to one worker (the least loaded when its first
// session opens) for as long as it has sessions, so a room's forwarding never crosses threads. Peers
// learn their room's worker from the TURN entries they are given. A worker that dies takes only its own
// rooms' media down: their sessions fail (the room hangs up on those peers so their clients rejoin) and
// the worker is started again. What it must not do: hold room state, or touch packets in this thread.
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { LogLevel } from '../../config/config.js';
import type { Logger } from '../../log/logger.js';
import type { TurnServerInfo } from '../../room/endpoint-events.js';
import type { TurnServerOptions } from '../../turn/turn-server.js';
import type { DtlsCertificate } from '../transport/dtls-certificate.js';
import { turnServerEntries } from './local-media-plane.js';
import type { MediaSession, MediaSessionHost, MediaSessionOptions } from '../../room/media-port.js';
import type { MediaPlane, MediaThreadLoad } from './media-plane.js';
import { addMediaStats, emptyMediaStats, type MediaStats } from '../sfu/media-stats.js';
import type { FromWorker, MediaWorkerData, ToWorker } from './worker-protocol.js';
import { RemoteMediaSession } from './remote-media-session.js';

export interface WorkerMediaPlaneOptions {
  workers: number;
  /** Worker i listens on udpPort + i and tcpPort + i (0 stays 0: any free port). */
  turn: Omit<TurnServerOptions, 'log'>;
  certificate: DtlsCertificate;
  credentialTtlSeconds: number;
  log: Logger;
  logLevel: LogLevel | 'silent';
  structuredLogging: boolean;
}

/** How long stats() waits for a worker's counters, and stop() for a worker to finish. */
const STATS_TIMEOUT_MS = 1000;
const STOP_TIMEOUT_MS = 3000;
const RESTART_DELAY_MS = 500;

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const BOOT = new URL('./media-worker-boot.mjs', import.meta.url);
const ENTRY = new URL(`./media-worker${EXT}`, import.meta.url).href;

class StartError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'MediaWorkerStartError';
  }
}

/** One worker thread and its open sessions (its rooms are the plane's pins that name it). */
class MediaWorker {
  worker: Worker | undefined;
  ports: { udpPort: number; tcpPort?: number } | undefined;
  readonly sessions = new Map<number, RemoteMediaSession>();
  private readonly statsWaiters = new Map<number, (s: MediaStats) => void>();
  private stopWaiter: (() => void) | undefined;

  constructor(
    readonly index: number,
    private readonly data: MediaWorkerData,
    private readonly log: Logger,
    private readonly onDied: (w: MediaWorker) => void,
  ) {}

  get ready(): boolean {
    return this.ports !== undefined;
  }

  /** Has a thread (ready or starting; messages posted while it starts wait for it). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  start(): Promise<void> {
    const worker = new Worker(BOOT, { workerData: this.data, name: `shoal-media-${this.index}` });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          this.ports = msg.tcpPort === undefined ? { udpPort: msg.udpPort } : { udpPort: msg.udpPort, tcpPort: msg.tcpPort };
          settled = true;
          resolve();
        } else if (msg.type === 'startFailed') {
          settled = true;
          reject(new StartError(`media worker ${this.index}: ${msg.message}`, msg.code));
          void worker.terminate();
        } else {
          this.onMessage(msg);
        }
      });
      worker.on('error', (err) => {
        this.log.error({ err, worker: this.index }, 'media worker crashed');
        if (!settled) {
          settled = true;
          reject(err);
        }
      });
      worker.on('exit', (code) => {
        if (this.worker !== worker) return;
        const wasReady = this.ports !== undefined;
        this.worker = undefined;
        this.ports = undefined;
        this.stopWaiter?.();
        for (const resolveStats of this.statsWaiters.values()) resolveStats(emptyMediaStats());
        this.statsWaiters.clear();
        if (!settled) {
          settled = true;
          reject(new StartError(`media worker ${this.index} exited with code ${code} before it was ready`));
        } else if (wasReady && this.stopWaiter === undefined) {
          this.log.error({ worker: this.index, code }, 'media worker exited');
          this.onDied(this);
        }
      });
    });
  }

  post(msg: ToWorker): void {
    this.worker?.postMessage(msg);
  }

  stats(request: number): Promise<MediaStats> {
    if (!this.worker) return Promise.resolve(emptyMediaStats());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.statsWaiters.delete(request);
        resolve(emptyMediaStats());
      }, STATS_TIMEOUT_MS);
      this.statsWaiters.set(request, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.post({ type: 'stats', request });
    });
  }

  async stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      this.stopWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
      this.post({ type: 'stop' });
    });
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'host': {
        const { type: _t, session, ...call } = msg;
        this.sessions.get(session)?.deliver(call);
        return;
      }
      case 'stats': {
        const waiter = this.statsWaiters.get(msg.request);
        this.statsWaiters.delete(msg.request);
        waiter?.(msg.stats);
        return;
      }
      case 'stopped':
        void this.worker?.terminate();
        return;
      default:
        return;
    }
  }
}

interface WorkerMediaPlaneEvents {
  /** A worker that had died is running again (its index). */
  workerRestarted: [number];
}

export class WorkerMediaPlane extends EventEmitter<WorkerMediaPlaneEvents> implements MediaPlane {
  private readonly workers: MediaWorker[] = [];
  /** Room id → its worker and how many of its sessions are open there. */
  private readonly pins = new Map<string, { worker: MediaWorker; sessions: number }>();
  private nextSession = 0;
  private nextRequest = 0;
  private stopping = false;
  private restarts = 0;

  constructor(private readonly options: WorkerMediaPlaneOptions) {
    super();
    if (options.workers < 1) throw new Error('WorkerMediaPlane needs at least one worker');
    for (let i = 0; i < options.workers; i++) {
      const portOf = (base: number | undefined) => (base === undefined || base === 0 ? base : base + i);
      const data: MediaWorkerData = {
        entry: ENTRY,
        index: i,
        turn: { ...options.turn, udpPort: portOf(options.turn.udpPort)!, tcpPort: portOf(options.turn.tcpPort) },
        certificate: options.certificate,
        credentialTtlSeconds: options.credentialTtlSeconds,
        logLevel: options.logLevel,
        structuredLogging: options.structuredLogging,
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
    const { secret, advertisedIp } = this.options.turn;
    return turnServerEntries(secret, advertisedIp, ports, peerId, this.options.credentialTtlSeconds);
  }

  async stats(): Promise<MediaStats> {
    const all = await Promise.all(this.workers.map((w) => w.stats(++this.nextRequest)));
    return all.reduce(addMediaStats, emptyMediaStats());
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
