import { Command, CommandRunner, Option } from 'nest-commander';
import { AppsService } from '../../../apps';
import { OutcomeUnknownResolver } from './outcome-unknown-resolver';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Gupshup's message ids are UUIDs (GUPSHUP.md): anything else is a mistyped or foreign id, never recorded. */
function checkGupshupMessageId(gupshupMessageId: string): string {
  const id = gupshupMessageId.trim();
  if (!UUID.test(id)) throw new Error(`"${gupshupMessageId}" is not a Gupshup messageId (a UUID, as in Gupshup's send answer or a callback's gsId)`);
  return id;
}

function checkMessageId(messageId: string): string {
  if (!UUID.test(messageId)) throw new Error(`"${messageId}" is not a message id (a UUID, as returned by POST /v3/notifications)`);
  return messageId;
}

/** `npm run cli -- dispatch:unknown [--app ID] [--limit N]`: messages parked as outcome_unknown, as JSON. */
@Command({
  name: 'dispatch:unknown',
  description: 'List messages whose Gupshup call may or may not have gone through (parked as outcome_unknown, not resent)',
})
export class ListOutcomeUnknownCommand extends CommandRunner {
  constructor(
    private readonly resolver: OutcomeUnknownResolver,
    private readonly apps: AppsService,
  ) {
    super();
  }

  async run(_: string[], options: { app?: string; limit?: number }): Promise<void> {
    // An id of no app would list nothing, as if that app had nothing parked.
    if (options.app !== undefined && !(await this.apps.findById(options.app))) {
      throw new Error(`no app has the id ${options.app}: npm run cli -- apps:list shows the apps and their ids`);
    }
    const jobs = await this.resolver.list({ appId: options.app, limit: options.limit });
    process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
  }

  @Option({ flags: '--app <appId>', description: 'only this app (its id, as apps:list shows it)' })
  parseApp(value: string): string {
    if (!UUID.test(value)) throw new Error(`--app must be the id of an app (a UUID, as npm run cli -- apps:list shows it), got "${value}"`);
    // Jobs keep app ids as text, in the lower case they were made in.
    return value.toLowerCase();
  }

  @Option({ flags: '--limit <count>', description: 'at most this many (default 100)' })
  parseLimit(value: string): number {
    const limit = Number(value);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new Error('--limit must be a whole number from 1 to 10000');
    return limit;
  }
}

/** `npm run cli -- dispatch:resend MESSAGE_ID`: send a parked message again (it may then arrive twice). */
@Command({
  name: 'dispatch:resend',
  arguments: '<messageId>',
  description: 'Send a message parked as outcome_unknown again, as a new attempt; only when Gupshup is known not to have it',
})
export class ResendOutcomeUnknownCommand extends CommandRunner {
  constructor(private readonly resolver: OutcomeUnknownResolver) {
    super();
  }

  async run([messageId]: string[]): Promise<void> {
    if (!(await this.resolver.resend(checkMessageId(messageId)))) throw new Error(`message ${messageId} is not parked as outcome_unknown, or Gupshup is already known to have it`);
    process.stdout.write(`message ${messageId} queued again\n`);
  }
}

/** `npm run cli -- dispatch:settle MESSAGE_ID GUPSHUP_MESSAGE_ID`: record a parked message as sent. */
@Command({
  name: 'dispatch:settle',
  arguments: '<messageId> <gupshupMessageId>',
  description: "Record a message parked as outcome_unknown as sent, with the messageId Gupshup gave it (from Gupshup's logs or a callback)",
})
export class SettleOutcomeUnknownCommand extends CommandRunner {
  constructor(private readonly resolver: OutcomeUnknownResolver) {
    super();
  }

  async run([messageId, gupshupMessageId]: string[]): Promise<void> {
    const providerId = checkGupshupMessageId(gupshupMessageId);
    if (!(await this.resolver.settleAsSent(checkMessageId(messageId), providerId))) {
      throw new Error(`message ${messageId} is not parked as outcome_unknown`);
    }
    process.stdout.write(`message ${messageId} recorded as sent (Gupshup messageId ${providerId})\n`);
  }
}

export const DispatchOperatorCommands = [ListOutcomeUnknownCommand, ResendOutcomeUnknownCommand, SettleOutcomeUnknownCommand];
