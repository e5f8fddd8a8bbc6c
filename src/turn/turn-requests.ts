// The TURN server's STUN request handlers: Binding (unauthenticated), and, after long-term-credential
// authentication and the unknown-attribute check (420), Allocate, Refresh (lifetime 0 deletes),
// CreatePermission and ChannelBind with the error responses RFC 5766 gives them (437, 441, 442, 440,
// 443, 508; a malformed attribute value or a bad channel is 400). Responses to authenticated requests
// are signed with the request's key.
// What it must not do: handle indications or ChannelData (turn-relay.ts), support TCP or IPv6 relaying,
// or throw out on bad input: an unsupported method or malformed value is answered 400 and counted.
import type { Logger } from '../log/logger.js';
import { allocateLifetime, isValidChannelNumber, refreshLifetime, type Allocation } from './allocation.js';
import type { AllocationEntry, AllocationTable } from './allocation-table.js';
import { unknownRequiredAttributes } from './known-attributes.js';
import {
  decodeChannelNumber,
  decodeRequestedTransport,
  decodeU32,
  decodeXorAddress,
  encodeU32,
  encodeUnknownAttributes,
  encodeXorAddress,
} from './stun-attributes.js';
import { getAttr, getAttrs, type DecodedStun } from './stun-message.js';
import { Attr, StunDecodeError, StunMethod } from './stun-protocol.js';
import type { Authenticated, LongTermAuth } from './turn-auth.js';
import type { StunResponder } from './turn-responses.js';
import type { ClientConn } from './turn-sockets.js';
import type { TurnStats } from './turn-stats.js';

const PROTOCOL_UDP = 17;

export interface TurnRequestsOptions {
  auth: LongTermAuth;
  allocations: AllocationTable;
  respond: StunResponder;
  stats: TurnStats;
  log: Logger;
}

export class TurnRequests {
  private readonly auth: LongTermAuth;
  private readonly allocations: AllocationTable;
  private readonly respond: StunResponder;
  private readonly stats: TurnStats;
  private readonly log: Logger;

  constructor(opts: TurnRequestsOptions) {
    this.auth = opts.auth;
    this.allocations = opts.allocations;
    this.respond = opts.respond;
    this.stats = opts.stats;
    this.log = opts.log;
  }

  /** Answers one STUN request from `conn`. */
  handle(conn: ClientConn, msg: DecodedStun): void {
    switch (msg.method) {
      case StunMethod.Binding:
        this.onBinding(conn, msg);
        return;
      case StunMethod.Allocate:
      case StunMethod.Refresh:
      case StunMethod.CreatePermission:
      case StunMethod.ChannelBind:
        break;
      default:
        this.stats.malformed++;
        this.respond.error(conn, msg, 400, 'Bad Request: unsupported method');
        return;
    }
    const auth = this.auth.authenticate(conn, msg);
    if (!auth) return;
    const unknown = unknownRequiredAttributes(msg);
    if (unknown.length) {
      this.respond.error(conn, msg, 420, 'Unknown Attribute', auth.key, [
        { type: Attr.UnknownAttributes, value: encodeUnknownAttributes(unknown) },
      ]);
      return;
    }
    try {
      switch (msg.method) {
        case StunMethod.Allocate:
          this.onAllocate(conn, msg, auth);
          break;
        case StunMethod.Refresh:
          this.onRefresh(conn, msg, auth);
          break;
        case StunMethod.CreatePermission:
          this.onCreatePermission(conn, msg, auth);
          break;
        case StunMethod.ChannelBind:
          this.onChannelBind(conn, msg, auth);
          break;
      }
    } catch (err) {
      if (!(err instanceof StunDecodeError)) throw err;
      this.stats.malformed++;
      this.respond.error(conn, msg, 400, `Bad Request: ${err.message}`, auth.key);
    }
  }

  private onBinding(conn: ClientConn, msg: DecodedStun): void {
    const unknown = unknownRequiredAttributes(msg);
    if (unknown.length) {
      this.respond.error(conn, msg, 420, 'Unknown Attribute', undefined, [
        { type: Attr.UnknownAttributes, value: encodeUnknownAttributes(unknown) },
      ]);
      return;
    }
    this.respond.success(conn, msg, [{ type: Attr.XorMappedAddress, value: encodeXorAddress(conn.remote, msg.transactionId) }]);
  }

