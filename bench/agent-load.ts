// Server CPU per agent stream, measured on a Shoal in its own process (node src/main.ts, /proc CPU time):
// "hear": one agent speaks (PCM16 16 kHz sent in real time), N agents hear it as PCM16 at RATE (Opus
// decode, protobuf, WebSocket per listener), against the same room with no listener; "speak": N agents
// each speak on their own track (queue, Opus encode, RTP into the Router) with nobody listening, against
// an idle server. Agents are the unmodified js-server-sdk 0.25.0 FishjamAgent in this process.
// Run: node --import tsx bench/agent-load.ts [--agents 20] [--seconds 10] [--rate 16000] [--workers 0]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { WebSocket } from 'ws';
import { FishjamClient, type FishjamAgent, type TrackId } from '@fishjam-cloud/js-server-sdk';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const AGENTS = arg('agents', 20);
const SECONDS = arg('seconds', 10);
const RATE = arg('rate', 16000);
const WORKERS = arg('workers', 0);
const TOKEN = 'bench-agent-token';
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** User+system CPU ms of process `pid` and its threads, from /proc. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

function tone(ms: number, phase: number): Buffer {
  const n = (16000 * ms) / 1000;
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(10000 * Math.sin((2 * Math.PI * 220 * (i + phase)) / 16000)), i * 2);
  return b;
}

/** Sends 100 ms of audio every 100 ms on `track` until stopped. */
function speak(agent: FishjamAgent, track: TrackId): () => void {
  let t = 0;
  agent.sendData(track, tone(200, 0)); // a little ahead, so the queue never runs dry
  const timer = setInterval(() => agent.sendData(track, tone(100, (t += 1600))), 100);
  return () => clearInterval(timer);
}

async function measure(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000)); // settle
  const start = cpuMs(pid);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  return (cpuMs(pid) - start) / SECONDS; // ms of CPU per second
}

async function main(): Promise<void> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', FJ_SERVER_API_TOKEN: TOKEN, FJ_PORT: String(port), FJ_WEBRTC_TURN_PORT: '0', FJ_WEBRTC_TURN_TCP_PORT: '0', FJ_METRICS_PORT: '0', FJ_MEDIA_WORKERS: String(WORKERS), FJ_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('Shoal is listening')) resolve();
      });
      child.once('exit', () => reject(new Error(`server exited:\n${out}`)));
    });
    const fishjam = new FishjamClient({ fishjamId: `http://127.0.0.1:${port}`, managementToken: TOKEN });
    const agents: FishjamAgent[] = [];
    const stops: (() => void)[] = [];
    const idle = await measure(child.pid!);

    // hear
    const room = await fishjam.createRoom();
    const speaker = (await fishjam.createAgent(room.id)).agent;
    agents.push(speaker);
    stops.push(speak(speaker, speaker.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 }).id));
    const oneSpeaker = await measure(child.pid!);
    let chunks = 0;
    for (let i = 0; i < AGENTS; i++) {
      const { agent } = await fishjam.createAgent(room.id, { output: { audioFormat: 'pcm16', audioSampleRate: RATE as 16000 } });
      agent.on('trackData', () => void chunks++);
      agents.push(agent);
    }
    const heardBefore = chunks;
    const withListeners = await measure(child.pid!);
    const heardPerSecond = (chunks - heardBefore) / (SECONDS + 1) / AGENTS;
    for (const stop of stops.splice(0)) stop();
    await fishjam.deleteRoom(room.id);

    // speak
    const room2 = await fishjam.createRoom();
    for (let i = 0; i < AGENTS; i++) {
      const { agent } = await fishjam.createAgent(room2.id, { subscribeMode: 'manual' });
      agents.push(agent);
      stops.push(speak(agent, agent.createTrack({ encoding: 'pcm16', sampleRate: 16000, channels: 1 }).id));
    }
    const speakers = await measure(child.pid!);
    for (const stop of stops) stop();
    for (const a of agents) a.disconnect();

    console.log(`agent streams, server CPU (Shoal process, FJ_MEDIA_WORKERS=${WORKERS}, ${SECONDS} s windows, node ${process.version})`);
    console.log('| case | server CPU ms per s | per agent stream |');
    console.log('|---|---:|---:|');
    console.log(`| idle server | ${idle.toFixed(1)} | |`);
    console.log(`| 1 agent speaking, nobody listening | ${oneSpeaker.toFixed(1)} | ${(oneSpeaker - idle).toFixed(2)} ms/s |`);
    console.log(`| + ${AGENTS} agents hearing it (pcm16 ${RATE / 1000} kHz; ${heardPerSecond.toFixed(1)} chunks/s each) | ${withListeners.toFixed(1)} | ${((withListeners - oneSpeaker) / AGENTS).toFixed(2)} ms/s per listener |`);
    console.log(`| ${AGENTS} agents speaking (pcm16 16 kHz), nobody listening | ${speakers.toFixed(1)} | ${((speakers - idle) / AGENTS).toFixed(2)} ms/s per speaker |`);
  } finally {
    child.kill('SIGKILL');
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
