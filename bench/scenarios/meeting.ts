// Meeting: R rooms × M peers; every peer publishes synthetic VP8 (~1 Mbit/s; opus too with --audio) and
// receives every other peer of its room, so the server forwards R × M × (M − 1) video streams. Peers of a
// room join and publish one after another (rooms in parallel); once every peer receives packets from all
// the others and a warm-up has passed, a window of --seconds measures server CPU/RSS, forwarded packets
// and the receivers' loss. With --nodes N the server is an N-node cluster on a throwaway redis-server
// (bench/lib/shoal-target.ts): rooms are created and peers added through node 0, each peer connects to its
// room's node, CPU and counters are summed over the nodes, and the result records where the rooms landed.
import { C5Peer } from '../clients/c5-peer.js';
import type { Flags } from '../lib/args.js';
import { measureWindow, peerErrors } from '../lib/media.js';
import { fixed, table, type Progress } from '../lib/report.js';
import { machine, type Scenario } from '../lib/scenario.js';
import { planeFlag, sleep, workersNote } from '../lib/shoal-process.js';
import { startTarget, type ShoalTarget } from '../lib/shoal-target.js';

const usage = 'meeting [--rooms 4] [--peers 4] [--seconds 10] [--warmup 2] [--audio] [--workers N] [--plane native|js|auto] [--nodes N [--no-pin]] [--profile DIR] [--smoke]';

