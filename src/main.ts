import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { createApp } from './bootstrap';
import { checkCanListen, listenConfigError } from './common/listen-check';
import { AppConfig, ConfigError } from './config/app-config';
import { DatabaseConnectError } from './database/database-connect-error';
import { startupBanner, startupFacts } from './startup-banner';

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = AppConfig.fromEnv(process.env);
    // Before the database is migrated and workers start: a port that cannot be had stops nothing but this.
    await checkCanListen(config.get('HOST'), config.get('PORT'));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const app = await createApp(config);
  const logger = new Logger('Main');
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    // A second signal while stopping changes nothing: the shutdown under way finishes.
    if (stopping) return;
    stopping = true;
    const started = performance.now();
    logger.log(`${signal} received: finishing work in flight, then stopping`);
    // A shutdown that hangs (a stuck request, an unreachable database) must still end.
    setTimeout(() => {
      logger.error(`shutdown took longer than SHUTDOWN_TIMEOUT_MS=${config.get('SHUTDOWN_TIMEOUT_MS')}; exiting`);
      process.exit(1);
    }, config.get('SHUTDOWN_TIMEOUT_MS')).unref();
    try {
      await app.close();
    } catch (error) {
      logger.error({ message: 'shutdown failed', signal, err: error });
      process.exit(1);
    }
    // Written once everything has closed, so that a stop can be told from a crash.
    logger.log({ message: 'stopped', signal, durationMs: Math.round(performance.now() - started) });
    // The logger writes asynchronously: its buffer is flushed on exit, which death by the signal would skip.
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, (received) => void stop(received));
  try {
    await app.listen(config.get('PORT'), config.get('HOST'));
  } catch (error) {
    // Taken since the check above: said the same way.
    console.error(listenConfigError(error, config.get('HOST'), config.get('PORT')).message);
    process.exit(78);
  }
  new Logger('Startup').log(startupBanner(startupFacts(app, config)));
}

main().catch((error: unknown) => {
  if (error instanceof DatabaseConnectError) {
    console.error(error.message);
    process.exit(error.exitCode);
  }
  console.error(`Failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
