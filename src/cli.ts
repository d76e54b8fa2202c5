import 'reflect-metadata';
import { ConsoleLogger, type LogLevel } from '@nestjs/common';
import { CommandFactory } from 'nest-commander';
// Not re-exported by the package's index.
import type { CommandFactoryRunOptions } from 'nest-commander/src/command-factory.interface';
import { commandsOnlyModule } from './cli-commands';
import { createRootLogger, PinoLoggerService } from './common/logger';
import { AppConfig, ConfigError } from './config/app-config';
import { CliModule } from './cli.module';
import { DatabaseConnectError } from './database/database-connect-error';
import { DataDirInUseError } from './database/database.module';

/**
 * Nest's console lines, all on stderr: a command's stdout is its output alone (JSON that scripts parse).
 * Errors that stop the start-up are left to main(), which says them in one line.
 */
class StderrLogger extends ConsoleLogger {
  protected override printMessages(messages: unknown[], context?: string, logLevel?: LogLevel, _writeStreamType?: 'stdout' | 'stderr', errorStack?: unknown): void {
    if (context === 'ExceptionHandler') return;
    super.printMessages(messages, context, logLevel, 'stderr', errorStack);
  }
}

const runOptions: CommandFactoryRunOptions = {
  logger: new StderrLogger({ logLevels: ['error', 'warn'] }),
  // A failure while the modules start (the database, above all) rejects, for main() to report.
  abortOnError: false,
  // Usage lines name the command a user types, not this file.
  helpConfiguration: { commandUsage: (command) => `npm run cli -- ${command.parent ? `${command.name()} ` : ''}${command.usage()}` },
  errorHandler: (error) => {
    // Commander has written what there was to say (the help, or a usage error): only its exit code is left.
    const { code, exitCode } = error as Error & { code?: string; exitCode?: number };
    if (code?.startsWith('commander.') && typeof exitCode === 'number') process.exit(exitCode);
    console.error(error.message);
    process.exit(1);
  },
  // An error thrown inside a command (or by an option's parser) must fail the process, not just be logged.
  serviceErrorHandler: (error) => {
    console.error(error.message);
    process.exit(1);
  },
};

/**
 * Whether the arguments select a command to run. Help, and a usage error, are answered from the
 * commands alone: no configuration read, no database opened or started, no file written.
 */
async function selectsACommand(): Promise<boolean> {
  let selected = false;
  // Only the shape of the module tree is read (which commands it registers): nothing in it is built.
  const commands = await commandsOnlyModule(CliModule.forRoot(AppConfig.fromEnv({})), () => (selected = true));
  await CommandFactory.run(commands, runOptions);
  return selected;
}

/** The service's logger on stderr, for a command that runs; a start-up failure is left to main(), which says it in one line. */
class CommandLogger extends PinoLoggerService {
  override error(message: unknown, ...params: unknown[]): void {
    if (params.at(-1) === 'ExceptionHandler') return;
    super.error(message, ...params);
  }
}

/**
 * `npm run cli -- <command>`: the service's modules without HTTP, subscriptions or dispatch
 * workers, so that a command can run beside a running service on the same database.
 */
async function main(): Promise<void> {
  if (!(await selectsACommand())) return;
  let config: AppConfig;
  try {
    config = AppConfig.fromEnv({ ...process.env, SUBSCRIPTIONS_ENABLED: 'false', DISPATCH_WORKERS: '0', LOG_LEVEL: process.env.LOG_LEVEL || 'warn' }).forCommands();
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
    ...runOptions,
    // The service's log lines (an operator's resend or settle among them: ids as fields, JSON when
    // not on a terminal), all on stderr: a command's stdout is its output alone.
    logger: new CommandLogger(createRootLogger({ level: config.get('LOG_LEVEL'), format: config.get('LOG_FORMAT'), destination: process.stderr })),
  });
}

main().catch((error: unknown) => {
  // What the operator must fix is said in one line; anything else is a fault of the code, with its stack.
  if (error instanceof DatabaseConnectError) {
    console.error(error.message);
    process.exit(error.exitCode);
  }
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  if (error instanceof DataDirInUseError) {
    console.error(error.message);
    process.exit(1);
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
