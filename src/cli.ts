import 'reflect-metadata';
import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
import { AppConfig, ConfigError } from './config/app-config';
import { CliModule } from './cli.module';

/** Nest's console lines, all on stderr: a command's stdout is its output alone (JSON that scripts parse). */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel, _writeStreamType?: 'stdout' | 'stderr', errorStack?: unknown): void {
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

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
    logger: new StderrLogger({ logLevels: ['error', 'warn'] }),
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
