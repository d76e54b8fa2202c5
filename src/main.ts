import 'reflect-metadata';
import { Logger } from '@nestjs/common';
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
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.log(`${signal} received: finishing work in flight, then stopping`);
      // A shutdown that hangs (a stuck request, an unreachable database) must still end.
      setTimeout(() => {
        logger.error(`shutdown took longer than SHUTDOWN_TIMEOUT_MS=${config.get('SHUTDOWN_TIMEOUT_MS')}; exiting`);
        process.exit(1);
      }, config.get('SHUTDOWN_TIMEOUT_MS')).unref();
    });
  }
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
