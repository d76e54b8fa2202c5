import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index on the event id, in every partition of the log. es_append_many looks for copies of
 * the ids it is given among the streams' stored events (an event stored twice is stored once);
 * through the streams' index that read every event of every stream of the append, a heap row
 * each, and it was the largest part of the callback translator's appends (46 µs of 181 an event,
 * bench/RESULTS.md, "2026-12-03, later"): the translator appends one event to each of hundreds of
 * message streams a batch, one batch after another, and its pace sets how soon callbacks show.
 * Through this index each id is one probe, mostly finding nothing; every append pays an index entry.
 */
export class EventIdIndex1764002400000 implements MigrationInterface {
  name = 'EventIdIndex1764002400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX es_events_event_id ON es_events (event_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX es_events_event_id`);
  }
}
