import { BadRequestException } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { validateInputSync } from '../../common/validation';
import { AppsService, type CreatedApp } from '../apps.service';
import { createAppBodySchema } from './create-app.dto';

/**
 * Creates an app (a tenant): the in-process form of POST /admin/apps, with its result (the API
 * secret appears only there). An invalid body fails with a BadRequestException naming the problem.
 */
export class CreateWhatsAppAppCommand extends Command<CreatedApp> {
  constructor(
    readonly body: { name: string },
    /** Recorded with the app's creation. */
    readonly via: 'admin-api' | 'command-bus' = 'command-bus',
  ) {
    super();
  }
}

@CommandHandler(CreateWhatsAppAppCommand)
export class CreateWhatsAppAppHandler implements ICommandHandler<CreateWhatsAppAppCommand, CreatedApp> {
  constructor(private readonly apps: AppsService) {}

  async execute({ body, via }: CreateWhatsAppAppCommand): Promise<CreatedApp> {
    const checked = validateInputSync(createAppBodySchema, body, { kind: 'body' });
    if (!checked.ok) throw new BadRequestException(checked.problems.join('; '));
    return this.apps.create(checked.value.name, via);
  }
}
