// Unit tests of PeerTokenService: claims round trip, expiry, forged and tampered tokens, node binding,
// and secret rotation. Forged tokens are built with jose directly, using the same key derivation as
// the service (HKDF-SHA256, empty salt, info 'shoal peer token v1', 32 bytes).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync, randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { DEFAULT_PERMISSIONS, PeerTokenService, type TokenClaims } from '../../src/auth/peer-token.js';

const SECRET = 'peer-token-test-secret-0123456789-abcdefghij';
const OTHER_SECRET = 'another-secret-entirely-9876543210-zyxwvutsrq';
const NODE = 'node-a';
const TTL = 3600;

const SECRET_A_FOR_ORACLE = 'oracle-secret-which-is-long-enough-0123456789';

function deriveKey(secret: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'shoal peer token v1', 32));
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** A payload in the service's wire format (knd/room/peer/node/perm + jti/iat/exp). */
function payload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    knd: 'peer',
    room: 'room-1',
    peer: 'peer-1',
    node: NODE,
    perm: { ...DEFAULT_PERMISSIONS },
    jti: randomUUID(),
    iat: now,
    exp: now + TTL,
    ...overrides,
  };
}

/** Signs `claims` as-is (no defaults added by jose) with the given algorithm and derived key. */
async function sign(claims: Record<string, unknown>, secret = SECRET, alg = 'HS256'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT' }).sign(deriveKey(secret));
}

async function mintPeer(svc: PeerTokenService) {
  return svc.mint({ kind: 'peer', roomId: 'room-1', peerId: 'peer-1' });
}

