import { Command, CommandRunner } from 'nest-commander';
import { ProjectionRebuilder } from './projection-rebuilder';

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

  /** Prints one JSON line per projection rebuilt: events replayed, time taken, rate. */
  async run([name]: string[]): Promise<void> {
    for (const result of await this.rebuilder.rebuild(name)) console.log(JSON.stringify(result));
  }
}
