// A media worker thread: runs a LocalMediaPlane (its own TURN ports, its rooms' producers and sessions)
// and carries out what the main thread's WorkerMediaPlane asks, reporting each session's host callbacks
// back. It holds no room state; a session exists here from `open` until `close`.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createLogger } from '../../log/logger.js';
import { LocalMediaPlane } from './local-media-plane.js';
import type { MediaSession, MediaSessionHost } from '../../room/media-port.js';
import { HOST_METHODS, SESSION_METHODS, invoke, type FromWorker, type MediaWorkerData, type ToWorker } from './worker-protocol.js';

if (!parentPort) throw new Error('media-worker.ts must run in a worker thread');
const port: MessagePort = parentPort;
const data = workerData as MediaWorkerData;
const log = createLogger(data.logLevel, data.structuredLogging).child({ mediaWorker: data.index });
const plane = new LocalMediaPlane({ turn: data.turn, certificate: data.certificate, credentialTtlSeconds: data.credentialTtlSeconds, log, dataPlane: data.dataPlane });
const sessions = new Map<number, MediaSession>();
const post = (msg: FromWorker) => port.postMessage(msg);

function hostFor(session: number): MediaSessionHost {
  const host: Partial<MediaSessionHost> = {};
  for (const method of HOST_METHODS) {
    host[method] = (...args: unknown[]) => post({ type: 'host', session, method, args } as FromWorker);
  }
  return host as MediaSessionHost;
}

function handle(msg: ToWorker): void {
  switch (msg.type) {
    case 'open':
      sessions.set(msg.session, plane.open(msg.options, hostFor(msg.session)));
      return;
    case 'call': {
      const s = sessions.get(msg.session);
      if (s) invoke(s, SESSION_METHODS, msg);
      return;
    }
    case 'close':
      sessions.get(msg.session)?.close();
      sessions.delete(msg.session);
      return;
    case 'stats':
      void plane.stats().then((stats) => post({ type: 'stats', request: msg.request, stats }));
      return;
    case 'quality':
      void plane.quality(msg.limits).then((quality) => post({ type: 'quality', request: msg.request, quality }));
      return;
    case 'stop':
      for (const s of sessions.values()) s.close();
      sessions.clear();
      void plane.stop().finally(() => {
        post({ type: 'stopped' });
        port.close();
      });
      return;
  }
}

port.on('message', (msg: ToWorker) => {
  try {
    handle(msg);
  } catch (err) {
    // One session's failure must not take the worker's other rooms down.
    log.error({ err, message: msg.type }, 'media worker failed to handle a message');
  }
});

plane.start().then(
  () => {
    post({ type: 'ready', ports: plane.boundPorts! });
  },
  (err: NodeJS.ErrnoException) => post({ type: 'startFailed', message: err.message, code: err.code }),
);
