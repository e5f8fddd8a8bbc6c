// One media worker thread as the main thread sees it: starts it (ready once its TURN ports are bound),
// posts messages to it, routes its replies to the sessions it hosts and to stats and quality requests
// (a worker that is gone or slow answers empty), stops it, and reports an unexpected exit. Which rooms live on it, and what a death means for them, is the plane's.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../log/logger.js';
import type { TurnPorts } from '../../turn/turn-server.js';
import { emptyQualitySnapshot, type QualityLimits, type QualitySnapshot } from '../sfu/media-quality.js';
import { emptyPlaneStats, type PlaneStats } from './media-plane.js';
import type { RemoteMediaSession } from './remote-media-session.js';
import type { FromWorker, MediaWorkerData, ToWorker, WorkerReply, WorkerRequest } from './worker-protocol.js';

/** How long stats() and quality() wait for a worker's answer, and stop() for a worker to finish. */
const REQUEST_TIMEOUT_MS = 1000;
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
  private readonly waiters = new Map<number, (reply: WorkerReply | undefined) => void>();
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
        for (const answer of this.waiters.values()) answer(undefined);
        this.waiters.clear();
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

  stats(request: number): Promise<PlaneStats> {
    return this.request({ type: 'stats', request }).then((r) => (r?.type === 'stats' ? r.stats : emptyPlaneStats()));
  }

  quality(request: number, limits: QualityLimits): Promise<QualitySnapshot> {
    return this.request({ type: 'quality', request, limits }).then((r) => (r?.type === 'quality' ? r.quality : emptyQualitySnapshot()));
  }

  /** The worker's reply to `msg`, or undefined if it has no thread, exits or takes longer than REQUEST_TIMEOUT_MS. */
  private request(msg: WorkerRequest): Promise<WorkerReply | undefined> {
    if (!this.worker) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(msg.request);
        resolve(undefined);
      }, REQUEST_TIMEOUT_MS);
      this.waiters.set(msg.request, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.post(msg);
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
      case 'stats':
      case 'quality': {
        const waiter = this.waiters.get(msg.request);
        this.waiters.delete(msg.request);
        waiter?.(msg);
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
