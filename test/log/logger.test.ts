// The process logger's line formats: JSON mode (FJ_STRUCTURED_LOGGING=true) has level names and ISO-8601
// times, human mode reads `HH:MM:SS.mmm [level] msg key=value`; both go to a given destination, respect
// the level, and never print a field named like a credential.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log/logger.js';
import { captureLog } from './capture.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('logger', () => {
  it('JSON mode: "level":"info" and an ISO-8601 "time", fields kept', () => {
    const c = captureLog('info');
    const before = Date.now();
    c.log.info({ roomId: 'r1' }, 'room created');
    c.log.child({ module: 'webhook' }).warn({ status: 500 }, 'webhook failed');
    const [a, b] = c.records();
    assert.equal(a.level, 'info');
    assert.match(a.time, ISO);
    assert.ok(Math.abs(Date.parse(a.time) - before) < 5000);
    assert.equal(a.msg, 'room created');
    assert.equal(a.roomId, 'r1');
    assert.deepEqual(Object.keys(a), ['level', 'time', 'roomId', 'msg']);
    assert.equal(b.level, 'warn');
    assert.match(b.time, ISO);
    assert.equal(b.module, 'webhook');
    assert.equal(b.status, 500);
    assert.match(c.lines[0], /^\{"level":"info","time":"\d{4}-[^"]+Z",/);
  });

  it('levels below the configured one are not written', () => {
    const c = captureLog('info');
    c.log.debug('hidden');
    c.log.error('shown');
    assert.deepEqual(c.records().map((r) => [r.level, r.msg]), [['error', 'shown']]);
  });

  it('human mode: HH:MM:SS.mmm [level] msg key=value', () => {
    const lines: string[] = [];
    const log = createLogger('debug', false, { write: (l) => void lines.push(l) });
    log.info({ roomId: 'r1', n: 2 }, 'room created');
    log.warn('plain');
    assert.match(lines[0], /^\d{2}:\d{2}:\d{2}\.\d{3} \[info\] room created roomId=r1 n=2\n$/);
    assert.match(lines[1], /^\d{2}:\d{2}:\d{2}\.\d{3} \[warn\] plain\n$/);
  });

  it('fields named like credentials are redacted, at the top level and one level down', () => {
    const c = captureLog('debug');
    c.log.info({ token: 'tok-AAA', authorization: 'Bearer tok-BBB', peer: { token: 'tok-CCC' }, headers: { authorization: 'tok-DDD' } }, 'careless caller');
    const text = c.text();
    for (const secret of ['tok-AAA', 'tok-BBB', 'tok-CCC', 'tok-DDD']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.equal(c.records()[0].token, '[redacted]');
  });
});
