import { validate } from 'class-validator';
import { plainToInstance } from 'class-transformer';
import { Command, CommandRunner } from 'nest-commander';
import { AppsService } from '../apps.service';
import { CreateAppDto } from './create-app.dto';

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
    const dto = plainToInstance(CreateAppDto, { name });
    const errors = await validate(dto);
    if (errors.length) {
      process.stderr.write(`apps:create: ${errors.flatMap((e) => Object.values(e.constraints ?? {})).join('; ')}\n`);
      process.exitCode = 2;
      return;
    }
    try {
      const app = await this.apps.create(dto.name, 'cli');
      process.stdout.write(`${JSON.stringify(app, null, 2)}\n`);
    } catch (error) {
      process.stderr.write(`apps:create: the app could not be created: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  }
}
