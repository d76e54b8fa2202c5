import { Injectable } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { SubscriptionManager } from '../../../event-store';
import { TRANSLATOR_SUBSCRIPTION } from './callback-translator.subscription';

/**
 * Translates recorded callbacks again, after a fix to how they are read: from the start of the
 * log (the translator's own state is rebuilt), or from a time. What it derives carries the same
 * event ids as before, so only new or different facts are stored.
 */
@Injectable()
export class Retranslation {
  constructor(private readonly subscriptions: SubscriptionManager) {}

  /** Rewinds the translator, then runs it to the end of the log; returns the batches it ran. */
  async run(from?: Date): Promise<{ from: string; batches: number }> {
    const runner = this.subscriptions.runner(TRANSLATOR_SUBSCRIPTION);
    if (from) await runner.rewind(from);
    else await runner.reset();
    const batches = await runner.catchUp(24 * 60 * 60 * 1000);
    return { from: from ? from.toISOString() : 'start', batches };
  }
}

/** `npm run cli -- tracking:retranslate [--from ISO]`. */
@Command({
  name: 'tracking:retranslate',
  description:
    'Translate the recorded Gupshup callbacks again (with the sending events), from the start of the log or from --from; only new or different delivery events are stored',
})
export class RetranslateCommand extends CommandRunner {
  constructor(private readonly retranslation: Retranslation) {
    super();
  }

  async run(_: string[], options: { from?: Date }): Promise<void> {
    const result = await this.retranslation.run(options.from);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }

  @Option({ flags: '--from <time>', description: 'an ISO 8601 time: events written since then are translated again (default: the whole log, its state rebuilt)' })
  parseFrom(value: string): Date {
    const time = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime())) throw new Error(`--from must be an ISO 8601 time such as 2026-01-31T00:00:00Z, got "${value}"`);
    return time;
  }
}
