// FJ_MEDIA_DATAPLANE as a server process sees it: auto runs native when the addon loads (main thread and
// media workers alike, as the metrics say), falls back to js with exactly one warning when it does not,
// and an explicit native without the addon, or a bad value, stops the start with one clear line.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { killShoalProcesses, runToExit, spawnShoal } from '../helpers/shoal-process.js';

const MISSING = '/nonexistent/shoal_native.node';

after(() => killShoalProcesses());

/** The value of shoal_media_data_plane{plane} from the metrics URL the server logged. */
async function planeMetric(output: string): Promise<Record<string, number>> {
  const url = /Prometheus metrics served.*?(http:\/\/[\d.:]+\/metrics)/.exec(output)?.[1];
  assert.ok(url, `no metrics URL in:\n${output}`);
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
  const planes: Record<string, number> = {};
  for (const m of text.matchAll(/^shoal_media_data_plane\{plane="(\w+)"\} (\d+)$/gm)) planes[m[1]!] = Number(m[2]);
  return planes;
}

function startFailure(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return runToExit({ FJ_SERVER_API_TOKEN: 't', FJ_WEBRTC_TURN_PORT: '0', FJ_WEBRTC_TURN_TCP_PORT: '0', FJ_METRICS_PORT: '0', FJ_PORT: String(50000 + Math.floor(Math.random() * 9000)), ...env });
}

describe('FJ_MEDIA_DATAPLANE', () => {
  test('unset, with the addon built: native in the main thread and in media workers', async () => {
    for (const workers of ['0', '1']) {
      const p = await spawnShoal({ token: 't', env: { FJ_MEDIA_DATAPLANE: 'auto', FJ_MEDIA_WORKERS: workers } });
      try {
        assert.match(p.output(), /media data plane.*dataPlane[=":]+native/);
        assert.doesNotMatch(p.output(), /native data plane is not available/);
        assert.deepEqual(await planeMetric(p.output()), { native: 1, js: 0 });
        if (workers === '0') {
          // The TURN socket's batching and drop counters are exported (a client's STUN request below is one recvmmsg batch).
          const url = /Prometheus metrics served.*?(http:\/\/[\d.:]+\/metrics)/.exec(p.output())![1]!;
          const turnPort = Number(/TURN server listening.*udpPort=(\d+)/.exec(p.output())?.[1] ?? /"udpPort":(\d+)/.exec(p.output())?.[1]);
          const { createSocket } = await import('node:dgram');
          const udp = createSocket('udp4');
          const answered = new Promise((resolve) => udp.once('message', resolve));
          udp.send(Buffer.from('000100002112a442000000000000000000000000', 'hex'), turnPort, '127.0.0.1');
          await Promise.race([answered, new Promise((_, reject) => setTimeout(() => reject(new Error('no Binding response')), 5000))]);
          udp.close();
          const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
          assert.match(text, /^shoal_udp_receive_batches_total [1-9]/m);
          assert.match(text, /^shoal_udp_send_calls_total [1-9]/m);
          assert.match(text, /^shoal_udp_dropped_total\{reason="truncated"\} 0$/m);
        }
      } finally {
        p.child.kill('SIGKILL');
      }
    }
  });

  test('unset, without the addon: js, with one warning at start (workers do not repeat it)', async () => {
    const p = await spawnShoal({ token: 't', env: { FJ_MEDIA_DATAPLANE: 'auto', FJ_MEDIA_WORKERS: '2', SHOAL_NATIVE_ADDON: MISSING } });
    try {
      const warnings = p.output().split('\n').filter((l) => l.includes('native data plane is not available'));
      assert.equal(warnings.length, 1, p.output());
      assert.match(warnings[0]!, /TypeScript data plane/);
      assert.deepEqual(await planeMetric(p.output()), { native: 0, js: 1 });
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  test('js on request, even with the addon built', async () => {
    const p = await spawnShoal({ token: 't', env: { FJ_MEDIA_DATAPLANE: 'js' } });
    try {
      assert.deepEqual(await planeMetric(p.output()), { native: 0, js: 1 });
      assert.doesNotMatch(p.output(), /not available/);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  test('native on request without the addon stops the start with one line saying why', async () => {
    const { code, stderr } = await startFailure({ FJ_MEDIA_DATAPLANE: 'native', SHOAL_NATIVE_ADDON: MISSING });
    assert.equal(code, 1, stderr);
    assert.deepEqual(stderr.trim().split('\n'), [`Shoal cannot start: FJ_MEDIA_DATAPLANE: native was asked for but the native data plane cannot be loaded from ${MISSING}: it is not built (npm run build:native)`]);
  });

  test('an unknown value stops the start naming the variable', async () => {
    const { code, stderr } = await startFailure({ FJ_MEDIA_DATAPLANE: 'rust' });
    assert.equal(code, 1);
    assert.match(stderr, /^Shoal cannot start: FJ_MEDIA_DATAPLANE: expected native, js or auto, got "rust"/);
  });
});
