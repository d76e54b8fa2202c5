import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { ReadDatabase } from '../../../database/read-database';
import { dayRange, dayText } from './get-whatsapp-analytics.query';
import type { DiscardReasonsResponse } from './whatsapp-analytics.dto';

const DAY_MS = 86_400_000;

/** How many of the app's messages were discarded over [from, to] (UTC days), by discard code. */
export class GetWhatsAppDiscardReasonsQuery extends Query<DiscardReasonsResponse> {
  constructor(
    readonly appId: string,
    readonly from?: string,
    readonly to?: string,
    readonly now: Date = new Date(),
  ) {
    super();
  }
}

@QueryHandler(GetWhatsAppDiscardReasonsQuery)
export class GetWhatsAppDiscardReasonsHandler implements IQueryHandler<GetWhatsAppDiscardReasonsQuery, DiscardReasonsResponse> {
  constructor(private readonly db: ReadDatabase) {}

  async execute(query: GetWhatsAppDiscardReasonsQuery): Promise<DiscardReasonsResponse> {
    const { fromDay, toDay } = dayRange(query);
    // The partial index on (app_id, discard_code, ...) holds only discarded messages.
    const rows = await this.db.query<{ code: string; reason: string | null; count: number }>(
      `SELECT discard_code AS code, max(discard_reason) AS reason, count(*)::integer AS count
         FROM message_status_view
        WHERE app_id = $1 AND discard_code IS NOT NULL AND discarded_at >= $2::timestamptz AND discarded_at < $3::timestamptz
        GROUP BY discard_code
        ORDER BY count(*) DESC, discard_code`,
      [query.appId, new Date(fromDay).toISOString(), new Date(toDay + DAY_MS).toISOString()],
    );
    return { from: dayText(fromDay), to: dayText(toDay), data: rows.map((row) => ({ code: row.code, reason: row.reason ?? '', count: row.count })) };
  }
}
