// State of one TURN allocation (RFC 5766 §5), keyed by the client's 5-tuple: who owns it (username and
// long-term key), its fake relayed address, its lifetime, its permissions (per peer IP, 300 s) and its
// channel bindings (channel <-> peer transport address, 600 s; an expired binding keeps its channel and
// peer reserved for another 300 s as RFC 5766 §11 requires).
// What it must not do: do I/O, run timers (callers pass `now` and call sweep()), or check credentials.
import type { TransportAddress } from './stun-protocol.js';

export const DEFAULT_LIFETIME_S = 600;
export const MAX_LIFETIME_S = 3600;
export const PERMISSION_LIFETIME_S = 300;
export const CHANNEL_LIFETIME_S = 600;
/** After a binding expires, neither its number nor its peer may be rebound differently for this long. */
export const CHANNEL_REUSE_GUARD_S = 300;
export const MIN_CHANNEL = 0x4000;
export const MAX_CHANNEL = 0x7fff;

/** Lifetime granted for an Allocate: the default when absent or smaller, capped at the maximum. */
export function allocateLifetime(requested: number | undefined): number {
  if (requested === undefined || requested < DEFAULT_LIFETIME_S) return DEFAULT_LIFETIME_S;
  return Math.min(requested, MAX_LIFETIME_S);
}

/** Lifetime granted for a Refresh: 0 deletes; absent means the default; capped at the maximum. */
export function refreshLifetime(requested: number | undefined): number {
  if (requested === undefined) return DEFAULT_LIFETIME_S;
  return Math.min(requested, MAX_LIFETIME_S);
}

export function isValidChannelNumber(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CHANNEL && n <= MAX_CHANNEL;
}

function peerKey(peer: TransportAddress): string {
  return `${peer.address}|${peer.port}`;
}

interface ChannelBinding {
  channel: number;
  peer: TransportAddress;
  expiresAt: number;
}

export type BindResult = 'ok' | 'channel-bound-to-other-peer' | 'peer-bound-to-other-channel';

export interface AllocationInit {
  id: string;
  transport: 'udp' | 'tcp';
  /** The client's address as seen by the server (reported as XOR-MAPPED-ADDRESS). */
  client: TransportAddress;
  username: string;
  /** Long-term credential key; responses on this allocation are signed with it. */
  key: Buffer;
  relayed: TransportAddress;
  /** Transaction id of the Allocate that created it (to answer retransmissions). */
  createTransactionId: Buffer;
  lifetimeSeconds: number;
  now: number;
}

export class Allocation {
  readonly id: string;
  readonly transport: 'udp' | 'tcp';
  readonly client: TransportAddress;
  readonly username: string;
  readonly key: Buffer;
  readonly relayed: TransportAddress;
  readonly createTransactionId: Buffer;
  /** ms since epoch. */
  expiresAt: number;
  private readonly permissions = new Map<string, number>();
  private readonly byChannel = new Map<number, ChannelBinding>();
  private readonly byPeer = new Map<string, ChannelBinding>();

  constructor(init: AllocationInit) {
    this.id = init.id;
    this.transport = init.transport;
    this.client = init.client;
    this.username = init.username;
    this.key = init.key;
    this.relayed = init.relayed;
    this.createTransactionId = Buffer.from(init.createTransactionId);
    this.expiresAt = init.now + init.lifetimeSeconds * 1000;
  }

  refresh(lifetimeSeconds: number, now: number): void {
    this.expiresAt = now + lifetimeSeconds * 1000;
  }

  isExpired(now: number): boolean {
    return now >= this.expiresAt;
  }

  /** Whole seconds left (for LIFETIME in a retransmitted Allocate response). */
  remainingSeconds(now: number): number {
    return Math.max(0, Math.ceil((this.expiresAt - now) / 1000));
  }

  installPermission(ip: string, now: number): void {
    this.permissions.set(ip, now + PERMISSION_LIFETIME_S * 1000);
  }

  hasPermission(ip: string, now: number): boolean {
    const exp = this.permissions.get(ip);
    return exp !== undefined && now < exp;
  }

  /** Binds (or refreshes) `channel` <-> `peer`, and installs/refreshes the permission for the peer IP. */
  bindChannel(channel: number, peer: TransportAddress, now: number): BindResult {
    const guardMs = CHANNEL_REUSE_GUARD_S * 1000;
    const existing = this.byChannel.get(channel);
    if (existing && existing.expiresAt + guardMs > now && peerKey(existing.peer) !== peerKey(peer)) {
      return 'channel-bound-to-other-peer';
    }
    const other = this.byPeer.get(peerKey(peer));
    if (other && other.expiresAt + guardMs > now && other.channel !== channel) return 'peer-bound-to-other-channel';
    if (existing) this.byPeer.delete(peerKey(existing.peer));
    if (other) this.byChannel.delete(other.channel);
    const binding: ChannelBinding = { channel, peer: { address: peer.address, port: peer.port }, expiresAt: now + CHANNEL_LIFETIME_S * 1000 };
    this.byChannel.set(channel, binding);
    this.byPeer.set(peerKey(peer), binding);
    this.installPermission(peer.address, now);
    return 'ok';
  }

  /** The peer `channel` is bound to, if the binding is live. */
  peerOfChannel(channel: number, now: number): TransportAddress | undefined {
    const b = this.byChannel.get(channel);
    return b && now < b.expiresAt ? b.peer : undefined;
  }

  /** The live binding of `peer` (its channel and when it expires), if any. */
  bindingOfPeer(peer: TransportAddress, now: number): { channel: number; expiresAt: number } | undefined {
    const b = this.byPeer.get(peerKey(peer));
    return b && now < b.expiresAt ? b : undefined;
  }

  /** The channel bound to `peer`, if the binding is live. */
  channelOfPeer(peer: TransportAddress, now: number): number | undefined {
    const b = this.byPeer.get(peerKey(peer));
    return b && now < b.expiresAt ? b.channel : undefined;
  }

  /** Forgets expired permissions and bindings whose reuse guard has passed. */
  sweep(now: number): void {
    for (const [ip, exp] of this.permissions) if (now >= exp) this.permissions.delete(ip);
    const guardMs = CHANNEL_REUSE_GUARD_S * 1000;
    for (const [ch, b] of this.byChannel) {
      if (now >= b.expiresAt + guardMs) {
        this.byChannel.delete(ch);
        if (this.byPeer.get(peerKey(b.peer)) === b) this.byPeer.delete(peerKey(b.peer));
      }
    }
  }

  /** Counts for logs/tests. */
  get sizes(): { permissions: number; channels: number } {
    return { permissions: this.permissions.size, channels: this.byChannel.size };
  }
}
