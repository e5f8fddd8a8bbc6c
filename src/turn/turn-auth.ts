// Long-term-credential authentication of TURN requests (RFC 5389 §10.2.2, checked in its order): no
// MESSAGE-INTEGRITY → 401 with REALM and NONCE; missing USERNAME/REALM/NONCE → 400; a nonce this server
// did not issue to this 5-tuple → 438 with a fresh one; unknown or expired REST-API username, or a wrong
// MESSAGE-INTEGRITY → 401. Credentials expiry gates new allocations only: requests from the owner of a
// live allocation are checked with the allocation's key.
// What it must not do: log passwords, keys or the secret, keep per-nonce state, or act on the request.
import type { Logger } from '../log/logger.js';
import type { AllocationTable } from './allocation-table.js';
import { NonceIssuer } from './nonce.js';
import { getAttr, verifyIntegrity, type DecodedStun } from './stun-message.js';
import { Attr, StunMethod } from './stun-protocol.js';
import { isTurnUsernameValid, longTermKey, parseTurnUsername, turnPassword } from './turn-credentials.js';
import type { StunResponder } from './turn-responses.js';
import type { ClientConn } from './turn-sockets.js';
import type { TurnStats } from './turn-stats.js';

/** An authenticated request's user and the long-term key its response must be signed with. */
export interface Authenticated {
  username: string;
  key: Buffer;
}

export interface LongTermAuthOptions {
  realm: string;
  secret: string;
  allocations: AllocationTable;
  respond: StunResponder;
  stats: TurnStats;
  log: Logger;
}

export class LongTermAuth {
  private readonly nonces = new NonceIssuer();
  private readonly realm: string;
  private readonly secret: string;
  private readonly allocations: AllocationTable;
  private readonly respond: StunResponder;
  private readonly stats: TurnStats;
  private readonly log: Logger;

  constructor(opts: LongTermAuthOptions) {
    this.realm = opts.realm;
    this.secret = opts.secret;
    this.allocations = opts.allocations;
    this.respond = opts.respond;
    this.stats = opts.stats;
    this.log = opts.log;
  }

  /** The request's credentials, or undefined after sending the error response it gets. */
  authenticate(conn: ClientConn, msg: DecodedStun): Authenticated | undefined {
    const now = Date.now();
    const challenge = (code: number, reason: string) =>
      this.respond.error(conn, msg, code, reason, undefined, [
        { type: Attr.Realm, value: Buffer.from(this.realm, 'utf8') },
        { type: Attr.Nonce, value: Buffer.from(this.nonces.issue(conn.key, now), 'utf8') },
      ]);
    if (msg.integrityOffset < 0) {
      challenge(401, 'Unauthorized');
      return undefined;
    }
    const user = getAttr(msg, Attr.Username);
    const realm = getAttr(msg, Attr.Realm);
    const nonce = getAttr(msg, Attr.Nonce);
    if (!user || !realm || !nonce) {
      this.stats.malformed++;
      this.respond.error(conn, msg, 400, 'Bad Request: missing USERNAME, REALM or NONCE');
      return undefined;
    }
    if (!this.nonces.check(nonce.toString('utf8'), conn.key, now)) {
      challenge(438, 'Stale Nonce');
      return undefined;
    }
    const username = user.toString('utf8');
    // Expiry gates new allocations only: an allocation keeps working (Refresh, permissions, channels)
    // for as long as its owner keeps it alive, since the client only ever gets one set of credentials.
    const existing = this.allocations.onClient(conn.key);
    const owner = msg.method !== StunMethod.Allocate && existing?.alloc.username === username ? existing : undefined;
    if (!parseTurnUsername(username) || (!owner && !isTurnUsernameValid(username, now))) {
      this.log.debug({ client: conn.key, username }, 'TURN username unknown or expired');
      challenge(401, 'Unauthorized');
      return undefined;
    }
    const key = owner ? owner.alloc.key : longTermKey(username, this.realm, turnPassword(this.secret, username));
    if (!verifyIntegrity(msg, key)) {
      this.log.debug({ client: conn.key, username }, 'TURN MESSAGE-INTEGRITY mismatch');
      challenge(401, 'Unauthorized');
      return undefined;
    }
    return { username, key };
  }
}
