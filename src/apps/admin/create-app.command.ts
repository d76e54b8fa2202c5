import { Command, CommandRunner } from 'nest-commander';
import { validateInputSync } from '../../common/validation';
import { AppConfig } from '../../config/app-config';
import { AppsService } from '../apps.service';
import { createAppBodySchema } from './create-app.dto';

/**
 * A command builds callback URLs from its own environment: with PUBLIC_BASE_URL unset it can only
 * assume the service's HOST and PORT are the ones it sees. Said on stderr, so that stdout stays JSON.
 */
export function callbackUrlAssumption(command: string, config: AppConfig): string | undefined {
  if (config.get('PUBLIC_BASE_URL')) return undefined;
  return (
    `${command}: PUBLIC_BASE_URL is unset, so callbackUrl assumes the service is reached at ${config.publicBaseUrl} ` +
    '(HOST and PORT as this command sees them). Run the command with the PUBLIC_BASE_URL the service has, ' +
    'or read the URL from the service: GET /v3/channels/whatsapp/providers/gupshup_whatsapp (or its admin twin under /admin/apps/{id})\n'
  );
}

/** `npm run cli -- apps:create NAME`: prints the same JSON as POST /admin/apps. */
@Command({
  name: 'apps:create',
  arguments: '<name>',
  description: 'Create an app and print its id, API key, secret (shown only now) and Gupshup callback URL (from PUBLIC_BASE_URL) as JSON',
})
export class CreateAppCommand extends CommandRunner {
  constructor(
    private readonly apps: AppsService,
    private readonly config: AppConfig,
  ) {
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
      const assumption = callbackUrlAssumption('apps:create', this.config);
      if (assumption) process.stderr.write(assumption);
    } catch (error) {
      process.stderr.write(`apps:create: the app could not be created: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
