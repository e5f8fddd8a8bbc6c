// One media worker thread as the main thread sees it: starts it (ready once its TURN ports are bound),
// posts messages to it, routes its replies to the sessions it hosts and to stats requests, stops it, and
// reports an unexpected exit. Which rooms live on it, and what a death means for them, is the plane's.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../log/logger.js';
import type { TurnPorts } from '../../turn/turn-server.js';
import { emptyMediaStats, type MediaStats } from '../sfu/media-stats.js';
import type { RemoteMediaSession } from './remote-media-session.js';
import type { FromWorker, MediaWorkerData, ToWorker } from './worker-protocol.js';

/** How long stats() waits for a worker's counters, and stop() for a worker to finish. */
const STATS_TIMEOUT_MS = 1000;
const STOP_TIMEOUT_MS = 3000;

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const BOOT = new URL('./media-worker-boot.mjs', import.meta.url);
/** The worker thread's module (media-worker.ts, or .js when built). */
export const MEDIA_WORKER_ENTRY = new URL(`./media-worker${EXT}`, import.meta.url).href;

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
export class MediaWorker {
  worker: Worker | undefined;
  ports: TurnPorts | undefined;
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
          this.ports = msg.ports;
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
