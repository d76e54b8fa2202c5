import { Command, CommandRunner } from 'nest-commander';
import { ProjectionRebuilder, UnknownProjectionError } from './projection-rebuilder';

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
   * Prints one JSON line per projection rebuilt: events replayed, time taken, rate. Failures set
   * the exit code here (2: unknown name, 1: the rebuild failed): nest-commander only logs an error
   * thrown by a command.
   */
  async run([name]: string[]): Promise<void> {
    try {
      for (const result of await this.rebuilder.rebuild(name)) process.stdout.write(`${JSON.stringify(result)}\n`);
    } catch (error) {
      process.stderr.write(`projections:rebuild: ${(error as Error).message}\n`);
      process.exitCode = error instanceof UnknownProjectionError ? 2 : 1;
    }
  }
}
