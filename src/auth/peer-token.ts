// Mints and verifies the tokens Shoal hands to clients (peer, agent, livestream viewer/streamer).
// A token is a JWT (RFC 7519, JWS compact, HS256) under a key derived from FJ_SECRET_KEY_BASE, built and
// checked with node:crypto directly (jose measured ~16k verifications/s; tests use jose as an oracle); it names its room,
// its subject (peer) and the instance that minted it, and carries permissions and an expiry.
// This module knows nothing about rooms: whether the room and peer still exist is the caller's check.
import { createHmac, hkdfSync, randomUUID, timingSafeEqual } from 'node:crypto';

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

/**
 * A refusal; `foreign` is set when the token's signature and expiry are valid but another instance minted it
 * (still refused here: a cluster may relay the socket to that instance).
 */
export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: TokenRefusal; foreign?: TokenClaims };

export interface MintRequest {
  kind: TokenKind;
  roomId: string;
  peerId?: string;
  permissions?: PeerPermissions;
}

const KEY_INFO = 'shoal peer token v1';
/** base64url of {"alg":"HS256","typ":"JWT"}: the protected header of every token Shoal mints. */
const JWT_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

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
    payload.jti = claims.tokenId;
    payload.iat = issuedAt;
    payload.exp = claims.expiresAt;
    const signed = `${JWT_HEADER}.${Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')}`;
    const token = `${signed}.${createHmac('sha256', this.keys[0]).update(signed).digest('base64url')}`;
    return { token, claims };
  }

  async verify(token: string | undefined): Promise<VerifyResult> {
    return this.verifySync(token);
  }

  /**
   * Verifies with node:crypto directly (jose's async verify measured ~16k/s here; this is the hot path of
   * every socket auth and join storm). Accepts exactly what Shoal mints: a JWS compact token whose protected
   * header is {"alg":"HS256"(,"typ":"JWT")}, an HMAC-SHA256 signature under one of the keys, and an `exp`
   * in the future (jose's semantics: expired when exp <= now).
   */
  verifySync(token: string | undefined): VerifyResult {
    if (token === undefined || token === '') return { ok: false, reason: 'missing token' };
    const invalid: VerifyResult = { ok: false, reason: 'invalid token' };
    const dot1 = token.indexOf('.');
    const dot2 = token.indexOf('.', dot1 + 1);
    if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) !== -1) return invalid;
    const header = decodeJsonPart(token.slice(0, dot1));
    if (!isObject(header) || header.alg !== 'HS256' || Object.keys(header).some((k) => k !== 'alg' && k !== 'typ')) return invalid;
    const signature = Buffer.from(token.slice(dot2 + 1), 'base64url');
    if (signature.length !== 32 || signature.toString('base64url') !== token.slice(dot2 + 1)) return invalid;
    const signed = token.slice(0, dot2);
    if (!this.keys.some((key) => timingSafeEqual(createHmac('sha256', key).update(signed).digest(), signature))) return invalid;
    const payload = decodeJsonPart(token.slice(dot1 + 1, dot2));
    if (!isObject(payload)) return invalid;
    const claims = parseClaims(payload);
    if (claims === undefined) return invalid;
    const expired = claims.expiresAt <= Math.floor(Date.now() / 1000);
    // Another instance's token is 'invalid token' here, as before; a live one names its instance.
    if (claims.nodeId !== this.nodeId) return expired ? invalid : { ok: false, reason: 'invalid token', foreign: claims };
    if (expired) return { ok: false, reason: 'expired token' };
    return { ok: true, claims };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A base64url JSON part of a JWS; undefined when it is not canonical base64url or not JSON. */
function decodeJsonPart(part: string): unknown {
  const bytes = Buffer.from(part, 'base64url');
  if (bytes.toString('base64url') !== part) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
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