describe('PeerTokenService', () => {
  test('minted tokens are standard HS256 JWTs: jose verifies them with the derived key', async () => {
    const svc = new PeerTokenService([SECRET_A_FOR_ORACLE], 'node-oracle', 600);
    const { token, claims } = await svc.mint({ kind: 'peer', roomId: 'room-o', peerId: 'peer-o' });
    const { payload, protectedHeader } = await jwtVerify(token, deriveKey(SECRET_A_FOR_ORACLE), { algorithms: ['HS256'] });
    assert.deepEqual(protectedHeader, { alg: 'HS256', typ: 'JWT' });
    assert.equal(payload.jti, claims.tokenId);
    assert.equal(payload.exp, claims.expiresAt);
    assert.equal(payload.room, 'room-o');
    await assert.rejects(jwtVerify(token, deriveKey(SECRET_A_FOR_ORACLE + 'x'), { algorithms: ['HS256'] }));
  });

  describe('mint / verify', () => {
    test('round trip carries every claim, exp = iat + ttl', async () => {
      const svc = new PeerTokenService([SECRET], NODE, TTL);
      const permissions = { canPublish: false, canSubscribe: true, canPublishData: false };
      const before = Math.floor(Date.now() / 1000);
      const { token, claims } = await svc.mint({ kind: 'peer', roomId: 'room-42', peerId: 'peer-7', permissions });
      const after = Math.floor(Date.now() / 1000);

      assert.equal(claims.kind, 'peer');
      assert.equal(claims.roomId, 'room-42');
      assert.equal(claims.peerId, 'peer-7');
      assert.equal(claims.nodeId, NODE);
      assert.match(claims.tokenId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.deepEqual(claims.permissions, permissions);
      assert.ok(claims.issuedAt >= before && claims.issuedAt <= after, `iat ${claims.issuedAt} not in [${before}, ${after}]`);
      assert.equal(claims.expiresAt, claims.issuedAt + TTL);

      const res = await svc.verify(token);
      assert.deepEqual(res, { ok: true, claims });

      // The token itself is an HS256 JWT with the documented payload.
      assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' });
      const p = decodeJwt(token);
      assert.equal(p.knd, 'peer');
      assert.equal(p.room, 'room-42');
      assert.equal(p.peer, 'peer-7');
      assert.equal(p.node, NODE);
      assert.equal(p.jti, claims.tokenId);
      assert.equal(p.iat, claims.issuedAt);
      assert.equal(p.exp, claims.issuedAt + TTL);
      assert.deepEqual(p.perm, permissions);
    });

    test('default permissions and a fresh tokenId per mint', async () => {
      const svc = new PeerTokenService([SECRET], NODE, TTL);
      const a = await mintPeer(svc);
      const b = await mintPeer(svc);
      assert.deepEqual(a.claims.permissions, { canPublish: true, canSubscribe: true, canPublishData: true });
      assert.notEqual(a.claims.tokenId, b.claims.tokenId);
      assert.notEqual(a.token, b.token);
      const va = await svc.verify(a.token);
      const vb = await svc.verify(b.token);
      assert.ok(va.ok && vb.ok);
      assert.equal(va.claims.tokenId, a.claims.tokenId);
      assert.equal(vb.claims.tokenId, b.claims.tokenId);
    });

    test('livestream token has no peerId', async () => {
      const svc = new PeerTokenService([SECRET], NODE, 60);
      const { token, claims } = await svc.mint({ kind: 'viewer', roomId: 'live-1' });
      assert.equal(claims.peerId, undefined);
      assert.equal('peer' in decodeJwt(token), false);
      const res = await svc.verify(token);
      assert.ok(res.ok);
      assert.equal(res.claims.kind, 'viewer');
      assert.equal(res.claims.roomId, 'live-1');
      assert.equal(res.claims.peerId, undefined);
      assert.equal(res.claims.expiresAt, res.claims.issuedAt + 60);
    });

    test('a hand-crafted token with the same derived key verifies (derivation is as documented)', async () => {
      const svc = new PeerTokenService([SECRET], NODE, TTL);
      const p = payload();
      const res = await svc.verify(await sign(p));
      assert.ok(res.ok, JSON.stringify(res));
      const expected: TokenClaims = {
        kind: 'peer',
        roomId: 'room-1',
        peerId: 'peer-1',
        nodeId: NODE,
        tokenId: p.jti as string,
        permissions: DEFAULT_PERMISSIONS,
        issuedAt: p.iat as number,
        expiresAt: p.exp as number,
      };
      assert.deepEqual(res.claims, expected);
    });

    test('constructor refuses an empty secret list', () => {
      assert.throws(() => new PeerTokenService([], NODE, TTL), /at least one secret/);
    });
  });

  describe('refusals', () => {
    const svc = new PeerTokenService([SECRET], NODE, TTL);

    test('empty or absent token → missing token', async () => {
      assert.deepEqual(await svc.verify(''), { ok: false, reason: 'missing token' });
      assert.deepEqual(await svc.verify(undefined), { ok: false, reason: 'missing token' });
    });

    test('expired token (correct key) → expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await sign(payload({ iat: now - 7200, exp: now - 3600 }));
      assert.deepEqual(await svc.verify(token), { ok: false, reason: 'expired token' });
      const justExpired = await sign(payload({ iat: now - 100, exp: now - 1 }));
      assert.deepEqual(await svc.verify(justExpired), { ok: false, reason: 'expired token' });
    });

    test('expired token signed with a wrong key → invalid token (no expiry oracle)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await sign(payload({ iat: now - 7200, exp: now - 3600 }), OTHER_SECRET);
      assert.deepEqual(await svc.verify(token), { ok: false, reason: 'invalid token' });
    });

    test('alg none → invalid token', async () => {
      const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload())}.`;
      assert.deepEqual(await svc.verify(token), { ok: false, reason: 'invalid token' });
    });

    test('HS512 with the right key → invalid token', async () => {
      const token = await sign(payload(), SECRET, 'HS512');
      assert.equal(decodeProtectedHeader(token).alg, 'HS512');
      assert.deepEqual(await svc.verify(token), { ok: false, reason: 'invalid token' });
    });

    test('HS256 with the raw (underived) secret as key → invalid token', async () => {
      const token = await new SignJWT(payload()).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.from(SECRET, 'utf8'));
      assert.deepEqual(await svc.verify(token), { ok: false, reason: 'invalid token' });
    });

    test('wrong key → invalid token', async () => {
      const token = await sign(payload(), OTHER_SECRET);
      assert.deepEqual(await svc.verify(token), { ok: false, reason: 'invalid token' });
    });

    test('tampered payload with the original signature → invalid token', async () => {
      const { token } = await mintPeer(svc);
      const [h, p, sig] = token.split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      for (const change of [{ peer: 'peer-2' }, { room: 'room-2' }, { perm: { ...claims.perm, canPublish: false } }, { exp: claims.exp + 86400 }]) {
        const forged = `${h}.${b64url({ ...claims, ...change })}.${sig}`;
        assert.deepEqual(await svc.verify(forged), { ok: false, reason: 'invalid token' }, JSON.stringify(change));
      }
    });

    test('corrupted signature → invalid token', async () => {
      const { token } = await mintPeer(svc);
      const [h, p, sig] = token.split('.');
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      assert.deepEqual(await svc.verify(`${h}.${p}.${flipped}`), { ok: false, reason: 'invalid token' });
      assert.deepEqual(await svc.verify(`${h}.${p}.`), { ok: false, reason: 'invalid token' });
    });

    test('token minted by another node (same secret) → invalid token, naming the minting node', async () => {
      const other = new PeerTokenService([SECRET], 'node-b', TTL);
      const { token, claims } = await mintPeer(other);
      assert.ok((await other.verify(token)).ok, 'node B accepts its own token');
      // Refused as before; the claims say which node minted it (a cluster relays the socket there).
      assert.deepEqual(await svc.verify(token), { ok: false, reason: 'invalid token', foreign: claims });
    });

    test('another node\'s token that expired or is forged names no node', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = await sign(payload({ node: 'node-b', iat: now - 7200, exp: now - 3600 }));
      assert.deepEqual(await svc.verify(expired), { ok: false, reason: 'invalid token' });
      const wrongKey = await sign(payload({ node: 'node-b' }), OTHER_SECRET);
      assert.deepEqual(await svc.verify(wrongKey), { ok: false, reason: 'invalid token' });
      const illTyped = await sign(payload({ node: 'node-b', perm: 'all' }));
      assert.deepEqual(await svc.verify(illTyped), { ok: false, reason: 'invalid token' });
    });

    test('correctly signed token with missing or ill-typed claims → invalid token', async () => {
      const bad: Record<string, unknown>[] = [
        { knd: 'admin' },
        { knd: undefined },
        { room: 42 },
        { node: undefined },
        { jti: undefined },
        { peer: 7 },
        { perm: undefined },
        { perm: { canPublish: 'yes', canSubscribe: true, canPublishData: true } },
        { perm: { canPublish: true, canSubscribe: true } },
      ];
      for (const change of bad) {
        const p = payload(change);
        for (const k of Object.keys(change)) if (change[k] === undefined) delete p[k];
        assert.deepEqual(await svc.verify(await sign(p)), { ok: false, reason: 'invalid token' }, JSON.stringify(change));
      }
      // No exp / no iat claim at all.
      const noExp = payload();
      delete noExp.exp;
      assert.deepEqual(await svc.verify(await sign(noExp)), { ok: false, reason: 'invalid token' });
      const noIat = payload();
      delete noIat.iat;
      assert.deepEqual(await svc.verify(await sign(noIat)), { ok: false, reason: 'invalid token' });
    });

    test('garbage strings → invalid token', async () => {
      for (const garbage of ['garbage', 'a.b.c', '...', 'eyJhbGciOiJIUzI1NiJ9', 'x'.repeat(5000), '\u0000\u00ff']) {
        assert.deepEqual(await svc.verify(garbage), { ok: false, reason: 'invalid token' }, garbage.slice(0, 20));
      }
    });
  });

  describe('key rotation', () => {
    const OLD = 'old-secret-key-base-0123456789-abcdefghijklmn';
    const NEW = 'new-secret-key-base-0123456789-opqrstuvwxyz12';

    test('[new, old] verifies tokens minted with [old] and mints with new', async () => {
      const oldSvc = new PeerTokenService([OLD], NODE, TTL);
      const rotated = new PeerTokenService([NEW, OLD], NODE, TTL);
      const newOnly = new PeerTokenService([NEW], NODE, TTL);

      const fromOld = await mintPeer(oldSvc);
      const res = await rotated.verify(fromOld.token);
      assert.deepEqual(res, { ok: true, claims: fromOld.claims });

      const fromRotated = await mintPeer(rotated);
      // Signed with NEW: a NEW-only service accepts it, an OLD-only one does not.
      assert.deepEqual(await newOnly.verify(fromRotated.token), { ok: true, claims: fromRotated.claims });
      assert.deepEqual(await oldSvc.verify(fromRotated.token), { ok: false, reason: 'invalid token' });
      assert.deepEqual(await rotated.verify(fromRotated.token), { ok: true, claims: fromRotated.claims });
    });

    test('[new] alone refuses tokens minted with [old]', async () => {
      const oldSvc = new PeerTokenService([OLD], NODE, TTL);
      const newOnly = new PeerTokenService([NEW], NODE, TTL);
      const { token } = await mintPeer(oldSvc);
      assert.deepEqual(await newOnly.verify(token), { ok: false, reason: 'invalid token' });
    });

    test('an expired token under the old key is reported expired by [new, old]', async () => {
      const rotated = new PeerTokenService([NEW, OLD], NODE, TTL);
      const now = Math.floor(Date.now() / 1000);
      const token = await sign(payload({ iat: now - 7200, exp: now - 60 }), OLD);
      assert.deepEqual(await rotated.verify(token), { ok: false, reason: 'expired token' });
    });
  });
});
