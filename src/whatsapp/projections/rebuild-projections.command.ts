import { Command, CommandRunner } from 'nest-commander';
import { ProjectionRebuilder, UnknownProjectionError } from './projection-rebuilder';
import { ProgressBarReporter, ProgressLineReporter, type RebuildProgressReporter } from './rebuild-progress';

@Command({
  name: 'projections:rebuild',
  arguments: '[name]',
  description: 'Clears a projection (by its name or a table it builds; all of them when omitted) and replays the whole event log into it',
  argsDescription: { name: 'whatsapp_message_views, or one of its tables such as message_status_view' },
})
export class RebuildProjectionsCommand extends CommandRunner {
  constructor(private readonly rebuilder: ProjectionRebuilder) {
    super();
  }

  /**
   * Shows its progress as it goes (a bar on a terminal, lines otherwise), then prints one JSON
   * line per projection rebuilt: events replayed, time taken, rate. Failures set the exit code
   * here (2: unknown name, 1: the rebuild failed): nest-commander only logs an error thrown by a
   * command.
   */
  async run([name]: string[]): Promise<void> {
    const reporter: RebuildProgressReporter = process.stdout.isTTY ? new ProgressBarReporter(process.stdout) : new ProgressLineReporter(process.stdout);
    try {
      const results = await this.rebuilder.rebuild(name, { onProgress: (progress) => reporter.update(progress) });
      reporter.stop();
      for (const result of results) process.stdout.write(`${JSON.stringify(result)}\n`);
    } catch (error) {
      reporter.stop();
      process.stderr.write(`projections:rebuild: ${(error as Error).message}\n`);
      process.exitCode = error instanceof UnknownProjectionError ? 2 : 1;
    }
  }
}
