// Test "hosts" on this machine: a topology of Linux network namespaces for the shaped-link tests. One
// router namespace holds a bridge; Shoal's namespace, one namespace per client and the test process's own
// (root) namespace hang off it with veth pairs, all in one /24 of their own (10.237.X.0/24: X is locked per
// topology in /run/shoal-netns, so test processes running at once never share a subnet). Names carry the
// test process's pid; every namespace is removed on destroy(), on process exit, and by the stale sweep
// (namespaces of pids that no longer run). Link shaping lives in net-link.ts.
// It must not touch any interface it did not create, nor open servers on the machine's real interfaces.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const LOCK_DIR = '/run/shoal-netns';
const SUBNET_PREFIX = '10.237';
const NS_RE = /^shoal-(\d+)-\d+-[a-z0-9]+$/;
const ROOT_LINK_RE = /^shl(\d+)t\d+$/;

/** One client "host": its own namespace, one interface (eth0) to the router, nothing else. */
export interface NetClient {
  name: string;
  ns: string;
  ip: string;
  /** The client's interface inside its namespace (its egress is the client's uplink). */
  dev: 'eth0';
  /** The router-side end of the client's veth (its egress is the client's downlink). */
  routerDev: string;
}

export interface NetTopology {
  /** shoal-<pid>-<index>, the prefix of every namespace of this topology. */
  id: string;
  /** 10.237.X.0/24 */
  subnet: string;
  routerNs: string;
  server: { ns: string; ip: string; dev: 'eth0'; routerDev: 'srv' };
  /** The test process's address on the topology (root namespace, unshaped link to the router). */
  rootIp: string;
  rootDev: string;
  clients: NetClient[];
  client(name: string): NetClient;
  destroy(): Promise<void>;
}

