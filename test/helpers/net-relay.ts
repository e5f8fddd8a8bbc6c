// Delay and jitter per client and direction (this kernel has no netem): starts net-relay-tool.ts in
// Shoal's namespace on a second server address (RELAY_HOST, .3 of the topology) that Shoal advertises as
// its TURN address, so every client's media passes the relay (after the client's shaped veth) before it
// reaches Shoal's TURN port on .2. Set delays at run time with setDelay; 0 is a straight pass-through.
// It must not relay anything but the TURN ports it is given.
import { fileURLToPath } from 'node:url';
import { sh, type NetClient, type NetTopology } from './netns.js';
import { startInNamespace, type NsProcess } from './net-proc.js';
import type { Direction } from './net-link.js';

const TOOL = fileURLToPath(new URL('./net-relay-tool.ts', import.meta.url));
/** Last octet of the relay's address on the topology. */
export const RELAY_HOST = 3;

export interface DelayRelay {
  /** The address clients are given as Shoal's (TURN and candidate) address. */
  ip: string;
  ports: number[];
  setDelay(c: NetClient, dir: Direction, delayMs: number, jitterMs?: number): Promise<void>;
  stop(): void;
}

/** Starts the relay in front of Shoal's TURN `ports` (Shoal itself listens on the server's .2 address). */
export async function startDelayRelay(topo: NetTopology, ports: number[]): Promise<DelayRelay> {
  const ip = topo.server.ip.replace(/\.\d+$/, `.${RELAY_HOST}`);
  const present = await sh('ip', ['-n', topo.server.ns, '-o', 'addr', 'show', 'dev', topo.server.dev]);
  if (!present.includes(` ${ip}/`)) await sh('ip', ['-n', topo.server.ns, 'addr', 'add', `${ip}/24`, 'dev', topo.server.dev]);
  const proc: NsProcess = startInNamespace(topo.server.ns, TOOL, [ip, topo.server.ip, ports.join(',')], { stdin: true });
  try {
    const ready = await proc.nextLine(15_000, 'delay relay start');
    if (!ready.includes('"ready"')) throw new Error(`delay relay said ${ready}`);
  } catch (err) {
    proc.kill();
    throw err;
  }
  let chain = Promise.resolve();
  return {
    ip,
    ports,
    setDelay(c, dir, delayMs, jitterMs = 0) {
      // One command at a time, so each answer belongs to its command.
      const step = chain.then(async () => {
        proc.child.stdin!.write(`${JSON.stringify({ ip: c.ip, dir, delayMs, jitterMs })}\n`);
        const answer = await proc.nextLine(5000, 'delay relay setting');
        if (!answer.includes('"ok"')) throw new Error(`delay relay refused ${dir} ${delayMs}±${jitterMs} ms for ${c.name}: ${answer}`);
      });
      chain = step.catch(() => undefined);
      return step;
    },
    stop: () => proc.kill(),
  };
}
