import { Inject } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { DataSource } from 'typeorm';
import { SERVICE_DATA_SOURCE } from './service-data-source';

/**
 * `npm run migration:run`: the database module applies pending migrations whenever the service
 * or a command starts, so this command only reports where the schema stands.
 */
@Command({ name: 'migrations:run', description: 'Apply pending migrations and list the applied ones' })
export class RunMigrationsCommand extends CommandRunner {
  constructor(@Inject(SERVICE_DATA_SOURCE) private readonly dataSource: DataSource) {
    super();
  }

  async run(): Promise<void> {
    const applied = await this.dataSource.query<{ name: string }[]>('SELECT name FROM schema_migrations ORDER BY id');
    process.stdout.write(`schema up to date; applied migrations:\n${applied.map((m) => `  ${m.name}`).join('\n')}\n`);
  }
}

/** `npm run migration:revert`: undoes the most recent migration (its `down`). */
@Command({ name: 'migrations:revert', description: 'Undo the most recent migration' })
export class RevertMigrationCommand extends CommandRunner {
  constructor(@Inject(SERVICE_DATA_SOURCE) private readonly dataSource: DataSource) {
    super();
  }

  async run(): Promise<void> {
    const [last] = await this.dataSource.query<{ name: string }[]>('SELECT name FROM schema_migrations ORDER BY id DESC LIMIT 1');
    if (!last) {
      process.stdout.write('no migration to revert\n');
      return;
    }
    await this.dataSource.undoLastMigration({ transaction: 'each' });
    process.stdout.write(`reverted ${last.name}\n`);
  }
}
