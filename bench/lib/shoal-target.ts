// What a media scenario runs against: one Shoal process, or a cluster of N Shoal processes sharing one
// throwaway redis-server (FJ_REDIS_URL, distinct FJ_NODE_ID / FJ_HOST / ports, shared API token and key
// base; node i pinned to CPU i with taskset when it is installed). Rooms are created and peers added
// through ONE node (node 0), so the cluster's placement decides where each room lands and the rest is
// routed; peers connect to the address their add-peer answer names (the room's node).
// What it must not do: measure anything (bench/lib/media.ts does) or reach a Redis it did not start.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { RedisProcess } from './redis-process.js';
import { ShoalProcess, sleep, type ShoalStartOptions } from './shoal-process.js';

export interface ShoalTarget {
  /** Every server process (CPU, RSS and counters are summed over them). */
  readonly servers: ShoalProcess[];
  /** "1 node", "2-node cluster (node i on CPU i)" ... */
  readonly label: string;
  /** Creates a VP8 room through node 0; resolves with its id and the index of the node it landed on. */
  createRoom(): Promise<{ id: string; node: number }>;
  /** Adds a webrtc peer through node 0; its token and the ws:// base URL of the room's node. */
  addPeer(roomId: string): Promise<{ token: string; wsUrl: string }>;
  /** Error output of every server. */
  readonly log: string;
  stop(): Promise<void>;
}

export interface TargetOptions extends Pick<ShoalStartOptions, 'profileDir' | 'workers'> {
  /** Cluster nodes (each on the shared Redis, even 1); undefined runs a single node without Redis. */
  nodes?: number;
  /** Pin node i to CPU i mod CPUs (taskset); default: when there are 2+ nodes and taskset exists. */
  pin?: boolean;
}

export function tasksetAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).stdout?.trim() !== '';
}

class SingleNode implements ShoalTarget {
  readonly servers: ShoalProcess[];
  readonly label: string;

  constructor(private readonly shoal: ShoalProcess, workers: number | undefined) {
    this.servers = [shoal];
    this.label = workers ? `1 node, ${workers} media workers` : '1 node';
  }

  async createRoom() {
    return { id: await this.shoal.createRoom(), node: 0 };
  }

  addPeer(roomId: string) {
    return this.shoal.addPeerWithUrl(roomId);
  }

  get log() {
    return this.shoal.log;
  }

  stop() {
    return this.shoal.stop();
  }
}

class Cluster implements ShoalTarget {
  readonly servers: ShoalProcess[];
  readonly label: string;

  constructor(
    private readonly redis: RedisProcess,
    nodes: ShoalProcess[],
    pinned: boolean,
    workers: number | undefined,
  ) {
    this.servers = nodes;
    this.label = `${nodes.length}-node cluster${workers ? ` (${workers} media workers each)` : ''}${pinned ? ', node i pinned to CPU i (taskset)' : ', unpinned'}`;
  }

  private addressOf(host: string): number {
    const i = this.servers.findIndex((s) => `127.0.0.1:${s.httpPort}` === host);
    if (i < 0) throw new Error(`room placed on an unknown node ${host}`);
    return i;
  }

  async createRoom() {
    const data = (await this.servers[0]!.api('POST', '/room', { videoCodec: 'vp8' })).data;
    return { id: data.room.id as string, node: this.addressOf(String(data.fishjam_address)) };
  }

  addPeer(roomId: string) {
    return this.servers[0]!.addPeerWithUrl(roomId);
  }

  get log() {
    return this.servers.map((s, i) => (s.log.trim() === '' ? '' : `node ${i}:\n${s.log.trim()}\n`)).join('');
  }

  async stop() {
    await Promise.all(this.servers.map((s) => s.stop()));
    await this.redis.stop();
  }
}

/** Waits (≤ 20 s) until every node's /health counts all `n` nodes as up. */
async function waitForMembership(nodes: ShoalProcess[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const views = await Promise.all(
      nodes.map(async (s) => {
        const r = await fetch(`${s.httpUrl}/health`, { headers: { authorization: `Bearer ${s.apiToken}` }, signal: AbortSignal.timeout(5000) });
        return ((await r.json()) as { data: { distribution?: { nodesInCluster?: number } } }).data.distribution?.nodesInCluster ?? 0;
      }),
    );
    if (views.every((v) => v === nodes.length)) return;
    if (Date.now() > deadline) throw new Error(`cluster did not form within 20 s: nodes see ${views.join(', ')} of ${nodes.length}`);
    await sleep(100);
  }
}

export async function startTarget(o: TargetOptions): Promise<ShoalTarget> {
  const n = o.nodes ?? 1;
  if (o.nodes === undefined) {
    const shoal = new ShoalProcess();
    await shoal.start({ profileDir: o.profileDir, workers: o.workers });
    return new SingleNode(shoal, o.workers);
  }
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error('--nodes takes an integer 1–16');
  const pinned = o.pin ?? (n > 1 && tasksetAvailable());
  const cpus = availableParallelism();
  const redis = new RedisProcess();
  await redis.start();
  const shared = new ShoalProcess();
  const nodes = Array.from({ length: n }, () => new ShoalProcess({ apiToken: shared.apiToken, secretKeyBase: shared.secretKeyBase }));
  try {
    await Promise.all(
      nodes.map((s, i) =>
        s.start({
          profileDir: o.profileDir,
          workers: o.workers,
          cpus: pinned ? String(i % cpus) : undefined,
          env: { FJ_REDIS_URL: redis.url, FJ_NODE_ID: `bench-node-${i}` },
        }),
      ),
    );
    await waitForMembership(nodes);
  } catch (err) {
    await Promise.all(nodes.map((s) => s.stop()));
    await redis.stop();
    throw err;
  }
  return new Cluster(redis, nodes, pinned, o.workers);
}
