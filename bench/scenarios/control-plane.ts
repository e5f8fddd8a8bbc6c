// Control plane: (1) add-peer throughput — POST /room/:id/peer over HTTP/1.1 keep-alive with --concurrency
// requests in flight (one room per in-flight slot) for --seconds against the Shoal child process, with
// latency percentiles and the server's CPU; (2) token verifications/s in this process with
// PeerTokenService.verify (src/auth/peer-token.ts) over tokens the server minted in (1), one at a time and
// --concurrency at a time (both on one core: jose's HS256 goes through WebCrypto).
import http from 'node:http';
import { PeerTokenService } from '../../src/auth/peer-token.js';
import type { Flags } from '../lib/args.js';
import { cpuBetween, cpuSample, memory, MiB } from '../lib/proc.js';
import { fixed, percentile, table, type Progress } from '../lib/report.js';
import { machine, type Scenario } from '../lib/scenario.js';
import { ShoalProcess } from '../lib/shoal-process.js';

const usage = 'control-plane [--seconds 5] [--concurrency 64] [--smoke]';
const NODE_ID = 'shoal-bench';

function post(agent: http.Agent, port: number, path: string, token: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export const controlPlane: Scenario = {
  name: 'control-plane',
  summary: 'add-peer requests/s over HTTP (keep-alive, N in flight) and token verifications/s in-process',
  usage,
  flags: { seconds: 'number', concurrency: 'number', smoke: 'bool' },
  async run(f: Flags, progress: Progress) {
    const o = { seconds: (f.seconds as number | undefined) ?? 5, concurrency: (f.concurrency as number | undefined) ?? 64 };
    if (f.smoke) Object.assign(o, { seconds: 1, concurrency: 8 });
    if (!Number.isInteger(o.concurrency)) throw new Error('--concurrency takes an integer');
    const shoal = new ShoalProcess();
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
    try {
      await shoal.start({ env: { FJ_NODE_ID: NODE_ID } });
      const rooms = await Promise.all(Array.from({ length: o.concurrency }, () => shoal.createRoom()));
      const body = JSON.stringify({ type: 'webrtc', options: {} });
      // Warm-up: open the keep-alive connections and let the JIT settle.
      const warmEnd = performance.now() + 500;
      await Promise.all(rooms.map(async (room) => {
        while (performance.now() < warmEnd) await post(agent, shoal.httpPort, `/room/${room}/peer`, shoal.apiToken, body);
      }));

      // (1) add-peer over HTTP
      const latencies: number[] = [];
      const tokens: string[] = [];
      const statuses = new Map<number, number>();
      let transportErrors = 0;
      const before = cpuSample(shoal.pid);
      const end = before.t + o.seconds * 1000;
      const ticker = setInterval(() => {
        const c = cpuBetween(before, cpuSample(shoal.pid));
        progress.update(`control-plane add-peer: ${fixed(c.wall)}/${o.seconds} s, ${fixed(latencies.length / c.wall, 0)} req/s, server CPU ${fixed(c.serverCpuPercent)} %`);
      }, 1000);
      await Promise.all(
        rooms.map(async (room) => {
          while (performance.now() < end) {
            const t0 = performance.now();
            try {
              const r = await post(agent, shoal.httpPort, `/room/${room}/peer`, shoal.apiToken, body);
              latencies.push(performance.now() - t0);
              statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
              if (r.status === 201 && tokens.length < 10_000) tokens.push(JSON.parse(r.text).data.token);
            } catch {
              transportErrors++;
            }
          }
        }),
      );
      clearInterval(ticker);
      const cpu = cpuBetween(before, cpuSample(shoal.pid));
      const mem = memory(shoal.pid);
      const ok = statuses.get(201) ?? 0;
      const addPeer = {
        requests: latencies.length,
        ok,
        statuses: Object.fromEntries(statuses),
        transportErrors,
        wall: cpu.wall,
        perSec: ok / cpu.wall,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        serverCpuPercent: cpu.serverCpuPercent,
        serverUsPerRequest: ok > 0 ? (cpu.serverCpuSeconds * 1e6) / ok : NaN,
        clientCpuPercent: cpu.clientCpuPercent,
        otherCpuPercent: cpu.otherCpuPercent,
        rssMiB: mem.rss / MiB,
      };
      progress.done(`control-plane add-peer: ${fixed(addPeer.perSec, 0)} req/s`);
      if (tokens.length === 0) throw new Error(`no add-peer request succeeded: ${JSON.stringify(addPeer.statuses)}`);

      // (2) token verification in-process, over the server's own tokens
      const service = new PeerTokenService([shoal.secretKeyBase], NODE_ID, 86_400);
      const check = await service.verify(tokens[0]);
      if (!check.ok) throw new Error(`a token the server minted does not verify in-process: ${check.reason}`);
      const verifySeconds = Math.min(o.seconds, 3);
      const measureVerify = async (inFlight: number, label = '') => {
        let count = 0;
        let failed = 0;
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        const stop = t0 + verifySeconds * 1000;
        await Promise.all(
          Array.from({ length: inFlight }, async (_, lane) => {
            let i = lane;
            while (performance.now() < stop) {
              const r = await service.verify(tokens[i % tokens.length]);
              if (r.ok) count++;
              else failed++;
              i += inFlight;
            }
          }),
        );
        const wall = (performance.now() - t0) / 1000;
        const c = process.cpuUsage(c0);
        progress.update(`control-plane verify${label} (${inFlight} in flight): ${fixed(count / wall, 0)}/s`, true);
        return { inFlight, verified: count, failed, perSec: count / wall, cpuPercent: ((c.user + c.system) / 1e6 / wall) * 100, usPerVerify: ((c.user + c.system) / count) };
      };
      await measureVerify(1, ' warm-up');
      const verify = [await measureVerify(1), await measureVerify(o.concurrency)];
      progress.done();

      const header = ['operation', 'in flight', 'ok/s', 'p50 ms', 'p99 ms', 'CPU %', 'CPU µs/op', 'errors', 'gen CPU %', 'other CPU %'];
      const cells = [
        [
          'add-peer (HTTP, server process)',
          String(o.concurrency),
          fixed(addPeer.perSec, 0),
          fixed(addPeer.p50Ms, 2),
          fixed(addPeer.p99Ms, 2),
          fixed(addPeer.serverCpuPercent),
          fixed(addPeer.serverUsPerRequest),
          String(addPeer.requests - ok + transportErrors),
          fixed(addPeer.clientCpuPercent),
          fixed(addPeer.otherCpuPercent),
        ],
        ...verify.map((v) => [
          'token verify (in-process)',
          String(v.inFlight),
          fixed(v.perSec, 0),
          '–',
          '–',
          fixed(v.cpuPercent),
          fixed(v.usPerVerify, 2),
          String(v.failed),
          '–',
          '–',
        ]),
      ];
      return {
        title: `control plane (add-peer: ${o.seconds} s, ${o.concurrency} keep-alive connections, one room each, server RSS after ${fixed(addPeer.rssMiB, 0)} MiB; verify: ${verifySeconds} s over ${tokens.length} server-minted tokens; CPU % is of one core; ${machine()})`,
        table: table(header, cells),
        notes: [
          'P4 goals: ≥ 10k add-peer req/s, ≥ 100k token verifications/s.',
          ...(shoal.log.trim() !== '' ? [`server log (errors):\n${shoal.log.trim()}`] : []),
        ],
        result: { scenario: 'control-plane', addPeer, verify },
      };
    } catch (err) {
      if (shoal.log.trim() !== '') process.stderr.write(`server output:\n${shoal.log}\n`);
      throw err;
    } finally {
      agent.destroy();
      await shoal.stop();
    }
  },
};
