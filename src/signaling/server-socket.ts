// One backend's /socket/server/websocket session: authenticates with the server API token, then
// streams notifications after a subscribe request (Fishjam's state machine and close reasons). Every
// refusal is logged with its close reason, never the token. It owns no room state; it only reads from
// the NotificationHub.
import type { RawData, WebSocket } from 'ws';
import { secretsEqual } from '../auth/secret.js';
import type { Logger } from '../log/logger.js';
import type { NotificationHub } from '../notify/notification-hub.js';
import { decodeServerFrame, encodeServerAuthenticated, encodeSubscribeResponse } from './codec/server-frames.js';
import { startHeartbeat } from './heartbeat.js';

export interface ServerSocketDeps {
  serverApiToken: string;
  hub: NotificationHub;
  log: Logger;
  pingIntervalMs: number;
  authTimeoutMs?: number;
}

export class ServerSocket {
  private authenticated = false;
  private closed = false;
  private removeSink: (() => void) | undefined;
  private stopHeartbeat: () => void = () => {};
  private readonly authTimer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: ServerSocketDeps,
  ) {
    ws.on('message', (data, isBinary) => {
      try {
        this.onFrame(data, isBinary);
      } catch (err) {
        deps.log.error({ err }, 'server socket failed');
        this.close(1011, 'Internal server error');
      }
    });
    ws.on('close', () => this.cleanup());
    ws.on('error', (err) => deps.log.debug({ err: err.message }, 'server socket error'));
    this.authTimer = setTimeout(() => this.refuse(1000, 'invalid auth request', 'no auth request in time'), deps.authTimeoutMs ?? 30_000);
    this.authTimer.unref();
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.refuse(1003, 'operation not allowed', 'text frame');
    const frame = decodeServerFrame(data);
    if (!this.authenticated) {
      if (frame?.type !== 'authRequest') return this.refuse(1000, 'invalid auth request', 'first frame is not an auth request');
      if (!secretsEqual(frame.token, this.deps.serverApiToken)) return this.refuse(1000, 'invalid token', 'not the server API token');
      this.authenticated = true;
      clearTimeout(this.authTimer);
      this.sendBytes(encodeServerAuthenticated());
      this.stopHeartbeat = startHeartbeat(this.ws, this.deps.pingIntervalMs);
      return;
    }
    if (frame?.type !== 'subscribeRequest') return this.refuse(1003, 'operation not allowed', 'not a subscribe request');
    if (frame.subscription === 'notifications') {
      this.removeSink ??= this.deps.hub.add((bytes) => this.sendBytes(bytes));
    } else if (frame.subscription !== 'metrics') {
      return this.refuse(1003, 'operation not allowed', 'unknown event type');
    }
    this.sendBytes(encodeSubscribeResponse(frame.eventType));
  }

  private sendBytes(bytes: Uint8Array): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(bytes);
  }

  /** Closes the socket, logging why: warn for a wrong token, info otherwise. */
  private refuse(code: number, reason: string, cause: string): void {
    if (this.closed) return;
    const level = reason === 'invalid token' ? 'warn' : 'info';
    this.deps.log[level]({ socket: 'server', code, reason, cause, authenticated: this.authenticated }, 'socket refused');
    this.close(code, reason);
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.cleanup();
    this.ws.close(code, reason);
  }

  private cleanup(): void {
    this.closed = true;
    clearTimeout(this.authTimer);
    this.stopHeartbeat();
    this.removeSink?.();
    this.removeSink = undefined;
  }
}

