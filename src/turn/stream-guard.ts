// The TURN server's rules for its TCP and TLS connections, which cost a socket each and can be opened by
// anyone: at most `maxPerIp` at a time from one client IP; a connection that has no allocation (an
// authenticated Allocate) within `authTimeoutMs` of opening is closed, and so is one that has sent
// nothing for `idleTimeoutMs`. Keeps the per-IP counts and the TurnStats connection counters.
// What it must not do: touch sockets (it calls the close function it was given), run timers (the owner
// calls sweep()), or cost more than a flag write per received chunk (`active`).
import type { TurnStats } from './turn-stats.js';

export interface StreamLimits {
  /** A connection must have an allocation this long after it opened (ms). */
  authTimeoutMs: number;
  /** A connection that sends nothing for this long is closed (ms). */
  idleTimeoutMs: number;
  /** Connections open at once from one client IP (TCP and TLS together). */
  maxPerIp: number;
}

/**
 * Chromium refreshes its TURN allocations, permissions and channels within minutes, and sends ICE checks
 * on a TURN connection every 2.5 s while it is in use and every 25 s as a backup; it completes Allocate
 * (two round trips) within a second of connecting. So 10 s to authenticate and 60 s of silence are
 * generous, and 64 connections per IP leave room for many peers behind one NAT.
 */
export const DEFAULT_STREAM_LIMITS: StreamLimits = { authTimeoutMs: 10_000, idleTimeoutMs: 60_000, maxPerIp: 64 };

export type StreamCloseReason = 'unauthenticated' | 'idle';

/** One admitted connection. */
export interface GuardedStream {
  readonly ip: string;
  readonly openedAt: number;
  /** When data was last seen (updated by sweep() from `active`). */
  lastRx: number;
  /** Set by the connection on every received chunk; sweep() turns it into lastRx. */
  active: boolean;
  /** The connection has (had) an allocation: the authentication deadline no longer applies. */
  allocated: boolean;
  readonly close: (reason: StreamCloseReason) => void;
}

export class StreamGuard {
  private readonly perIp = new Map<string, number>();
  private readonly open = new Set<GuardedStream>();

  constructor(
    private readonly limits: StreamLimits,
    private readonly stats: TurnStats,
  ) {
    for (const [name, value] of Object.entries(limits)) {
      if (!(Number.isInteger(value) && value > 0)) throw new RangeError(`TURN ${name} must be a positive integer, got ${value}`);
    }
  }

  /** How often sweep() should run: a tenth of the shorter timeout, between 50 ms and 1 s. */
  get sweepIntervalMs(): number {
    return Math.min(1000, Math.max(50, Math.floor(Math.min(this.limits.authTimeoutMs, this.limits.idleTimeoutMs) / 10)));
  }

  /** Open connections. */
  get size(): number {
    return this.open.size;
  }

  /** A new connection from `ip`, or undefined (counted in stats.tcpRefused) when `ip` already has the maximum. */
  admit(ip: string, now: number, close: (reason: StreamCloseReason) => void): GuardedStream | undefined {
    const count = this.perIp.get(ip) ?? 0;
    if (count >= this.limits.maxPerIp) {
      this.stats.tcpRefused++;
      return undefined;
    }
    this.perIp.set(ip, count + 1);
    const stream: GuardedStream = { ip, openedAt: now, lastRx: now, active: false, allocated: false, close };
    this.open.add(stream);
    this.stats.tcpConnections = this.open.size;
    return stream;
  }

  /** The connection has closed (idempotent). */
  release(stream: GuardedStream): void {
    if (!this.open.delete(stream)) return;
    const count = (this.perIp.get(stream.ip) ?? 1) - 1;
    if (count <= 0) this.perIp.delete(stream.ip);
    else this.perIp.set(stream.ip, count);
    this.stats.tcpConnections = this.open.size;
  }

  /** Closes (through their close functions) and releases the connections past a deadline at `now`. */
  sweep(now: number): void {
    for (const s of this.open) {
      if (s.active) {
        s.active = false;
        s.lastRx = now;
      }
      let reason: StreamCloseReason | undefined;
      if (!s.allocated && now - s.openedAt >= this.limits.authTimeoutMs) reason = 'unauthenticated';
      else if (now - s.lastRx >= this.limits.idleTimeoutMs) reason = 'idle';
      if (reason === undefined) continue;
      this.release(s);
      if (reason === 'unauthenticated') this.stats.tcpUnauthenticatedClosed++;
      else this.stats.tcpIdleClosed++;
      s.close(reason);
    }
  }

  /** Forgets every connection (the server has stopped). */
  clear(): void {
    this.open.clear();
    this.perIp.clear();
    this.stats.tcpConnections = 0;
  }
}
