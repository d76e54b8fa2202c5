import { Injectable } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import { Database } from '../../database/database';
import { EventLogRetention } from './event-log-retention';
import { importLogArchive } from './log-archive';
import { listLogPartitions } from './log-partitions';

const DAY_MS = 24 * 60 * 60 * 1000;

/** `npm run cli -- events:partitions [--all]`: the range partitions of the event log and what became of them. */
@Command({ name: 'events:partitions', description: 'List the event log partitions retired by time (raw callbacks, messages): range, state, events kept or exported, archive file' })
export class ListLogPartitionsCommand extends CommandRunner {
  constructor(private readonly db: Database) {
    super();
  }

  async run(_: string[], options: { all?: boolean }): Promise<void> {
    for (const partition of await listLogPartitions(this.db, { withDropped: options.all })) {
      process.stdout.write(
        `${JSON.stringify({
          parent: partition.parent,
          partition: partition.tableName,
          from: partition.from?.toISOString() ?? null,
          to: partition.to.toISOString(),
          state: partition.state,
          exportedEvents: partition.exportedEvents,
          file: partition.exportedFile,
          keepUntil: partition.keepUntil?.toISOString() ?? null,
        })}\n`,
      );
    }
  }

  @Option({ flags: '--all', description: 'the retired (dropped) partitions too' })
  parseAll(): boolean {
    return true;
  }
}

/** `npm run cli -- events:retire`: what the hourly retention run does, now. */
@Command({
  name: 'events:retire',
  description: 'Retire the event log partitions past RAW_CALLBACK_RETENTION_DAYS / MESSAGE_RETENTION_DAYS now: export each to EVENT_ARCHIVE_DIR, then drop it',
})
export class RetireLogPartitionsCommand extends CommandRunner {
  constructor(private readonly retention: EventLogRetention) {
    super();
  }

  async run(): Promise<void> {
    for (const retired of await this.retention.retire()) process.stdout.write(`${JSON.stringify(retired)}\n`);
  }
}

/** Loads archives back, for a rebuild of the views (`npm run cli -- projections:rebuild` after it). */
@Injectable()
export class LogArchiveImport {
  constructor(
    private readonly db: Database,
    private readonly retention: EventLogRetention,
  ) {}

  async load(files: string[], keepDays: number) {
    const keepUntil = new Date(Date.now() + keepDays * DAY_MS);
    const loads = [];
    for (const file of files) loads.push({ file, ...(await importLogArchive(this.db, file, { spanDays: this.retention.spanDays(), keepUntil })) });
    return loads;
  }
}

/** `npm run cli -- events:import FILE...`. */
@Command({
  name: 'events:import',
  arguments: '<files...>',
  description: 'Load exported event log partitions (.ndjson.gz) back into the log, e.g. before projections:rebuild; events already there are skipped',
})
export class ImportLogArchiveCommand extends CommandRunner {
  constructor(private readonly archives: LogArchiveImport) {
    super();
  }

  async run(files: string[], options: { keepDays?: number }): Promise<void> {
    for (const load of await this.archives.load(files, options.keepDays ?? 7)) {
      process.stdout.write(`${JSON.stringify({ file: load.file, partition: load.header.table, loaded: load.loaded, skipped: load.skipped })}\n`);
    }
  }

  @Option({ flags: '--keep-days <days>', description: 'days before the retention may retire the loaded events again (default 7)' })
  parseKeepDays(value: string): number {
    const days = Number(value);
    if (!Number.isFinite(days) || days < 0) throw new Error(`--keep-days must be a number of days (0 or more), got "${value}"`);
    return days;
  }
}
