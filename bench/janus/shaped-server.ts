// Debian's Janus (1.1.2) for the shaped-link neighbour bench: started inside the netns harness's server
// namespace (the position Shoal takes in bench/shaped-link.ts), with a configuration directory of its own
// (the system /etc/janus is not read): only the VideoRoom plugin and the HTTP transport, the HTTP API on the
// server address (reached by the bench process over its unshaped link), ICE host candidates on that same
// address only (no STUN/TURN, no IPv6, no ICE-TCP, half-trickle), and the knobs this bench varies
// (slowlink_threshold, nack_optimizations, twcc_period, min_nack_queue).
// It must not read or write /etc/janus, nor listen outside the server namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { awaitChildReady } from '../lib/child-server.js';
import { inNamespace } from '../../test/helpers/netns.js';
import { JANUS_BIN, JANUS_LIB } from './janus-server.js';

export interface ShapedJanusOptions {
  ns: string;
  ip: string;
  port?: number;
  /** Janus `slowlink_threshold`: lost packets per second that raise a `slow_link` event (0: never, Janus's default). */
  slowlinkThreshold?: number;
  /** Janus `nack_optimizations` (default false, as Janus). */
  nackOptimizations?: boolean;
  /** 0–7, default 3 (warnings). */
  debugLevel?: number;
}

export interface ShapedJanus {
  url: string;
  pid: number;
  settings: Record<string, unknown>;
  log(): string;
  stop(): Promise<void>;
}

export async function startShapedJanus(o: ShapedJanusOptions): Promise<ShapedJanus> {
  if (!existsSync(JANUS_BIN)) throw new Error(`${JANUS_BIN} not found: apt-get install -y janus`);
  const port = o.port ?? 8088;
  const dir = mkdtempSync(join(tmpdir(), 'janus-shaped-'));
  const conf = join(dir, 'conf');
  const plugins = join(dir, 'plugins');
  const transports = join(dir, 'transports');
  const none = join(dir, 'none');
  for (const d of [conf, plugins, transports, none]) mkdirSync(d);
  symlinkSync(join(JANUS_LIB, 'plugins', 'libjanus_videoroom.so'), join(plugins, 'libjanus_videoroom.so'));
  symlinkSync(join(JANUS_LIB, 'transports', 'libjanus_http.so'), join(transports, 'libjanus_http.so'));
  const settings = {
    slowlink_threshold: o.slowlinkThreshold ?? 0,
    nack_optimizations: o.nackOptimizations ?? false,
    twcc_period: 200,
    min_nack_queue: 200,
  };
  writeFileSync(
    join(conf, 'janus.jcfg'),
    `general: {
  configs_folder = "${conf}"
  plugins_folder = "${plugins}"
  transports_folder = "${transports}"
  events_folder = "${none}"
  loggers_folder = "${none}"
  debug_level = ${o.debugLevel ?? 3}
  debug_colors = false
  interface = "${o.ip}"
  server_name = "janus-shaped"
  session_timeout = 60
}
certificates: {
}
media: {
  ipv6 = false
  slowlink_threshold = ${settings.slowlink_threshold}
  nack_optimizations = ${settings.nack_optimizations}
  twcc_period = ${settings.twcc_period}
  min_nack_queue = ${settings.min_nack_queue}
}
nat: {
  nice_debug = false
  ice_enforce_list = "${o.ip}"
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
  port = ${port}
  ip = "${o.ip}"
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
  writeFileSync(join(conf, 'janus.plugin.videoroom.jcfg'), 'general: {\n}\n');
  const argv = inNamespace(o.ns, [JANUS_BIN, '-C', join(conf, 'janus.jcfg'), '-F', conf, '-o']);
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = `http://${o.ip}:${port}/janus`;
  try {
    await awaitChildReady(
      'janus',
      child,
      (t) => (output = (output + t).slice(-200_000)),
      () => output,
      async () => {
        const r = await fetch(url, { method: 'POST', body: JSON.stringify({ janus: 'info', transaction: 'start' }) });
        return r.ok && (await r.json()).janus === 'server_info';
      },
      20_000,
    );
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    settings,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
