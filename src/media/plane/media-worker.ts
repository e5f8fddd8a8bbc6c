// A media worker thread: runs a LocalMediaPlane (its own TURN ports, its rooms' producers and sessions)
// and carries out what the main thread's WorkerMediaPlane asks, reporting each session's host callbacks
// back. It holds no room state; a session exists here from `open` until `close`.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { createLogger } from '../../log/logger.js';
import { LocalMediaPlane } from './local-media-plane.js';
import type { MediaSession, MediaSessionHost } from './media-plane.js';
import type { FromWorker, MediaWorkerData, ToWorker } from './worker-protocol.js';

if (!parentPort) throw new Error('media-worker.ts must run in a worker thread');
const port: MessagePort = parentPort;
const data = workerData as MediaWorkerData;
const log = createLogger(data.logLevel, data.structuredLogging).child({ mediaWorker: data.index });
const plane = new LocalMediaPlane({ turn: data.turn, certificate: data.certificate, credentialTtlSeconds: data.credentialTtlSeconds, log });
const sessions = new Map<number, MediaSession>();
const post = (msg: FromWorker) => port.postMessage(msg);

function hostFor(session: number): MediaSessionHost {
  return {
    send: (...args) => post({ type: 'host', session, method: 'send', args }),
    published: (...args) => post({ type: 'host', session, method: 'published', args }),
    unpublished: (...args) => post({ type: 'host', session, method: 'unpublished', args }),
    trackMetadataChanged: (...args) => post({ type: 'host', session, method: 'trackMetadataChanged', args }),
    voiceActivity: (...args) => post({ type: 'host', session, method: 'voiceActivity', args }),
    failed: () => {},
  };
}

function handle(msg: ToWorker): void {
  switch (msg.type) {
    case 'open':
      sessions.set(msg.session, plane.open(msg.options, hostFor(msg.session)));
      return;
    case 'call': {
      const s = sessions.get(msg.session);
      if (!s) return;
      // Each case narrows the arguments to the method's own.
      switch (msg.method) {
        case 'subscribe':
          return s.subscribe(...msg.args);
        case 'unsubscribe':
          return s.unsubscribe(...msg.args);
        case 'setTargetLayer':
          return s.setTargetLayer(...msg.args);
        case 'requestNegotiation':
          return s.requestNegotiation(...msg.args);
        case 'handleOffer':
          return s.handleOffer(...msg.args);
      }
      return;
    }
    case 'close':
      sessions.get(msg.session)?.close();
      sessions.delete(msg.session);
      return;
    case 'stats':
      void plane.stats().then((stats) => post({ type: 'stats', request: msg.request, stats }));
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
    const ports = plane.boundPorts!;
    post({ type: 'ready', udpPort: ports.udpPort, tcpPort: ports.tcpPort });
  },
  (err: NodeJS.ErrnoException) => post({ type: 'startFailed', message: err.message, code: err.code }),
);
