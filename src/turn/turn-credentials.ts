// TURN REST-API credentials (the scheme Fishjam/membrane uses): username "<unix-expiry>:<peerId>",
// password base64(HMAC-SHA1(secret, username)); and the RFC 5389 long-term key MD5(user:realm:pass)
// that MESSAGE-INTEGRITY is keyed with.
// What it must not do: keep state, log or return the secret, or decide policy beyond "is this username
// well-formed and unexpired" (which requests must check expiry is the server's business).
import { createHash, createHmac } from 'node:crypto';

export interface TurnCredentials {
  username: string;
  password: string;
}

/** The REST-API password for `username`. */
export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username, 'utf8').digest('base64');
}

/** Credentials for `peerId` that expire `ttlSeconds` after `nowMs`. */
export function issueTurnCredentials(secret: string, peerId: string, ttlSeconds: number, nowMs = Date.now()): TurnCredentials {
  const expiry = Math.floor(nowMs / 1000) + Math.floor(ttlSeconds);
  const username = `${expiry}:${peerId}`;
  return { username, password: turnPassword(secret, username) };
}

export interface ParsedTurnUsername {
  /** Unix seconds after which the username is refused. */
  expiresAt: number;
  peerId: string;
}

/** Splits "<unix-expiry>:<peerId>" (peerId may itself contain ':'); undefined when malformed. */
export function parseTurnUsername(username: string): ParsedTurnUsername | undefined {
  const m = /^(\d{1,12}):(.+)$/s.exec(username);
  if (!m) return undefined;
  return { expiresAt: Number(m[1]), peerId: m[2]! };
}

/** True when `username` is well-formed and its expiry is still in the future. */
export function isTurnUsernameValid(username: string, nowMs = Date.now()): boolean {
  const parsed = parseTurnUsername(username);
  return parsed !== undefined && parsed.expiresAt * 1000 > nowMs;
}

/** RFC 5389 §15.4 long-term credential key: MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`, 'utf8').digest();
}
