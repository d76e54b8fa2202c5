import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { AppConfig, ConfigError } from './config/app-config';
import { CliModule } from './cli.module';

/**
 * `npm run cli -- <command>`: the service's modules without HTTP, subscriptions or dispatch
 * workers, so that a command can run beside a running service on the same database.
 */
async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = AppConfig.fromEnv({ ...process.env, SUBSCRIPTIONS_ENABLED: 'false', DISPATCH_WORKERS: '0', LOG_LEVEL: process.env.LOG_LEVEL || 'warn' });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
  // Reverting applies nothing at start-up, so that a second revert undoes the migration before the last.
  if (process.argv[2] === 'migrations:revert') config = config.leavingSchemaAlone();
  await CommandFactory.run(CliModule.forRoot(config), {
    logger: ['error', 'warn'],
    // Usage lines name the command a user types, not this file.
    helpConfiguration: { commandUsage: (command) => `npm run cli -- ${command.parent ? `${command.name()} ` : ''}${command.usage()}` },
    errorHandler: (error) => {
      // Commander has written what there was to say (the help, or a usage error): only its exit code is left.
      const { code, exitCode } = error as Error & { code?: string; exitCode?: number };
      if (code?.startsWith('commander.') && typeof exitCode === 'number') process.exit(exitCode);
      console.error(error.message);
      process.exit(1);
    },
    // An error thrown inside a command must fail the process, not just be logged.
    serviceErrorHandler: (error) => {
      console.error(error.message);
      process.exit(1);
    },
  });
}

void main();
