import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { WebhookSender, signWebhookBody, verifyWebhookSignature, type WebhookSenderOptions } from '../../src/notify/webhook-sender.js';

const SECRET = 'test-webhook-secret';
const log = pino({ level: 'silent' });

/** What the receiver does with one request: answer with a status, drop the connection, or never answer. */
type Action = number | 'destroy' | 'hang';

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  action: Action;
  at: number;
}

/** A local webhook receiver on 127.0.0.1 whose behaviour the test switches at will. */
class Receiver {
  readonly requests: Received[] = [];
  /** Bodies (utf8) of requests answered 2xx, in arrival order. */
  readonly accepted: string[] = [];
  /** Requests that were aborted by the client before being answered. */
  abortedByClient = 0;
  private readonly hung: { res: http.ServerResponse; body: string }[] = [];
  private server: http.Server | null = null;
  port = 0;

  constructor(public decide: (body: string, index: number) => Action) {}

  url(path = '/webhook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async start(port = this.port): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const action = this.decide(body.toString('utf8'), this.requests.length);
        this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, action, at: performance.now() });
        if (action === 'destroy') {
          req.socket.destroy();
        } else if (action === 'hang') {
          this.hung.push({ res, body: body.toString('utf8') });
          res.on('close', () => {
            if (!res.writableEnded) this.abortedByClient++;
          });
        } else {
          if (action >= 200 && action < 300) this.accepted.push(body.toString('utf8'));
          res.writeHead(action, { 'content-type': 'text/plain' }).end('ok');
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Answers every hung request with `status`. */
  release(status = 200): void {
    for (const { res, body } of this.hung.splice(0)) {
      if (res.destroyed) continue;
      if (status >= 200 && status < 300) this.accepted.push(body);
      res.writeHead(status).end();
    }
  }

  /** Stops listening and drops every open connection (later requests are refused). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

/** Waits until `cond()` holds, checking every few ms; fails after `timeoutMs`. */
async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function makeSender(overrides: Partial<WebhookSenderOptions> = {}): WebhookSender {
  return new WebhookSender({
    secret: SECRET,
    timeoutMs: 2000,
    maxRetryMs: 30_000,
    queueLimit: 1000,
    log,
    initialBackoffMs: 20,
    maxBackoffMs: 100,
    ...overrides,
  });
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Runs `fn` with a sender and receivers that are always cleaned up. */
async function withSetup(
  senderOpts: Partial<WebhookSenderOptions>,
  receivers: Receiver[],
  fn: (sender: WebhookSender) => Promise<void>,
): Promise<void> {
  const sender = makeSender(senderOpts);
  try {
    for (const r of receivers) await r.start();
    await fn(sender);
  } finally {
    sender.stop();
    for (const r of receivers) {
      r.release(200);
      await r.stop();
    }
  }
}

describe('WebhookSender', () => {
  it('delivers ~20 events in order, POSTed to the exact URL, with content-type and a valid signature', async () => {
    const rx = new Receiver(() => 200);
    await withSetup({}, [rx], async (sender) => {
      const path = '/hooks/room-events?token=abc&x=1';
      const bodies = Array.from({ length: 20 }, (_, i) => `event-${i}-${'x'.repeat(i * 7)}`);
      for (const b of bodies) sender.enqueue('room-1', rx.url(path), enc(b));
      assert.ok(sender.pending('room-1') > 0);
      assert.equal(await sender.drain(10_000), true, 'drain should finish');

      assert.deepEqual(rx.accepted, bodies);
      assert.equal(rx.requests.length, 20, 'no duplicates or extra attempts');
      for (const r of rx.requests) {
        assert.equal(r.method, 'POST');
        assert.equal(r.path, path);
        assert.equal(r.headers['content-type'], 'application/x-protobuf');
        const expected = 'sha256=' + createHmac('sha256', SECRET).update(r.body).digest('hex');
        assert.equal(r.headers['x-fishjam-signature-256'], expected);
        assert.equal(verifyWebhookSignature(SECRET, r.body, r.headers['x-fishjam-signature-256'] as string), true);
      }
      assert.deepEqual(sender.stats, { delivered: 20, failedAttempts: 0, dropped: 0 });
      assert.equal(sender.pending(), 0);
      assert.equal(sender.pending('room-1'), 0);
    });
  });

  it('survives an outage (503, dropped connections, refused connections) and delivers every event exactly once, in order', async () => {
    let mode: '503' | 'destroy' | 'ok' = '503';
    const rx = new Receiver(() => (mode === '503' ? 503 : mode === 'destroy' ? 'destroy' : 200));
    await withSetup({ initialBackoffMs: 20, maxBackoffMs: 100, maxRetryMs: 30_000 }, [rx], async (sender) => {
      const expected: string[] = [];
      const send = (n: number): void => {
        for (let i = 0; i < n; i++) {
          const b = `ev-${expected.length}`;
          expected.push(b);
          sender.enqueue('room-outage', rx.url(), enc(b));
        }
      };
      const start = performance.now();
      send(8);

      // Phases advance on the sender's failure count: a failure is counted once the sender has seen it,
      // and it then waits out its backoff, so no request of the previous phase is still in flight.
      // Phase 1: HTTP 503.
      await until(() => sender.stats.failedAttempts >= 6, 10_000, '6 attempts answered 503');
      assert.ok(rx.requests.every((r) => r.body.toString() === 'ev-0'), 'only the head event is retried while it fails');
      send(4);

      // Phase 2: the receiver drops the connection without answering.
      mode = 'destroy';
      await until(() => sender.stats.failedAttempts >= 9, 10_000, '3 attempts with dropped connections');
      assert.ok(rx.requests.some((r) => r.action === 'destroy'));

      // Phase 3: the receiver is down (connection refused).
      const port = rx.port;
      const seenBeforeDown = rx.requests.length;
      await rx.stop();
      await until(() => sender.stats.failedAttempts >= 12, 10_000, '3 refused attempts');
      send(4);
      assert.equal(rx.requests.length, seenBeforeDown, 'nothing reached the stopped receiver');
      assert.equal(sender.stats.delivered, 0);
      assert.equal(sender.pending('room-outage'), expected.length);

      // Recovery on the same port.
      mode = 'ok';
      await rx.start(port);
      assert.equal(await sender.drain(10_000), true, 'queue drains after recovery');
      const outageMs = performance.now() - start;

      assert.deepEqual(rx.accepted, expected, 'every event accepted exactly once, in order');
      assert.equal(sender.stats.delivered, expected.length);
      assert.equal(sender.stats.dropped, 0);
      assert.ok(sender.stats.failedAttempts >= 12, `failed attempts counted (${sender.stats.failedAttempts})`);
      assert.ok(outageMs < 10_000, `outage test took ${Math.round(outageMs)} ms`);
      assert.equal(sender.pending(), 0);
    });
  });

  it('drops an event once maxRetryMs has passed since its first attempt, then delivers the next one', async () => {
    const rx = new Receiver((body) => (body === 'poison' ? 500 : 200));
    await withSetup({ maxRetryMs: 200, initialBackoffMs: 20, maxBackoffMs: 50 }, [rx], async (sender) => {
      const t0 = performance.now();
      sender.enqueue('room-p', rx.url(), enc('poison'));
      sender.enqueue('room-p', rx.url(), enc('good'));
      assert.equal(await sender.drain(10_000), true);

      assert.deepEqual(rx.accepted, ['good']);
      const poison = rx.requests.filter((r) => r.body.toString() === 'poison');
      const good = rx.requests.filter((r) => r.body.toString() === 'good');
      // Normally several attempts; on a badly overloaded machine one slow attempt can use up the budget.
      assert.ok(poison.length >= 1, `poison attempted (${poison.length} attempts)`);
      assert.equal(good.length, 1);
      const lastPoisonIndex = rx.requests.lastIndexOf(poison[poison.length - 1]);
      assert.ok(lastPoisonIndex < rx.requests.indexOf(good[0]), 'next event only after the dropped one');
      // The next event can only go out once maxRetryMs has passed since the poison event's first attempt.
      const waited = good[0].at - t0;
      assert.ok(waited >= 200 && waited < 10_000, `next event went out ~maxRetryMs after the first (${Math.round(waited)} ms)`);
      assert.equal(sender.stats.dropped, 1);
      assert.equal(sender.stats.delivered, 1);
      assert.equal(sender.stats.failedAttempts, poison.length);
    });
  });

  it('a request that times out counts as a failed attempt and is retried', async () => {
    let hangFirst = true;
    const rx = new Receiver(() => {
      if (hangFirst) {
        hangFirst = false;
        return 'hang';
      }
      return 200;
    });
    await withSetup({ timeoutMs: 1000 }, [rx], async (sender) => {
      sender.enqueue('room-t', rx.url(), enc('slow'));
      sender.enqueue('room-t', rx.url(), enc('after'));
      assert.equal(await sender.drain(10_000), true);
      assert.deepEqual(rx.accepted, ['slow', 'after']);
      assert.equal(rx.requests.length, 3);
      assert.equal(sender.stats.failedAttempts, 1);
      assert.equal(sender.stats.delivered, 2);
      await until(() => rx.abortedByClient === 1, 2000, 'the timed out request was aborted by the client');
    });
  });

  it('on queueLimit overflow drops the oldest queued (not in-flight) events', async () => {
    let first = true;
    const rx = new Receiver(() => {
      if (first) {
        first = false;
        return 'hang';
      }
      return 200;
    });
    await withSetup({ queueLimit: 3, timeoutMs: 10_000 }, [rx], async (sender) => {
      sender.enqueue('room-q', rx.url(), enc('e0'));
      await until(() => rx.requests.length === 1, 10_000, 'e0 in flight');
      for (let i = 1; i <= 5; i++) sender.enqueue('room-q', rx.url(), enc(`e${i}`));
      assert.equal(sender.stats.dropped, 2, 'e1 and e2 dropped');
      assert.equal(sender.pending('room-q'), 4, 'in-flight e0 + 3 queued');
      rx.release(200);
      assert.equal(await sender.drain(10_000), true);
      assert.deepEqual(rx.accepted, ['e0', 'e3', 'e4', 'e5']);
      assert.equal(sender.stats.delivered, 4);
      assert.equal(sender.stats.dropped, 2);
    });
  });

  it("a dead room (hanging or connection-dropping receiver) does not delay another room's delivery", async () => {
    const hanging = new Receiver(() => 'hang');
    const dropping = new Receiver(() => 'destroy');
    const live = new Receiver(() => 200);
    await withSetup({ timeoutMs: 60_000, maxRetryMs: 60_000 }, [hanging, dropping, live], async (sender) => {
      const droppingUrl = dropping.url();
      sender.enqueue('dead-hang', hanging.url(), enc('h0'));
      sender.enqueue('dead-hang', hanging.url(), enc('h1'));
      sender.enqueue('dead-drop', droppingUrl, enc('r0'));
      sender.enqueue('dead-drop', droppingUrl, enc('r1'));
      await until(() => hanging.requests.length === 1, 10_000, 'hanging room request in flight');

      const bodies = ['a', 'b', 'c', 'd', 'e'];
      for (const b of bodies) sender.enqueue('alive', live.url(), enc(b));
      await until(() => sender.pending('alive') === 0, 10_000, 'live room delivered');
      assert.ok(dropping.requests.length >= 1, 'the dropping room is being retried meanwhile');
      assert.deepEqual(live.accepted, bodies);
      assert.equal(sender.pending('alive'), 0);
      assert.equal(sender.pending('dead-hang'), 2);
      assert.equal(sender.pending('dead-drop'), 2);
      assert.equal(sender.pending(), 4);
      assert.equal(await sender.drain(50), false, 'drain times out while dead rooms are pending');

      sender.stop();
      assert.equal(sender.pending(), 0);
      await until(() => hanging.abortedByClient === 1, 2000, 'in-flight request aborted by stop()');
      const failed = sender.stats.failedAttempts;
      assert.equal(sender.stats.dropped, 4);
      sender.enqueue('alive', live.url(), enc('late'));
      assert.equal(sender.stats.failedAttempts, failed);
      assert.equal(sender.pending(), 0, 'enqueue after stop is ignored');
    });
  });

  it('never throws from enqueue for an unusable URL, and drops the event after maxRetryMs', async () => {
    await withSetup({ maxRetryMs: 60 }, [], async (sender) => {
      assert.doesNotThrow(() => sender.enqueue('room-bad', 'not a url', enc('x')));
      assert.doesNotThrow(() => sender.enqueue('room-bad', 'ftp://127.0.0.1/x', enc('y')));
      assert.equal(await sender.drain(10_000), true);
      assert.equal(sender.stats.dropped, 2);
      assert.equal(sender.stats.delivered, 0);
      assert.ok(sender.stats.failedAttempts >= 2);
    });
  });

  it('its retry timers never keep the process alive', async () => {
    // A process whose only work is a sender retrying against a dead receiver must exit on its own.
    const dropping = new Receiver(() => 'destroy');
    await dropping.start();
    const url = dropping.url();
    const moduleUrl = new URL('../../src/notify/webhook-sender.ts', import.meta.url).href;
    const script = `
      import { WebhookSender } from ${JSON.stringify(moduleUrl)};
      import { pino } from 'pino';
      const s = new WebhookSender({ secret: 's', timeoutMs: 60000, maxRetryMs: 600000, queueLimit: 10,
        log: pino({ level: 'silent' }), initialBackoffMs: 50, maxBackoffMs: 50 });
      s.enqueue('r', ${JSON.stringify(url)}, new Uint8Array([1, 2, 3]));
      // Keeps the process alive only until the event has been retried, then lets go.
      const probe = setInterval(() => {
        if (s.stats.failedAttempts < 2) return;
        clearInterval(probe);
        console.log('pending=' + s.pending() + ' failed=' + s.stats.failedAttempts);
      }, 10);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`child still alive after 30 s; output: ${out}`));
      }, 30_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    }).finally(() => dropping.stop());
    assert.equal(code, 0, out);
    const m = /pending=(\d+) failed=(\d+)/.exec(out);
    assert.ok(m, `unexpected child output: ${out}`);
    assert.equal(m[1], '1', 'the event was still being retried when the process exited');
    assert.ok(Number(m[2]) >= 2, 'it had been retried');
  });

  it('verifyWebhookSignature accepts the right signature and rejects tampered bodies, wrong secrets and malformed headers', () => {
    const body = enc('hello webhook');
    const sig = signWebhookBody(SECRET, body);
    assert.equal(sig, 'sha256=' + createHmac('sha256', SECRET).update(body).digest('hex'));
    assert.match(sig, /^sha256=[0-9a-f]{64}$/);
    assert.equal(verifyWebhookSignature(SECRET, body, sig), true);

    const tampered = Uint8Array.from(body);
    tampered[0] ^= 1;
    assert.equal(verifyWebhookSignature(SECRET, tampered, sig), false, 'tampered body');
    assert.equal(verifyWebhookSignature(SECRET, enc('hello webhook!'), sig), false, 'extended body');
    assert.equal(verifyWebhookSignature('other-secret', body, sig), false, 'wrong secret');
    assert.equal(verifyWebhookSignature(SECRET, body, undefined), false, 'missing header');
    assert.equal(verifyWebhookSignature(SECRET, body, ''), false, 'empty header');
    assert.equal(verifyWebhookSignature(SECRET, body, sig.slice('sha256='.length)), false, 'missing prefix');
    assert.equal(verifyWebhookSignature(SECRET, body, sig.slice(0, -2)), false, 'truncated');
    assert.equal(verifyWebhookSignature(SECRET, body, sig + '00'), false, 'too long');
    assert.equal(verifyWebhookSignature(SECRET, body, 'sha256=' + 'z'.repeat(64)), false, 'not hex');
    assert.equal(verifyWebhookSignature(SECRET, body, 'sha1=' + 'a'.repeat(40)), false, 'other algorithm');
  });
});
