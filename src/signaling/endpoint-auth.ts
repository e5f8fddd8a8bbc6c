// Resolves the token in a socket's first message to its room: signature, expiry, instance, kind and
// room existence, with the close reasons the clients match literally (and, for logging a refusal, the
// ids a verified token named). Attaching to the room (peer checks) stays with the caller, which must
// first make sure its socket is still waiting. It never returns or logs the token itself.
import type { PeerTokenService, TokenClaims, TokenKind } from '../auth/peer-token.js';
import type { Room } from '../room/room.js';
import type { RoomRegistry } from '../room/room-registry.js';

export type TokenLookup =
  | { ok: true; room: Room; peerId: string; claims: TokenClaims }
  | { ok: false; reason: string; roomId?: string; peerId?: string };

/** Close reasons that mean the credential itself was bad (logged at warn; other refusals at info). */
const TOKEN_REFUSALS = new Set(['missing token', 'invalid token', 'expired token']);

export function refusalLevel(reason: string): 'warn' | 'info' {
  return TOKEN_REFUSALS.has(reason) ? 'warn' : 'info';
}

export async function lookUpEndpointToken(
  tokens: PeerTokenService,
  rooms: RoomRegistry,
  token: string,
  kind: TokenKind,
): Promise<TokenLookup> {
  const verified = await tokens.verify(token);
  if (!verified.ok) return { ok: false, reason: verified.reason };
  const { claims } = verified;
  if (claims.kind !== kind || claims.peerId === undefined) return { ok: false, reason: 'invalid token', roomId: claims.roomId };
  const room = rooms.find(claims.roomId);
  if (!room || room.isStopped) return { ok: false, reason: 'room not found', roomId: claims.roomId, peerId: claims.peerId };
  return { ok: true, room, peerId: claims.peerId, claims };
}
