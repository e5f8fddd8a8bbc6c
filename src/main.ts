// Entry point: reads FJ_* configuration, starts Shoal, drains and stops it on SIGINT/SIGTERM (a second
// signal exits at once). It is the server process itself: `npm start` runs it with node directly.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { createLogger } from './log/logger.js';
import { startMetricsServer } from './metrics/metrics-server.js';
import { createShoal, type Shoal } from './server.js';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`Shoal cannot start: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, config.structuredLogging);
  for (const w of config.warnings) log.warn(w);
  if (config.serverApiTokenGenerated) {
    // Printed once, on purpose: in development this is how the user learns the token.
    process.stdout.write(`\nDevelopment server API token (set FJ_SERVER_API_TOKEN to choose one): ${config.serverApiToken}\n\n`);
  }
  let shoal: Shoal;
  try {
    shoal = await createShoal(config, log);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`Shoal cannot start: ${err.message}\n`);
    process.exit(1);
  }
  let metricsServer: Server | undefined;

  // Installed before anything listens, so a signal during start-up is a shutdown too. First SIGTERM/SIGINT:
  // drain (in a cluster the rooms here first get up to FJ_CLUSTER_DRAIN_TIMEOUT_MS to finish; then peers
  // reconnect elsewhere, webhooks flush within FJ_DRAIN_TIMEOUT_MS), then exit; a second exits at once.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, drainTimeoutMs: config.drainTimeoutMs, clusterDrainTimeoutMs: config.cluster?.drainTimeoutMs }, 'shutting down');
    await shoal.drain(config.drainTimeoutMs);
    metricsServer?.close();
    await shoal.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  let port: number;
  try {
    port = await shoal.listen();
    metricsServer = await startMetricsServer(shoal.metrics.registry, config.metricsIp, config.metricsPort);
  } catch (err) {
    const busy = listenFailure(err, config);
    if (!busy) throw err;
    process.stderr.write(`Shoal cannot start: ${busy}\n`);
    await shoal.close().catch(() => {});
    process.exit(1);
  }
  log.info({ ip: config.ip, port, host: config.host, mode: config.mode }, 'Shoal is listening');
  const hostPort = (ip: string, p: number) => `${ip.includes(':') ? `[${ip}]` : ip}:${p}`;
  const metricsUrl = `http://${hostPort(config.metricsIp, (metricsServer.address() as AddressInfo).port)}/metrics`;
  log.info({ url: metricsUrl }, 'Prometheus metrics served');
  const api = `${config.tls ? 'https' : 'http'}://${hostPort(config.ip, port)}`;
  log.info({ openapi: `${api}/openapi.json`, docs: `${api}/docs` }, 'API description served');
}

/** One line for a port that cannot be bound (in use, not permitted, address not here), naming its variable. */
function listenFailure(err: unknown, config: Config): string | undefined {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  const reasons: Record<string, string> = { EADDRINUSE: 'is already in use', EACCES: 'may not be bound by this user', EADDRNOTAVAIL: 'is on an address this machine does not have' };
  const reason = e.code === undefined ? undefined : reasons[e.code];
  if (reason === undefined) return undefined;
  const port = e.port ?? Number(/:(\d+)\b/.exec(e.message)?.[1] ?? NaN);
  const ports: [number | undefined, string][] = [
    [config.port, 'FJ_PORT'],
    [config.metricsPort, 'FJ_METRICS_PORT'],
    [config.turnUdpPort, 'FJ_WEBRTC_TURN_PORT'],
    [config.turnTcpPort, 'FJ_WEBRTC_TURN_TCP_PORT'],
  ];
  for (let i = 1; i < config.mediaWorkers; i++) {
    ports.push([config.turnUdpPort + i, `FJ_WEBRTC_TURN_PORT (+${i}, media worker ${i})`]);
    if (config.turnTcpPort !== undefined) ports.push([config.turnTcpPort + i, `FJ_WEBRTC_TURN_TCP_PORT (+${i}, media worker ${i})`]);
  }
  const variable = ports.find(([p]) => p === port)?.[1];
  const where = e.address ? ` on ${e.address}` : '';
  return variable ? `port ${port} (${variable})${where} ${reason}` : `port ${Number.isNaN(port) ? '?' : port}${where} ${reason} (${e.message})`;
}

main().catch((err) => {
  process.stderr.write(`Shoal crashed during start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
