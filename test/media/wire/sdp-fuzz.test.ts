/**
 * parseOffer never fails with anything but SdpError (issue 10, item 1):
 * - malformed a=ssrc-group / a=ssrc lines (a group with one SSRC — which sdp-transform hands over as a
 *   number, not a string — non-numeric or out-of-range SSRCs) are refused with SdpError;
 * - a fast-check property over mutations of the real Chromium offers in fixtures/*.sdp (lines dropped,
 *   duplicated, corrupted, attribute values replaced with random text or numbers, lines inserted): each
 *   mutated offer either parses to a well-typed ParsedOffer or throws SdpError — never a TypeError.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseOffer, SdpError, type ParsedOffer } from '../../../src/media/wire/sdp.js';
import { fixtureText, mutate, mutation, OFFERS, valueText } from './sdp-mutations.js';

const PUBLISH = fixtureText('chromium-publish-receive.sdp');
const FID_LINE = /^a=ssrc-group:FID [^\r\n]*$/m;

/** Runs parseOffer; fails the test unless it returns or throws SdpError. */
function parseOrSdpError(sdp: string): ParsedOffer | SdpError {
  try {
    return parseOffer(sdp);
  } catch (err) {
    if (err instanceof SdpError) return err;
    assert.fail(`parseOffer threw ${String((err as Error)?.stack ?? err)}`);
  }
}

const isUint32 = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

/** A returned offer has the types the session relies on. */
function assertWellTyped(offer: ParsedOffer): void {
  assert.ok(offer.media.length > 0);
  for (const m of offer.media) {
    assert.equal(typeof m.mid, 'string');
    assert.equal(typeof m.iceUfrag, 'string');
    assert.equal(typeof m.icePwd, 'string');
    assert.equal(typeof m.protocol, 'string');
    assert.equal(typeof m.payloads, 'string');
    assert.ok(m.ssrcs.every(isUint32), `ssrcs ${m.ssrcs}`);
    for (const g of m.ssrcGroups) {
      assert.equal(typeof g.semantics, 'string');
      assert.ok(g.ssrcs.length > 0 && g.ssrcs.every(isUint32), `group ${JSON.stringify(g)}`);
    }
    for (const c of m.codecs) {
      assert.equal(typeof c.name, 'string');
      assert.ok(Number.isInteger(c.payloadType));
      assert.ok(c.rtcpFb.every((f) => typeof f === 'string'));
    }
    for (const e of m.extensions) {
      assert.ok(Number.isInteger(e.id));
      assert.equal(typeof e.uri, 'string');
    }
    assert.ok(m.rids.every((r) => typeof r === 'string'));
  }
}

describe('parseOffer: malformed SSRC lines', () => {
  const cases: [string, string][] = [
    ['an FID group with one SSRC', 'a=ssrc-group:FID 1'],
    ['an FID group with one large SSRC', 'a=ssrc-group:FID 1415967997'],
    ['an FID group with a non-numeric SSRC', 'a=ssrc-group:FID 1415967997 abc'],
    ['an FID group with an SSRC beyond 32 bits', 'a=ssrc-group:FID 1415967997 99999999999'],
    ['an FID group with a negative SSRC', 'a=ssrc-group:FID -1 439135651'],
    ['a group with no SSRC', 'a=ssrc-group:FID '],
  ];
  for (const [name, line] of cases) {
    test(`${name} ("${line}") is refused with SdpError`, () => {
      const sdp = PUBLISH.replace(FID_LINE, line);
      assert.notEqual(sdp, PUBLISH);
      const result = parseOrSdpError(sdp);
      assert.ok(result instanceof SdpError, 'refused');
      assert.match(result.message, /ssrc/i);
    });
  }

  test('an a=ssrc line with a non-numeric id is refused with SdpError', () => {
    const result = parseOrSdpError(PUBLISH.replace('a=ssrc:1417218071 cname:', 'a=ssrc:x1417218071 cname:'));
    // sdp-transform may not even match the line (then it is ignored); either way no TypeError.
    if (!(result instanceof SdpError)) assertWellTyped(result);
  });

  test('the real FID group still parses', () => {
    const result = parseOrSdpError(PUBLISH);
    assert.ok(!(result instanceof SdpError));
    assert.deepEqual(result.media[1]!.ssrcGroups, [{ semantics: 'FID', ssrcs: [1415967997, 439135651] }]);
  });
});

describe('parseOffer: property over mutated real offers', () => {
  test('returns a well-typed offer or throws SdpError, never anything else', () => {
    fc.assert(
      fc.property(fc.constantFrom(...OFFERS), fc.array(mutation, { minLength: 1, maxLength: 6 }), (offer, mutations) => {
        const result = parseOrSdpError(mutate(offer, mutations));
        if (!(result instanceof SdpError)) assertWellTyped(result);
      }),
      { numRuns: 1500 },
    );
  });

  test('targeted at SSRC lines: random values after a=ssrc-group: / a=ssrc:', () => {
    const ssrcLines = (sdp: string) => sdp.split('\r\n').flatMap((l, i) => (l.startsWith('a=ssrc') ? [i] : []));
    fc.assert(
      fc.property(fc.constantFrom(...OFFERS.filter((o) => ssrcLines(o).length > 0)), fc.nat(), valueText, fc.boolean(), (offer, pick, value, group) => {
        const lines = offer.split('\r\n');
        const idx = ssrcLines(offer);
        const at = idx[pick % idx.length]!;
        lines[at] = group ? `a=ssrc-group:${value}` : `a=ssrc:${value}`;
        const result = parseOrSdpError(lines.join('\r\n'));
        if (!(result instanceof SdpError)) assertWellTyped(result);
      }),
      { numRuns: 500 },
    );
  });

  test('any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `v=0\r\n${s}`)), (text) => {
        parseOrSdpError(text);
      }),
      { numRuns: 500 },
    );
  });
});
