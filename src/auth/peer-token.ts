// Mints and verifies the tokens Shoal hands to clients (peer, agent, livestream viewer/streamer).
// A token is a JWT signed with HS256 under a key derived from FJ_SECRET_KEY_BASE; it names its room,
// its subject (peer) and the instance that minted it, and carries permissions and an expiry.
// This module knows nothing about rooms: whether the room and peer still exist is the caller's check.
import { hkdfSync, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';

export type TokenKind = 'peer' | 'agent' | 'viewer' | 'streamer';

export interface PeerPermissions {
  canPublish: boolean;
  canSubscribe: boolean;
  canPublishData: boolean;
}

export const DEFAULT_PERMISSIONS: PeerPermissions = { canPublish: true, canSubscribe: true, canPublishData: true };

export interface TokenClaims {
  kind: TokenKind;
  roomId: string;
  /** Peer id for peer/agent tokens; absent for livestream tokens. */
  peerId?: string;
  /** The instance that minted the token (FJ_NODE_ID). */
  nodeId: string;
  /** Unique id; a peer accepts only the id of its latest token (refresh revokes older ones). */
  tokenId: string;
  permissions: PeerPermissions;
  issuedAt: number;
  expiresAt: number;
}

/** Close reasons the clients match literally (see peer-protocol §1.6). */
export type TokenRefusal = 'missing token' | 'invalid token' | 'expired token';

export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: TokenRefusal };

export interface MintRequest {
  kind: TokenKind;
  roomId: string;
  peerId?: string;
  permissions?: PeerPermissions;
}

const KEY_INFO = 'shoal peer token v1';

function deriveKey(secret: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), KEY_INFO, 32));
}

export class PeerTokenService {
  private readonly keys: Uint8Array[];

  constructor(
    secrets: string[],
    private readonly nodeId: string,
    private readonly ttlSeconds: number,
  ) {
    if (secrets.length === 0) throw new Error('at least one secret is required');
    this.keys = secrets.map(deriveKey);
  }

  async mint(req: MintRequest): Promise<{ token: string; claims: TokenClaims }> {
    const issuedAt = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = {
      kind: req.kind,
      roomId: req.roomId,
      peerId: req.peerId,
      nodeId: this.nodeId,
      tokenId: randomUUID(),
      permissions: req.permissions ?? DEFAULT_PERMISSIONS,
      issuedAt,
      expiresAt: issuedAt + this.ttlSeconds,
    };
    const payload: Record<string, unknown> = {
      knd: claims.kind,
      room: claims.roomId,
      node: claims.nodeId,
      perm: claims.permissions,
    };
    if (claims.peerId !== undefined) payload.peer = claims.peerId;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setJti(claims.tokenId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(claims.expiresAt)
      .sign(this.keys[0]);
    return { token, claims };
  }

  async verify(token: string | undefined): Promise<VerifyResult> {
    if (token === undefined || token === '') return { ok: false, reason: 'missing token' };
    for (const key of this.keys) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'] });
        const claims = parseClaims(payload);
        if (claims === undefined || claims.nodeId !== this.nodeId) return { ok: false, reason: 'invalid token' };
        return { ok: true, claims };
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'expired token' };
        // wrong key, bad alg, malformed: try the next key, then refuse
      }
    }
    return { ok: false, reason: 'invalid token' };
  }
}

const KINDS: ReadonlySet<string> = new Set(['peer', 'agent', 'viewer', 'streamer']);

function parseClaims(p: Record<string, unknown>): TokenClaims | undefined {
  const perm = p.perm as Record<string, unknown> | undefined;
  if (
    typeof p.knd !== 'string' ||
    !KINDS.has(p.knd) ||
    typeof p.room !== 'string' ||
    typeof p.node !== 'string' ||
    typeof p.jti !== 'string' ||
    typeof p.iat !== 'number' ||
    typeof p.exp !== 'number' ||
    (p.peer !== undefined && typeof p.peer !== 'string') ||
    typeof perm !== 'object' ||
    perm === null ||
    typeof perm.canPublish !== 'boolean' ||
    typeof perm.canSubscribe !== 'boolean' ||
    typeof perm.canPublishData !== 'boolean'
  ) {
    return undefined;
  }
  return {
    kind: p.knd as TokenKind,
    roomId: p.room,
    peerId: p.peer as string | undefined,
    nodeId: p.node,
    tokenId: p.jti,
    permissions: { canPublish: perm.canPublish, canSubscribe: perm.canSubscribe, canPublishData: perm.canPublishData },
    issuedAt: p.iat,
    expiresAt: p.exp,
  };
}
