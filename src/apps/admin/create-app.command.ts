import { Command, CommandRunner } from 'nest-commander';
import { validateInputSync } from '../../common/validation';
import { AppsService } from '../apps.service';
import { createAppBodySchema } from './create-app.dto';

/** `npm run cli -- apps:create NAME`: prints the same JSON as POST /admin/apps. */
@Command({
  name: 'apps:create',
  arguments: '<name>',
  description: 'Create an app and print its id, API key, secret (shown only now) and Gupshup callback URL as JSON',
})
export class CreateAppCommand extends CommandRunner {
  constructor(private readonly apps: AppsService) {
    super();
  }

  /** Failures set a non-zero exit code here: nest-commander only logs an error thrown by a command. */
  async run([name]: string[]): Promise<void> {
    const checked = validateInputSync(createAppBodySchema, { name }, { kind: 'body' });
    if (!checked.ok) {
      process.stderr.write(`apps:create: ${checked.problems.join('; ')}\n`);
      process.exitCode = 2;
      return;
    }
    try {
      const app = await this.apps.create(checked.value.name, 'cli');
      process.stdout.write(`${JSON.stringify(app, null, 2)}\n`);
    } catch (error) {
      process.stderr.write(`apps:create: the app could not be created: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
