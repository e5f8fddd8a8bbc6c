// Resolves the token in a socket's first message to its room: signature, expiry, instance, kind and
// room existence, with the close reasons the clients match literally. Attaching to the room (peer
// checks) stays with the caller, which must first make sure its socket is still waiting.
import type { PeerTokenService, TokenClaims, TokenKind } from '../auth/peer-token.js';
import type { Room } from '../room/room.js';
import type { RoomRegistry } from '../room/room-registry.js';

export type TokenLookup = { ok: true; room: Room; peerId: string; claims: TokenClaims } | { ok: false; reason: string };

export async function lookUpEndpointToken(
  tokens: PeerTokenService,
  rooms: RoomRegistry,
  token: string,
  kind: TokenKind,
): Promise<TokenLookup> {
  const verified = await tokens.verify(token);
  if (!verified.ok) return verified;
  const { claims } = verified;
  if (claims.kind !== kind || claims.peerId === undefined) return { ok: false, reason: 'invalid token' };
  const room = rooms.find(claims.roomId);
  if (!room || room.isStopped) return { ok: false, reason: 'room not found' };
  return { ok: true, room, peerId: claims.peerId, claims };
}