/** Runs a command; on failure the error names the command and carries its stderr. */
export async function sh(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  try {
    if (opts.input !== undefined) return await runWithInput(cmd, args, opts.input, opts.timeoutMs ?? 10_000);
    const { stdout } = await run(cmd, args, { timeout: opts.timeoutMs ?? 10_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`);
  }
}

function runWithInput(cmd: string, args: string[], input: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stderr })) : resolve(stdout),
    );
    child.stdin!.end(input);
  });
}

/** Why the harness cannot run here (not root, no `ip netns`), or undefined when it can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `shoal-${process.pid}-99-probe`;
  try {
    await sh('ip', ['netns', 'add', probe]);
    await sh('ip', ['netns', 'del', probe]);
  } catch (err) {
    return `ip netns does not work here: ${(err as Error).message}`;
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listNamespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 10_000 })
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n !== '');
  } catch {
    return [];
  }
}

/** Kills what still runs inside `ns` (a Shoal or Chromium left behind), then deletes the namespace. */
function deleteNamespaceSync(ns: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 }).split(/\s+/).filter(Boolean);
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  } catch {
    /* no such namespace */
  }
  try {
    execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* already gone */
  }
}

function deleteRootLinkSync(dev: string): void {
  try {
    execFileSync('ip', ['link', 'del', dev], { stdio: 'ignore', timeout: 10_000 });
  } catch {
    /* gone with its peer's namespace */
  }
}

/** Removes namespaces, root-side links and subnet locks that test processes no longer running left behind. */
export function sweepStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const m = NS_RE.exec(ns);
    if (m && !alive(Number(m[1]))) {
      deleteNamespaceSync(ns);
      removed.push(ns);
    }
  }
  try {
    const links = JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8', timeout: 10_000 })) as { ifname: string }[];
    for (const { ifname } of links) {
      const m = ROOT_LINK_RE.exec(ifname);
      if (m && !alive(Number(m[1]))) deleteRootLinkSync(ifname);
    }
  } catch {
    /* ip -j unsupported: the links go with their namespaces anyway */
  }
  mkdirSync(LOCK_DIR, { recursive: true });
  for (let x = 1; x < 255; x++) {
    const owner = lockOwner(x);
    if (owner !== undefined && !alive(owner)) unlinkQuiet(lockPath(x));
  }
  return removed;
}

const lockPath = (x: number) => `${LOCK_DIR}/subnet-${x}`;

function lockOwner(x: number): number | undefined {
  try {
    return Number(readFileSync(lockPath(x), 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* not there */
  }
}

/** Claims a free /24 (O_EXCL lock file holding our pid); stale locks are removed by the sweep. */
function claimSubnet(): number {
  mkdirSync(LOCK_DIR, { recursive: true });
  const start = (process.pid % 254) + 1;
  for (let i = 0; i < 254; i++) {
    const x = ((start - 1 + i) % 254) + 1;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(lockPath(x), 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return x;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = lockOwner(x);
        if (owner !== undefined && !alive(owner)) unlinkQuiet(lockPath(x));
        else break;
      }
    }
  }
  throw new Error(`no free ${SUBNET_PREFIX}.X.0/24 subnet (locks in ${LOCK_DIR})`);
}

// Everything this process created, for the exit sweep.
const live = new Map<string, { namespaces: string[]; rootDev: string; subnet: number }>();
let exitHooked = false;

function destroySync(id: string): void {
  const t = live.get(id);
  if (!t) return;
  live.delete(id);
  for (const ns of t.namespaces) deleteNamespaceSync(ns);
  deleteRootLinkSync(t.rootDev);
  if (lockOwner(t.subnet) === process.pid) unlinkQuiet(lockPath(t.subnet));
}

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', () => {
    for (const id of [...live.keys()]) destroySync(id);
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      for (const id of [...live.keys()]) destroySync(id);
      process.off(signal, onSignal);
      // Keep the default outcome of the signal when nobody else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

let topologyCount = 0;

/**
 * Creates router, server and client namespaces (`clients`: short lower-case names) wired to one bridge,
 * with the test process's root namespace attached too (unshaped). Addresses: root .1, server .2,
 * clients .10, .11, … in order. Links start clean (no shaping, no loss).
 */
export async function createTopology(o: { clients: string[] }): Promise<NetTopology> {
  for (const name of o.clients) if (!/^[a-z0-9]{1,8}$/.test(name)) throw new Error(`client name "${name}": 1-8 of [a-z0-9]`);
  if (new Set(o.clients).size !== o.clients.length) throw new Error('client names must be distinct');
  if (o.clients.length > 200) throw new Error('at most 200 clients');
  hookExit();
  sweepStaleNamespaces();
  const index = topologyCount++;
  const x = claimSubnet();
  const id = `shoal-${process.pid}-${index}`;
  const subnet = `${SUBNET_PREFIX}.${x}`;
  const routerNs = `${id}-r`;
  const serverNs = `${id}-srv`;
  const rootDev = `shl${process.pid}t${index}`;
  const clients: NetClient[] = o.clients.map((name, i) => ({ name, ns: `${id}-${name}`, ip: `${subnet}.${10 + i}`, dev: 'eth0', routerDev: `c-${name}` }));
  const record = { namespaces: [routerNs, serverNs, ...clients.map((c) => c.ns)], rootDev, subnet: x };
  live.set(id, record);
  try {
    for (const ns of record.namespaces) {
      await sh('ip', ['netns', 'add', ns]);
      await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await sh('ip', ['-n', routerNs, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh('ip', ['-n', routerNs, 'link', 'set', 'br0', 'up']);
    // Root namespace: the test process reaches Shoal's REST API and sockets over this link.
    await sh('ip', ['link', 'add', rootDev, 'type', 'veth', 'peer', 'name', 'up0', 'netns', routerNs]);
    await attach(routerNs, 'up0');
    await sh('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', rootDev]);
    await sh('ip', ['link', 'set', rootDev, 'up']);
    await plug(routerNs, 'srv', serverNs, `${subnet}.2`);
    for (const c of clients) await plug(routerNs, c.routerDev, c.ns, c.ip);
  } catch (err) {
    destroySync(id);
    throw err;
  }
  return {
    id,
    subnet: `${subnet}.0/24`,
    routerNs,
    server: { ns: serverNs, ip: `${subnet}.2`, dev: 'eth0', routerDev: 'srv' },
    rootIp: `${subnet}.1`,
    rootDev,
    clients,
    client(name) {
      const c = clients.find((k) => k.name === name);
      if (!c) throw new Error(`no client "${name}" in ${id}`);
      return c;
    },
    destroy: async () => destroySync(id),
  };
}

async function attach(routerNs: string, dev: string): Promise<void> {
  await sh('ip', ['-n', routerNs, 'link', 'set', dev, 'master', 'br0']);
  await sh('ip', ['-n', routerNs, 'link', 'set', dev, 'up']);
}

/** A veth from the router's bridge (`routerDev`) to `ns` (eth0 there, with `ip`/24). */
async function plug(routerNs: string, routerDev: string, ns: string, ip: string): Promise<void> {
  await sh('ip', ['-n', routerNs, 'link', 'add', routerDev, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  await attach(routerNs, routerDev);
  await sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
  await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
}

/** argv that runs `argv` inside namespace `ns`. */
export function inNamespace(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}
