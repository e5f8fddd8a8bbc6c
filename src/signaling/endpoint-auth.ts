// Resolves the token in a socket's first message to its room: signature, expiry, instance, kind and
// room existence, with the close reasons the clients match literally (and, for logging a refusal, the
// ids a verified token named; for a valid token another instance minted, that instance's id). Attaching to the room (peer checks) stays with the caller, which must
// first make sure its socket is still waiting. It never returns or logs the token itself.
import type { RawData, WebSocket } from 'ws';
import type { PeerTokenService, TokenClaims, TokenKind } from '../auth/peer-token.js';
import type { Room } from '../room/room.js';
import type { RoomRegistry } from '../room/room-registry.js';

export type TokenLookup =
  | { ok: true; room: Room; peerId: string; claims: TokenClaims }
  | { ok: false; reason: string; roomId?: string; peerId?: string; mintedBy?: string };

/**
 * Cluster mode: hands a socket whose valid token another node minted to a relay towards that node (which
 * gets every frame from then on through forward(), the auth request first). Absent on a single node and
 * for a socket that was itself relayed here.
 */
export type EndpointRelay = (ws: WebSocket, target: { nodeId: string; roomId: string }) => { forward(data: RawData, isBinary: boolean): void };

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
  if (!verified.ok) {
    // A valid token of this kind minted by another instance: `mintedBy` names it (a cluster relays there).
    const f = verified.foreign;
    if (f !== undefined && f.kind === kind && f.peerId !== undefined) return { ok: false, reason: verified.reason, roomId: f.roomId, peerId: f.peerId, mintedBy: f.nodeId };
    return { ok: false, reason: verified.reason };
  }
  const { claims } = verified;
  if (claims.kind !== kind || claims.peerId === undefined) return { ok: false, reason: 'invalid token', roomId: claims.roomId };
  const room = rooms.find(claims.roomId);
  if (!room || room.isStopped) return { ok: false, reason: 'room not found', roomId: claims.roomId, peerId: claims.peerId };
  return { ok: true, room, peerId: claims.peerId, claims };
}
