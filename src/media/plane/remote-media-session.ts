// The main thread's stand-in for a MediaSession that lives in a media worker: forwards the room's calls
// as messages and replays the worker's host callbacks to the room. It mirrors which remote tracks the
// client has been told about (from the tracksAdded/tracksRemoved events passing through), so
// knowsTrack() answers at once, as the in-thread session does. It never touches media.
import type { MediaSession, MediaSessionHost } from './media-plane.js';
import type { HostCall, SessionCall, ToWorker } from './worker-protocol.js';

export class RemoteMediaSession implements MediaSession {
  private closed = false;
  private readonly announced = new Set<string>();

  constructor(
    readonly id: number,
    private readonly post: (msg: ToWorker) => void,
    private readonly host: MediaSessionHost,
    /** Called once when the session ends (closed by the room or failed). */
    private readonly onEnd: () => void,
  ) {}

  subscribe(...args: Parameters<MediaSession['subscribe']>): void {
    this.call({ method: 'subscribe', args });
  }

  unsubscribe(...args: Parameters<MediaSession['unsubscribe']>): void {
    this.call({ method: 'unsubscribe', args });
  }

  knowsTrack(trackId: string): boolean {
    return this.announced.has(trackId);
  }

  setTargetLayer(...args: Parameters<MediaSession['setTargetLayer']>): void {
    this.call({ method: 'setTargetLayer', args });
  }

  requestNegotiation(): void {
    this.call({ method: 'requestNegotiation', args: [] });
  }

  handleOffer(...args: Parameters<MediaSession['handleOffer']>): void {
    this.call({ method: 'handleOffer', args });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.post({ type: 'close', session: this.id });
    this.onEnd();
  }

  /** A host callback the worker reported; dropped once the session is closed. */
  deliver(call: HostCall): void {
    if (this.closed) return;
    switch (call.method) {
      case 'send': {
        const [event] = call.args;
        if (event.type === 'tracksAdded') for (const t of event.tracks) this.announced.add(t.id);
        if (event.type === 'tracksRemoved') for (const id of event.trackIds) this.announced.delete(id);
        return this.host.send(event);
      }
      case 'published':
        return this.host.published(...call.args);
      case 'unpublished':
        return this.host.unpublished(...call.args);
      case 'trackMetadataChanged':
        return this.host.trackMetadataChanged(...call.args);
      case 'voiceActivity':
        return this.host.voiceActivity(...call.args);
    }
  }

  /** The worker is gone: the session ends and the room hears why. */
  fail(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.onEnd();
    this.host.failed(reason);
  }

  private call(call: SessionCall): void {
    if (this.closed) return;
    this.post({ type: 'call', session: this.id, ...call });
  }
}
