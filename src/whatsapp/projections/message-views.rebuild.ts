import type { SqlExecutor } from '../../database/database';
import { instantiateStoredEvent, type StoredEvent, type WholeStreamHandler, type WholeStreamRebuild } from '../../event-store';
import { applyAllToMessageView, emptyMessageView } from '../domain';
import { groupByMessage, messageRecordsJson, type ProjectedChange } from './message-batch';
import { insertMessageStatusRecords } from './message-status-row';
import { ViewCounters } from './view-counters';

/** The message views being rebuilt: a table of the rebuild's session, which no other session sees. */
const STAGED_MESSAGES = 'pg_temp.message_status_rebuild';

/**
 * A rebuild of the WhatsApp views from zero (see rebuildByStream). Each chunk of whole streams
 * is folded at once, a message with all its events, exactly as the live projection folds them,
 * and its rows go to a temporary table of the rebuild's session, without indexes and without
 * reading anything back; the counters are summed in memory (each message counts once, with its
 * final view, which is what the deltas of all its live batches add up to). install() then swaps
 * the result in, in one transaction: the views keep their old rows until then.
 */
export class MessageViewsRebuild implements WholeStreamRebuild {
  private readonly counters = new ViewCounters();

  private constructor(
    private readonly session: SqlExecutor,
    private readonly projection: WholeStreamHandler,
  ) {}

  static async start(session: SqlExecutor, projection: WholeStreamHandler): Promise<MessageViewsRebuild> {
    await session.query(`DROP TABLE IF EXISTS ${STAGED_MESSAGES}`);
    await session.query('CREATE TEMPORARY TABLE message_status_rebuild (LIKE message_status_view INCLUDING DEFAULTS)');
    return new MessageViewsRebuild(session, projection);
  }

  /** Folds at once; the rows are written behind the previous chunk's, while the caller reads and folds the next. */
  add(events: StoredEvent[]): Promise<void> {
    const byMessage = groupByMessage(events, instantiateStoredEvent, this.counters);
    const changes: ProjectedChange[] = [];
    for (const { events: messageEvents, lastStreamPosition } of byMessage.values()) {
      changes.push({ before: null, after: applyAllToMessageView(emptyMessageView(), messageEvents), lastStreamPosition });
    }
    this.counters.addChanges(changes);
    if (changes.length === 0) return Promise.resolve();
    return this.session.query(insertMessageStatusRecords(STAGED_MESSAGES), [messageRecordsJson(changes)]).then(() => undefined);
  }

  async install(tx: SqlExecutor): Promise<void> {
    await this.projection.reset(tx);
    await withIndexesBuiltAfter(tx, 'message_status_view', () => tx.query(`INSERT INTO message_status_view SELECT * FROM ${STAGED_MESSAGES}`));
    await this.counters.write(tx);
  }

  async close(): Promise<void> {
    await this.session.query(`DROP TABLE IF EXISTS ${STAGED_MESSAGES}`);
  }
}

/**
 * Fills `table` with its indexes that back no constraint dropped, then creates them again as they
 * were (same names and definitions, from the catalog): an index built from all its rows at once
 * is one sort, where rows inserted one by one each land on a random page of each index, which
 * was most of the database's time in a rebuild. The table must be locked by the caller's
 * transaction (truncated, here) so that nobody sees it without them.
 */
async function withIndexesBuiltAfter(tx: SqlExecutor, table: string, fill: () => Promise<unknown>): Promise<void> {
  const indexes = await tx.query<{ name: string; definition: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
      WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
      ORDER BY i.indexrelid`,
    [table],
  );
  for (const index of indexes) await tx.query(`DROP INDEX ${index.name}`);
  await fill();
  for (const index of indexes) await tx.query(index.definition);
}