  private onAllocate(conn: ClientConn, msg: DecodedStun, auth: Authenticated): void {
    const now = Date.now();
    const existing = this.allocations.live(conn.key, now);
    if (existing) {
      if (existing.alloc.createTransactionId.equals(msg.transactionId)) {
        this.sendAllocateSuccess(conn, msg, existing.alloc, existing.alloc.remainingSeconds(now));
      } else {
        this.respond.error(conn, msg, 437, 'Allocation Mismatch', auth.key);
      }
      return;
    }
    const transport = getAttr(msg, Attr.RequestedTransport);
    if (!transport) throw new StunDecodeError('missing REQUESTED-TRANSPORT');
    if (decodeRequestedTransport(transport) !== PROTOCOL_UDP) {
      this.respond.error(conn, msg, 442, 'Unsupported Transport Protocol', auth.key);
      return;
    }
    const family = getAttr(msg, Attr.RequestedAddressFamily);
    if (family) {
      if (family.length !== 4) throw new StunDecodeError('bad REQUESTED-ADDRESS-FAMILY length');
      if (family[0] !== 0x01) {
        this.respond.error(conn, msg, 440, 'Address Family not Supported', auth.key);
        return;
      }
    }
    const lifetimeAttr = getAttr(msg, Attr.Lifetime);
    const lifetime = allocateLifetime(lifetimeAttr ? decodeU32(lifetimeAttr) : undefined);
    const entry = this.allocations.create({
      conn,
      username: auth.username,
      key: auth.key,
      createTransactionId: msg.transactionId,
      lifetimeSeconds: lifetime,
      now,
    });
    if (!entry) {
      this.respond.error(conn, msg, 508, 'Insufficient Capacity', auth.key);
      return;
    }
    this.sendAllocateSuccess(conn, msg, entry.alloc, lifetime);
  }

  private sendAllocateSuccess(conn: ClientConn, msg: DecodedStun, alloc: Allocation, lifetime: number): void {
    this.respond.success(
      conn,
      msg,
      [
        { type: Attr.XorRelayedAddress, value: encodeXorAddress(alloc.relayed, msg.transactionId) },
        { type: Attr.Lifetime, value: encodeU32(lifetime) },
        { type: Attr.XorMappedAddress, value: encodeXorAddress(conn.remote, msg.transactionId) },
      ],
      alloc.key,
    );
  }

  /** The allocation on `conn` owned by `auth`, or sends 437/441 and returns undefined. */
  private ownedEntry(conn: ClientConn, msg: DecodedStun, auth: Authenticated): AllocationEntry | undefined {
    const entry = this.allocations.live(conn.key, Date.now());
    if (!entry) {
      this.respond.error(conn, msg, 437, 'Allocation Mismatch', auth.key);
      return undefined;
    }
    if (entry.alloc.username !== auth.username) {
      this.respond.error(conn, msg, 441, 'Wrong Credentials', auth.key);
      return undefined;
    }
    return entry;
  }

  private onRefresh(conn: ClientConn, msg: DecodedStun, auth: Authenticated): void {
    const entry = this.ownedEntry(conn, msg, auth);
    if (!entry) return;
    const lifetimeAttr = getAttr(msg, Attr.Lifetime);
    const lifetime = refreshLifetime(lifetimeAttr ? decodeU32(lifetimeAttr) : undefined);
    if (lifetime === 0) this.allocations.delete(entry, 'refreshed with lifetime 0');
    else entry.alloc.refresh(lifetime, Date.now());
    this.respond.success(conn, msg, [{ type: Attr.Lifetime, value: encodeU32(lifetime) }], auth.key);
  }

  private onCreatePermission(conn: ClientConn, msg: DecodedStun, auth: Authenticated): void {
    const entry = this.ownedEntry(conn, msg, auth);
    if (!entry) return;
    const peers = getAttrs(msg, Attr.XorPeerAddress).map((v) => decodeXorAddress(v, msg.transactionId));
    if (peers.length === 0) throw new StunDecodeError('missing XOR-PEER-ADDRESS');
    if (peers.some((p) => p.family !== 4)) {
      this.respond.error(conn, msg, 443, 'Peer Address Family Mismatch', auth.key);
      return;
    }
    const now = Date.now();
    for (const p of peers) entry.alloc.installPermission(p.address, now);
    this.respond.success(conn, msg, [], auth.key);
  }

  private onChannelBind(conn: ClientConn, msg: DecodedStun, auth: Authenticated): void {
    const entry = this.ownedEntry(conn, msg, auth);
    if (!entry) return;
    const channelAttr = getAttr(msg, Attr.ChannelNumber);
    const peerAttr = getAttr(msg, Attr.XorPeerAddress);
    if (!channelAttr || !peerAttr) throw new StunDecodeError('missing CHANNEL-NUMBER or XOR-PEER-ADDRESS');
    const channel = decodeChannelNumber(channelAttr);
    if (!isValidChannelNumber(channel)) throw new StunDecodeError('invalid channel number');
    const peer = decodeXorAddress(peerAttr, msg.transactionId);
    if (peer.family !== 4) {
      this.respond.error(conn, msg, 443, 'Peer Address Family Mismatch', auth.key);
      return;
    }
    const result = entry.alloc.bindChannel(channel, peer, Date.now());
    if (result !== 'ok') {
      this.respond.error(conn, msg, 400, `Bad Request: ${result.replace(/-/g, ' ')}`, auth.key);
      return;
    }
    this.log.debug({ allocationId: entry.alloc.id, channel, peer: `${peer.address}:${peer.port}` }, 'TURN channel bound');
    this.respond.success(conn, msg, [], auth.key);
  }
}
