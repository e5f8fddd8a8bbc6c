// Runs Debian's Janus (`apt-get install janus`, /usr/bin/janus) as a child process for the fan-out bench, with a
// configuration directory written here (the system /etc/janus is not read):
//   - only the VideoRoom plugin and the HTTP transport are loaded (a private plugins/transports folder with
//     symlinks to the two .so files; event handlers and loggers point at an empty folder);
//   - HTTP API on 127.0.0.1:<free port>/janus, admin API off, plain (non-indented) JSON;
//   - ICE on this host only, no STUN/TURN, nice_debug off, IPv6 off, half-trickle (Janus puts its candidates in
//     its SDP). Janus never gathers loopback candidates (ice_enforce_list = "lo" or "127.0.0.1" is accepted but
//     yields no lo candidate), so the bench runs in a network namespace of its own (netns.ts) whose dummy
//     interface carries a test host address (JANUS_ICE_ADDRESS, 10.213.0.1), enforced with
//     ice_enforce_list = "<that address>" and also used as `interface`; the clients bind libdatachannel to the
//     same address. Traffic never touches this machine's real interfaces;
//   - log level 2 (errors) by default so logging does not cost CPU; colours off.
// CPU is read from /proc/<pid>/stat (utime+stime, all threads).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awaitChildReady } from '../lib/child-server.js';
import { freeTcpPort } from '../lib/shoal-process.js';

export const JANUS_BIN = process.env.JANUS_BIN ?? '/usr/bin/janus';
export const JANUS_LIB = process.env.JANUS_LIB ?? '/usr/lib/x86_64-linux-gnu/janus';

export interface JanusServerOptions {
  /** 0–7, default 2 (errors only). */
  debugLevel?: number;
  /** Janus `event_loops` (shared media loops); default: unset, one loop/thread per handle (Janus's default). */
  eventLoops?: number;
  /** Local UDP port range for ICE, e.g. "20000-40000"; default: any. */
  rtpPortRange?: string;
  /** ICE host address (default: JANUS_ICE_ADDRESS or this machine's first non-internal IPv4 address). */
  iceAddress?: string;
}

/**
 * The ICE host address: the test host address of the bench's own network namespace (see netns.ts).
 * Janus does not gather loopback candidates, and the machine's real interfaces are not bench targets.
 */
export function localIPv4(): string {
  if (process.env.JANUS_ICE_ADDRESS) return process.env.JANUS_ICE_ADDRESS;
  throw new Error('JANUS_ICE_ADDRESS is not set: run the Janus bench through ensureInNetns() (bench/janus/netns.ts)');
}

/** `janus --help` prints the version first: "Janus version: 1102 (1.1.2)". */
export function janusVersion(): string {
  try {
    const out = execFileSync(JANUS_BIN, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /Janus version:\s*\d+\s*\(([^)]+)\)/.exec(out)?.[1] ?? 'unknown';
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '');
    return /Janus version:\s*\d+\s*\(([^)]+)\)/.exec(out)?.[1] ?? 'unknown';
  }
}

export class JanusServer {
  private child: ChildProcess | undefined;
  private output = '';
  private dir = '';
  port = 0;
  /** The address Janus gathers its (only) host candidate on; bind the clients' PeerConnections to it too. */
  iceAddress = '';

  get pid(): number {
    return this.child!.pid!;
  }

  /** Base URL of the Janus HTTP API (POST here to create sessions). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/janus`;
  }

  get log(): string {
    return this.output;
  }

  async start(o: JanusServerOptions = {}): Promise<void> {
    if (!existsSync(JANUS_BIN)) throw new Error(`${JANUS_BIN} not found: install Debian's janus package (apt-get install -y janus)`);
    this.port = await freeTcpPort();
    this.iceAddress = o.iceAddress ?? localIPv4();
    this.dir = mkdtempSync(join(tmpdir(), 'janus-bench-'));
    const conf = join(this.dir, 'conf');
    const plugins = join(this.dir, 'plugins');
    const transports = join(this.dir, 'transports');
    const none = join(this.dir, 'none');
    for (const d of [conf, plugins, transports, none]) mkdirSync(d);
    symlinkSync(join(JANUS_LIB, 'plugins', 'libjanus_videoroom.so'), join(plugins, 'libjanus_videoroom.so'));
    symlinkSync(join(JANUS_LIB, 'transports', 'libjanus_http.so'), join(transports, 'libjanus_http.so'));
    writeFileSync(
      join(conf, 'janus.jcfg'),
      `general: {
  configs_folder = "${conf}"
  plugins_folder = "${plugins}"
  transports_folder = "${transports}"
  events_folder = "${none}"
  loggers_folder = "${none}"
  debug_level = ${o.debugLevel ?? 2}
  debug_colors = false
  interface = "${this.iceAddress}"
  server_name = "janus-bench"
  session_timeout = 60
${o.eventLoops ? `  event_loops = ${o.eventLoops}\n` : ''}}
certificates: {
}
media: {
  ipv6 = false
${o.rtpPortRange ? `  rtp_port_range = "${o.rtpPortRange}"\n` : ''}}
nat: {
  nice_debug = false
  ice_enforce_list = "${this.iceAddress}"
  full_trickle = false
  ice_lite = false
  ice_tcp = false
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
  broadcast = false
}
`,
    );
    writeFileSync(
      join(conf, 'janus.transport.http.jcfg'),
      `general: {
  json = "plain"
  base_path = "/janus"
  http = true
  port = ${this.port}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
cors: {
}
`,
    );
    // No static rooms: the bench creates its own through the API.
    writeFileSync(join(conf, 'janus.plugin.videoroom.jcfg'), 'general: {\n}\n');

    const child = spawn(JANUS_BIN, ['-C', join(conf, 'janus.jcfg'), '-F', conf, '-o'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    await awaitChildReady(
      'janus',
      child,
      (t) => (this.output += t),
      () => this.output,
      async () => {
        const r = await fetch(this.url, { method: 'POST', body: JSON.stringify({ janus: 'info', transaction: 'start' }) });
        return r.ok && (await r.json()).janus === 'server_info';
      },
      20_000,
    );
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}
