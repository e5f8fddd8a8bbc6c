// Entry point: reads FJ_* configuration, starts Shoal, stops it on SIGINT/SIGTERM.
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { createLogger } from './log/logger.js';
import { startMetricsServer } from './metrics/metrics-server.js';
import { createShoal } from './server.js';

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
  const shoal = await createShoal(config, log);
  const port = await shoal.listen();
  const metricsServer = await startMetricsServer(shoal.metrics.registry, config.metricsIp, config.metricsPort).catch((err: Error) => {
    log.warn({ err: err.message }, 'metrics endpoint not started');
    return undefined;
  });
  log.info({ ip: config.ip, port, host: config.host, mode: config.mode }, 'Shoal is listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    metricsServer?.close();
    await shoal.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`Shoal crashed during start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
