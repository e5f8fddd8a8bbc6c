// Accepts WebSocket upgrades on the HTTP server and hands each socket to its handler by path
// (peer, server, agent). Paths are normalised like REST paths (`//socket/...` works, as the cloud SDK
// sends it); the Origin check follows FJ_CHECK_ORIGIN (a refused Origin is logged at info, an unknown
// path at debug; never the query string). Oversized frames are refused by `ws` (1009).
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CheckOrigin } from '../config/config.js';
import type { Logger } from '../log/logger.js';

export type SocketHandler = (ws: WebSocket, req: IncomingMessage) => void;

export interface SocketRouterOptions {
  maxFrameBytes: number;
  checkOrigin: CheckOrigin;
  routes: Record<string, SocketHandler>;
  /** Where refused upgrades are logged. */
  log?: Logger;
}

/** `//socket//peer/websocket/?x=1` → `/socket/peer/websocket`. */
export function normalizePath(url: string): string {
  const path = url.split('?')[0].replace(/\/{2,}/g, '/');
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

export function originAllowed(check: CheckOrigin, req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (check.kind === 'off' || origin === undefined) return true;
  if (check.kind === 'list') return check.origins.includes(origin);
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

export class SocketRouter {
  private readonly wss: WebSocketServer;

  constructor(private readonly opts: SocketRouterOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxFrameBytes, perMessageDeflate: false });
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const path = normalizePath(req.url ?? '/');
    const handler = this.opts.routes[path];
    if (!handler) {
      this.opts.log?.debug({ path: path.slice(0, 200), status: 404 }, 'socket upgrade refused: unknown path');
      return reject(socket, 404, 'Not Found');
    }
    if (!originAllowed(this.opts.checkOrigin, req)) {
      this.opts.log?.info({ path, status: 403, origin: req.headers.origin, ip: req.socket.remoteAddress }, 'socket upgrade refused: origin not allowed');
      return reject(socket, 403, 'Forbidden');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => handler(ws, req));
  }

  /** Closes every open socket (server shutdown). */
  closeAll(code = 1001, reason = 'Server shutting down'): void {
    for (const ws of this.wss.clients) ws.close(code, reason);
    this.wss.close();
  }
}

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
