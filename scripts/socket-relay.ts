// Measures what relaying a peer socket costs in a 2-node cluster on this machine (two Shoal processes, a
// real redis-server): the time from opening the socket to the `connected` event, on the owner vs through
// the other node (which relays it), and how long one peer's metadata update takes to reach another peer
// of the room on established sockets, both on the owner vs both relayed (p50/p99). Prints the numbers; asserts nothing.
// Run: node --import tsx scripts/socket-relay.ts [joins] [round-trips]
import { FORWARDED_HEADER } from '../src/api/cluster-routing.js';
import { API_TOKEN, SECRET } from '../test/helpers/server.js';
import { killShoalProcesses, spawnShoal } from '../test/helpers/shoal-process.js';
import { startRedis } from '../test/helpers/redis-server.js';
import { RawPeer } from '../test/helpers/raw-peer.js';
import { call, fmt } from './cluster-script.js';

const JOINS = Number(process.argv[2] ?? 200);
const TRIPS = Number(process.argv[3] ?? 500);


const redis = await startRedis();
const env = (id: string) => ({ FJ_REDIS_URL: redis.url, FJ_NODE_ID: id, FJ_SECRET_KEY_BASE: SECRET, FJ_CLUSTER_LEASE_MS: '3000' });
try {
  const a = await spawnShoal({ token: API_TOKEN, env: env('node-a') });
  const b = await spawnShoal({ token: API_TOKEN, env: env('node-b') });
  const room = await call(a.port, 'POST', '/room', { roomId: 'relay-bench', maxPeers: null }, { [FORWARDED_HEADER]: 'bench' });
  if (room.status !== 201) throw new Error(`create: ${room.status} ${JSON.stringify(room.json)}`);
  // B relays only to nodes it sees live: wait (bounded) until a relayed join works.
  const token = async () => (await call(a.port, 'POST', '/room/relay-bench/peer', { type: 'webrtc', options: {} })).json.data.token as string;
  for (let t0 = Date.now(); ; ) {
    const probe = new RawPeer(`ws://127.0.0.1:${b.port}`);
    const ok = await probe.join(await token(), null, 3000).then(() => true, () => false);
    probe.ws.terminate();
    if (ok) break;
    if (Date.now() - t0 > 15_000) throw new Error('relayed join never worked');
    await new Promise((r) => setTimeout(r, 200));
  }

  const joinTimes = async (port: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < JOINS; i++) {
      const t = await token();
      const t0 = performance.now();
      const p = new RawPeer(`ws://127.0.0.1:${port}`);
      await p.join(t, null, 10_000);
      out.push(performance.now() - t0);
      p.close();
      await p.waitClosed(10_000);
    }
    return out;
  };
  /** One peer's metadata update until another peer of the room hears it (both on `port`). */
  const tripTimes = async (port: number): Promise<number[]> => {
    const [x, y] = [new RawPeer(`ws://127.0.0.1:${port}`), new RawPeer(`ws://127.0.0.1:${port}`)];
    await x.join(await token(), { n: -1 }, 10_000);
    await y.join(await token(), null, 10_000);
    const out: number[] = [];
    for (let i = 0; i < TRIPS; i++) {
      const t0 = performance.now();
      x.sendEvent('updateEndpointMetadata', { metadata: { n: i } });
      await y.nextEvent('endpointUpdated', 10_000, (d) => d?.metadata?.n === i);
      out.push(performance.now() - t0);
    }
    for (const p of [x, y]) {
      p.close();
      await p.waitClosed(10_000);
    }
    return out;
  };

  await joinTimes(a.port); // warm-up both paths
  await joinTimes(b.port);
  console.log(`join (open → connected), on the owner:     ${fmt(await joinTimes(a.port))}`);
  console.log(`join (open → connected), relayed via B:     ${fmt(await joinTimes(b.port))}`);
  console.log(`metadata update peer → peer, on the owner: ${fmt(await tripTimes(a.port))}`);
  console.log(`metadata update peer → peer, both via B:   ${fmt(await tripTimes(b.port))}`);
} finally {
  killShoalProcesses();
  await redis.dispose();
}
