// A browserless peer for tests: speaks the peer socket protocol (JSON media events, as ts-client 0.5.0)
// over a raw `ws` socket, and records what it receives. Also a collector for bus notifications.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { WebSocket } from 'ws';
import { PeerMessageSchema, type PeerMessage } from '../../src/gen/fishjam/peer_notifications_pb.js';
import type { Notification, NotificationBus } from '../../src/room/notifications.js';

export interface Closed {
  code: number;
  reason: string;
}

/** Resolves when `predicate` holds for an item of a growing list; rejects after `timeoutMs`. */
export function waitFor<T>(items: T[], predicate: (t: T) => boolean, timeoutMs: number, what: string, onChange: (cb: () => void) => () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const hit = items.find(predicate);
      if (hit !== undefined) {
        off();
        clearTimeout(timer);
        resolve(hit);
      }
    };
    const off = onChange(check);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    check();
  });
}

export class RawPeer {
  readonly ws: WebSocket;
  readonly messages: PeerMessage[] = [];
  readonly events: { type: string; data: any }[] = [];
  closed: Closed | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(wsUrl: string) {
    this.ws = new WebSocket(`${wsUrl}/socket/peer/websocket`);
    this.ws.on('message', (data: Buffer) => {
      const msg = fromBinary(PeerMessageSchema, new Uint8Array(data));
      this.messages.push(msg);
      if (msg.content.case === 'mediaEvent') this.events.push(JSON.parse(msg.content.value.data));
      this.notify();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
    this.ws.on('error', () => {});
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  private onChange = (cb: () => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };

  opened(timeoutMs = 5000): Promise<void> {
    return socketOpened(this.ws, timeoutMs);
  }

  send(msg: Parameters<typeof create<typeof PeerMessageSchema>>[1]): void {
    this.ws.send(toBinary(PeerMessageSchema, create(PeerMessageSchema, msg)));
  }

  sendEvent(type: string, data?: unknown): void {
    this.send({ content: { case: 'mediaEvent', value: { data: JSON.stringify(data === undefined ? { type } : { type, data }) } } });
  }

  /** Opens, authenticates and waits for `authenticated`. */
  async auth(token: string, timeoutMs = 5000): Promise<void> {
    await this.opened(timeoutMs);
    this.send({ content: { case: 'authRequest', value: { token } } });
    await waitFor(this.messages, (m) => m.content.case === 'authenticated', timeoutMs, 'authenticated', this.onChange);
  }

  /** auth + connect; resolves with the `connected` event data. */
  async join(token: string, metadata: unknown = null, timeoutMs = 5000): Promise<any> {
    await this.auth(token, timeoutMs);
    this.sendEvent('connect', { metadata });
    return (await this.nextEvent('connected', timeoutMs)).data;
  }

  nextEvent(type: string, timeoutMs = 5000, predicate: (data: any) => boolean = () => true): Promise<{ type: string; data: any }> {
    return waitFor(this.events, (e) => e.type === type && predicate(e.data), timeoutMs, `media event ${type}`, this.onChange);
  }

  waitClosed(timeoutMs = 5000): Promise<Closed> {
    return waitFor([0], () => this.closed !== undefined, timeoutMs, 'socket close', this.onChange).then(() => this.closed!);
  }

  close(): void {
    this.ws.close();
  }
}

/** Collects every notification published on a bus. */
export class NotificationLog {
  readonly items: Notification[] = [];
  private readonly listeners = new Set<() => void>();
  readonly stop: () => void;

  constructor(bus: NotificationBus) {
    this.stop = bus.subscribe((n) => {
      this.items.push(n);
      for (const l of this.listeners) l();
    });
  }

  waitFor(predicate: (n: Notification) => boolean, timeoutMs = 5000, what = 'notification'): Promise<Notification> {
    return waitFor(this.items, predicate, timeoutMs, what, (cb) => {
      this.listeners.add(cb);
      return () => this.listeners.delete(cb);
    });
  }

  types(roomId?: string): string[] {
    return this.items.filter((n) => roomId === undefined || n.roomId === roomId).map((n) => n.type);
  }
}

/** Resolves once `ws` is open (at once if it is); rejects on its error or after `timeoutMs` ("<label> did not open"). */
export function socketOpened(ws: WebSocket, timeoutMs: number, label = 'socket'): Promise<void> {
  if (ws.readyState === WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not open`)), timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