export const meeting: Scenario = {
  name: 'meeting',
  summary: 'R rooms × M peers, all publishing video and receiving the others; server CPU, loss',
  usage,
  flags: { rooms: 'number', peers: 'number', seconds: 'number', warmup: 'number', audio: 'bool', profile: 'string', workers: 'number', plane: 'string', nodes: 'number', pin: 'bool', smoke: 'bool' },
  async run(f: Flags, progress: Progress) {
    const o = {
      rooms: (f.rooms as number | undefined) ?? 4,
      peers: (f.peers as number | undefined) ?? 4,
      seconds: (f.seconds as number | undefined) ?? 10,
      warmup: (f.warmup as number | undefined) ?? 2,
      audio: (f.audio as boolean | undefined) ?? false,
    };
    if (f.smoke) Object.assign(o, { rooms: 1, peers: 3, seconds: 3, warmup: 1 });
    if (!Number.isInteger(o.rooms) || !Number.isInteger(o.peers) || o.peers < 2) throw new Error('--rooms and --peers take integers, --peers ≥ 2');
    const mLines = o.audio ? 2 : 1;
    const plane = planeFlag(f.plane);
    const nodes = f.nodes as number | undefined;
    const peers: C5Peer[] = [];
    const rooms: string[] = [];
    /** Rooms per node, in node order. */
    const placement = Array.from({ length: nodes ?? 1 }, () => 0);
    let shoal: ShoalTarget | undefined;
    try {
      // --plane reaches the server(s) through the environment they inherit (startTarget takes no env), set
      // only while they start.
      const savedPlane = process.env.FJ_MEDIA_DATAPLANE;
      if (plane !== undefined) process.env.FJ_MEDIA_DATAPLANE = plane;
      try {
        shoal = await startTarget({ profileDir: f.profile as string | undefined, workers: f.workers as number | undefined, nodes, pin: f.pin as boolean | undefined });
      } finally {
        if (savedPlane === undefined) delete process.env.FJ_MEDIA_DATAPLANE;
        else process.env.FJ_MEDIA_DATAPLANE = savedPlane;
      }
      const target = shoal;
      const planes = [...new Set(await Promise.all(target.servers.map((s) => s.dataPlane())))];
      const dataPlane = planes.length === 1 ? planes[0]! : planes.join('+');
      const setupStart = performance.now();
      let ready = 0;
      // Rooms are created one after another (a cluster places each create after the previous one is
      // recorded; concurrent creates through one node may all pick the same node), then joined in parallel.
      for (let r = 0; r < o.rooms; r++) {
        const { id, node } = await target.createRoom();
        rooms.push(id);
        placement[node]!++;
      }
      await Promise.all(
        rooms.map(async (room, r) => {
          const mine: C5Peer[] = [];
          for (let i = 0; i < o.peers; i++) {
            const { token, wsUrl } = await target.addPeer(room);
            const p = new C5Peer({ wsUrl, token, name: `room${r}-peer${i}` });
            peers.push(p);
            mine.push(p);
            await p.join(30_000);
            await p.publish({ video: true, audio: o.audio }, 30_000);
            p.startSending({ audio: o.audio });
          }
          await Promise.all(
            mine.map(async (p) => {
              await p.waitUntil(
                () => (p.received.length >= (o.peers - 1) * mLines && p.received.every((c) => c.packets > 0) ? true : undefined),
                `packets from all ${o.peers - 1} other peers`,
                60_000,
              );
              progress.update(`meeting ${o.rooms}×${o.peers}: ${++ready}/${o.rooms * o.peers} peers receiving everyone`);
            }),
          );
        }),
      );
      const setupSeconds = (performance.now() - setupStart) / 1000;
      progress.update(`meeting ${o.rooms}×${o.peers}: all receiving after ${fixed(setupSeconds)} s; warm-up ${o.warmup} s`, true);
      await sleep(o.warmup * 1000);
      const w = await measureWindow(target.servers, peers, peers, o.seconds, progress, `meeting ${o.rooms}×${o.peers}`, o.rooms * o.peers * (o.peers - 1) * mLines);
      progress.done();
      const errors = peerErrors(peers);
      const streams = o.rooms * o.peers * (o.peers - 1) * mLines;
      const row = { rooms: o.rooms, peersPerRoom: o.peers, subscriberStreams: streams, setupSeconds, placement, dataPlane, ...w };
      const header = ['rooms × peers', 'sub streams', 'pub pkts/s', 'fwd pkts/s', 'server CPU %', 'CPU µs/fwd pkt', 'loss %', 'RSS MiB', 'setup s', 'gen CPU %', 'other CPU %'];
      const cells = [
        [
          `${o.rooms} × ${o.peers}`,
          String(streams),
          fixed(w.publishersSentPerSec, 0),
          fixed(w.forwardedPerSec, 0),
          fixed(w.serverCpuPercent),
          fixed(w.usPerForwardedPacket),
          fixed(w.reception.lossPercent, 2),
          fixed(w.rssMiB, 0),
          fixed(setupSeconds),
          fixed(w.clientCpuPercent),
          fixed(w.otherCpuPercent),
        ],
      ];
      return {
        title: `meeting (${o.rooms} rooms × ${o.peers} peers, each sending VP8 25 fps × 4 × 1200 B${o.audio ? ' + opus' : ''} and receiving the others; ${o.seconds} s window; ${dataPlane} data plane${plane === undefined ? '' : ` (asked: ${plane})`}; ${nodes === undefined ? workersNote(f.workers) : `${target.label}; CPU summed over the nodes; `}CPU % is of one core; ${machine()})`,
        table: table(header, cells),
        notes: [
          ...(plane !== undefined && plane !== 'auto' && dataPlane !== plane ? [`the server ran the ${dataPlane} data plane, not the ${plane} one asked for`] : []),
          ...(nodes === undefined ? [] : [`rooms per node (created through node 0): ${placement.join(', ')}`]),
          ...(errors.length > 0 ? [`client errors:\n  ${errors.join('\n  ')}`] : []),
          ...(shoal.log.trim() !== '' ? [`server log (errors):\n${shoal.log.trim()}`] : []),
        ],
        result: { scenario: 'meeting', plane: dataPlane, planeRequested: plane ?? null, audio: o.audio, workers: (f.workers as number | undefined) ?? 0, nodes: nodes ?? 1, cluster: nodes !== undefined, target: target.label, rows: [row] },
      };
    } catch (err) {
      if (shoal && shoal.log.trim() !== '') process.stderr.write(`server output:\n${shoal.log}\n`);
      throw err;
    } finally {
      for (const p of peers) p.close();
      await shoal?.stop();
    }
  },
};
