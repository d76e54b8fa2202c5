import { Command, CommandRunner, Option } from 'nest-commander';
import { AppsService, type AppSummary } from '../apps.service';

const COLUMNS: [heading: string, value: (app: AppSummary) => string][] = [
  ['NAME', (app) => app.name],
  ['API KEY', (app) => app.apiKey],
  ['ID', (app) => app.id],
  ['CREATED', (app) => app.createdAt],
];

/** Apps as a table of aligned columns, oldest first. */
export function appsTable(apps: AppSummary[]): string {
  const rows = [COLUMNS.map(([heading]) => heading), ...apps.map((app) => COLUMNS.map(([, value]) => value(app)))];
  const widths = COLUMNS.map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n');
}

/** `npm run cli -- apps:list [--json]`: the apps, never a secret. */
@Command({
  name: 'apps:list',
  description: 'List the apps (name, API key, id, creation time; never a secret), oldest first',
})
export class ListAppsCommand extends CommandRunner {
  constructor(private readonly apps: AppsService) {
    super();
  }

  async run(_: string[], options: { json?: boolean }): Promise<void> {
    let apps: AppSummary[];
    try {
      apps = await this.apps.list();
    } catch (error) {
      process.stderr.write(`apps:list: the apps could not be read: ${(error as Error).message}\n`);
      process.exitCode = 1;
      return;
    }
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ data: apps }, null, 2)}\n`);
      return;
    }
    if (!apps.length) {
      process.stdout.write('No apps yet: create one with npm run cli -- apps:create NAME\n');
      return;
    }
    process.stdout.write(`${appsTable(apps)}\n`);
  }

  @Option({ flags: '--json', description: 'print the same JSON as GET /admin/apps' })
  parseJson(): boolean {
    return true;
  }
}
