// The main thread's stand-in for a MediaSession that lives in a media worker: forwards the room's calls
// as messages and replays the worker's host callbacks to the room. Its methods are made from the
// protocol's SESSION_METHODS list, so a session method is named in one place. It never touches media
// and keeps no copy of the session's state.
import type { MediaSession, MediaSessionHost } from '../../room/media-port.js';
import { HOST_METHODS, SESSION_METHODS, invoke, type HostCall, type SessionCall, type SessionMethod, type ToWorker } from './worker-protocol.js';

// The forwarded methods are defined on the prototype below, one per SESSION_METHODS entry.
export interface RemoteMediaSession extends Pick<MediaSession, SessionMethod> {}

export class RemoteMediaSession implements MediaSession {
  private closed = false;

  constructor(
    readonly id: number,
    private readonly post: (msg: ToWorker) => void,
    private readonly host: MediaSessionHost,
    /** Called once when the session ends (closed by the room or failed). */
    private readonly onEnd: () => void,
  ) {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.post({ type: 'close', session: this.id });
    this.onEnd();
  }

  /** A host callback the worker reported; dropped once the session is closed. */
  deliver(call: HostCall): void {
    if (!this.closed) invoke(this.host, HOST_METHODS, call);
  }

  /** The worker is gone: the session ends and the room hears why. */
  fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onEnd();
    this.host.failed(reason);
  }

  /** @internal one forwarded call (the prototype's SESSION_METHODS entries call it). */
  forward(call: SessionCall): void {
    if (this.closed) return;
    this.post({ type: 'call', session: this.id, ...call });
  }
}

for (const method of SESSION_METHODS) {
  Object.defineProperty(RemoteMediaSession.prototype, method, {
    value(this: RemoteMediaSession, ...args: unknown[]) {
      this.forward({ method, args } as SessionCall);
    },
  });
}
