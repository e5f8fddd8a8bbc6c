// Stateless TURN nonces (RFC 5389 §10.2): "<8 hex unix-seconds><24 hex HMAC(key, time|client)>", bound
// to the client's 5-tuple and valid for a fixed time, so the server keeps no per-nonce state and a
// nonce leaked from one client is stale for every other.
// What it must not do: store nonces, or accept one it did not issue (forged, other client, too old, or
// from the future).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NONCE_TTL_S = 3600;
const MAC_HEX = 24;

export class NonceIssuer {
  private readonly key = randomBytes(32);

  constructor(private readonly ttlSeconds = NONCE_TTL_S) {}

  issue(clientKey: string, nowMs = Date.now()): string {
    const ts = Math.floor(nowMs / 1000)
      .toString(16)
      .padStart(8, '0');
    return ts + this.mac(ts, clientKey);
  }

  /** True when `nonce` was issued by this issuer to `clientKey` and is not stale. */
  check(nonce: string, clientKey: string, nowMs = Date.now()): boolean {
    if (nonce.length !== 8 + MAC_HEX || !/^[0-9a-f]+$/.test(nonce)) return false;
    const ts = nonce.slice(0, 8);
    const issuedAt = parseInt(ts, 16);
    const now = Math.floor(nowMs / 1000);
    if (issuedAt > now + 5 || now - issuedAt > this.ttlSeconds) return false;
    return timingSafeEqual(Buffer.from(nonce.slice(8)), Buffer.from(this.mac(ts, clientKey)));
  }

  private mac(ts: string, clientKey: string): string {
    return createHmac('sha256', this.key).update(`${ts}|${clientKey}`).digest('hex').slice(0, MAC_HEX);
  }
}
