// Fans each notification out to every subscribed server socket, encoding it once; in a cluster also the
// other nodes' notifications, already encoded (deliver). Knows nothing about sockets beyond a
// `send(bytes)` callback; a failing subscriber never affects the others.
import type { Logger } from '../log/logger.js';
import type { NotificationBus } from '../room/notifications.js';
import { encodeNotification } from './server-message.js';

export type NotificationSink = (bytes: Uint8Array) => void;

export class NotificationHub {
  private readonly sinks = new Set<NotificationSink>();
  private readonly unsubscribe: () => void;
  private localOpen: () => boolean = () => true;

  constructor(bus: NotificationBus, private readonly log: Logger) {
    this.unsubscribe = bus.subscribe((n) => {
      if (this.sinks.size === 0 || !this.localOpen()) return;
      this.deliver(encodeNotification(n));
    });
  }

  /** While `open` is false this node's own notifications are not sent (a cluster node giving its rooms up). */
  setLocalGate(open: () => boolean): void {
    this.localOpen = open;
  }

  /** Sends encoded ServerMessage bytes (this node's, or another node's in a cluster) to every subscriber. */
  deliver(bytes: Uint8Array): void {
    for (const sink of this.sinks) {
      try {
        sink(bytes);
      } catch (err) {
        this.log.warn({ err }, 'server socket send failed');
      }
    }
  }

  add(sink: NotificationSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  get size(): number {
    return this.sinks.size;
  }

  close(): void {
    this.unsubscribe();
    this.sinks.clear();
  }
}
