import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import {
  isTurnUsernameValid,
  issueTurnCredentials,
  longTermKey,
  parseTurnUsername,
  turnPassword,
} from '../../src/turn/turn-credentials.js';
import { NonceIssuer } from '../../src/turn/nonce.js';

describe('TURN REST credentials', () => {
  it('issues "<unix-expiry>:<peerId>" with password base64(HMAC-SHA1(secret, username))', () => {
    const now = Date.UTC(2025, 0, 1, 0, 0, 0) + 789; // sub-second part is dropped
    const creds = issueTurnCredentials('s3cret', 'peer-42', 3600, now);
    const expiry = Math.floor(now / 1000) + 3600;
    assert.equal(creds.username, `${expiry}:peer-42`);
    assert.equal(creds.password, createHmac('sha1', 's3cret').update(creds.username).digest('base64'));
    assert.equal(turnPassword('s3cret', creds.username), creds.password);
    assert.notEqual(turnPassword('other', creds.username), creds.password);
  });

  it('parses usernames, including peer ids containing ":"', () => {
    assert.deepEqual(parseTurnUsername('1735689600:peer-1'), { expiresAt: 1735689600, peerId: 'peer-1' });
    assert.deepEqual(parseTurnUsername('1:a:b:c'), { expiresAt: 1, peerId: 'a:b:c' });
    assert.equal(parseTurnUsername('peer-1'), undefined);
    assert.equal(parseTurnUsername('abc:peer'), undefined);
    assert.equal(parseTurnUsername('123:'), undefined);
    assert.equal(parseTurnUsername(''), undefined);
    assert.equal(parseTurnUsername('-5:peer'), undefined);
  });

  it('treats a username as valid only before its expiry', () => {
    const now = 1_700_000_000_000;
    assert.equal(isTurnUsernameValid(`${now / 1000 + 1}:p`, now), true);
    assert.equal(isTurnUsernameValid(`${now / 1000}:p`, now), false);
    assert.equal(isTurnUsernameValid(`${now / 1000 - 60}:p`, now), false);
    assert.equal(isTurnUsernameValid('garbage', now), false);
    const expired = issueTurnCredentials('s', 'p', -10, now);
    assert.equal(isTurnUsernameValid(expired.username, now), false);
  });

  it('derives the long-term key MD5(username:realm:password)', () => {
    const key = longTermKey('1700000000:p', 'turn.stun.localhost', 'pw');
    assert.deepEqual(key, createHash('md5').update('1700000000:p:turn.stun.localhost:pw').digest());
    assert.equal(key.length, 16);
  });
});

describe('TURN nonces', () => {
  it('accepts its own nonce for the same client within the TTL, and nothing else', () => {
    const nonces = new NonceIssuer(3600);
    const other = new NonceIssuer(3600);
    const now = 1_700_000_000_000;
    const n = nonces.issue('udp|1.2.3.4|5', now);
    assert.match(n, /^[0-9a-f]{32}$/);
    assert.equal(nonces.check(n, 'udp|1.2.3.4|5', now), true);
    assert.equal(nonces.check(n, 'udp|1.2.3.4|5', now + 3600_000), true);
    assert.equal(nonces.check(n, 'udp|1.2.3.4|5', now + 3601_000), false, 'stale');
    assert.equal(nonces.check(n, 'udp|1.2.3.4|6', now), false, 'other client');
    assert.equal(other.check(n, 'udp|1.2.3.4|5', now), false, 'other issuer');
    assert.equal(nonces.check(n, 'udp|1.2.3.4|5', now - 60_000), false, 'from the future');
    assert.equal(nonces.check(n.slice(0, -1) + (n.endsWith('0') ? '1' : '0'), 'udp|1.2.3.4|5', now), false, 'forged');
    assert.equal(nonces.check('', 'udp|1.2.3.4|5', now), false);
    assert.equal(nonces.check('f//499k954d6OL34oL9FSTvy64sA', 'udp|1.2.3.4|5', now), false);
  });
});
