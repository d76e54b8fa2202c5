import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import { decodeKeysetCursor, encodeKeysetCursor, invalidCursorError } from '../../common/keyset-cursor';
import { Database } from '../../database/database';
import { ConsentMetrics } from './consent.metrics';
import { listSuppressions, recordLifting, recordSuppression, type Suppression, type SuppressionPosition } from './consent-records';
import { SUPPRESSION_REASONS, WhatsAppNumberSuppressed } from './consent.events';
import { DEFAULT_SUPPRESSION_PAGE_SIZE, type ListSuppressionsParams, type PutSuppressionBody, type SuppressionPage } from './suppressions.dto';

/** The operators' side of suppressions: list, add, lift (`/v3/channels/whatsapp/suppressions`). */
@Injectable()
export class SuppressionsService {
  private readonly logger = new Logger('Consent');

  constructor(
    private readonly db: Database,
    private readonly metrics: ConsentMetrics,
  ) {}

  async list(appId: string, params: ListSuppressionsParams): Promise<SuppressionPage> {
    const limit = params.limit ?? DEFAULT_SUPPRESSION_PAGE_SIZE;
    const after = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
    // One more than asked for says whether there is a next page.
    const rows = await listSuppressions(this.db, appId, { phoneNumber: params.phoneNumber, after, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { data: page.map(shown), nextCursor: rows.length > limit ? encodeCursor(last) : null };
  }

  async suppress(appId: string, phoneNumber: string, body: PutSuppressionBody): Promise<Suppression> {
    const reason = body?.reason ?? 'manual';
    const recorded = await this.db.transaction((tx) =>
      recordSuppression(
        tx,
        new WhatsAppNumberSuppressed({
          appId,
          phoneNumber,
          reason,
          since: new Date().toISOString(),
          until: body?.until ? new Date(body.until).toISOString() : null,
          source: 'api',
          ...(body?.note ? { note: body.note } : {}),
        }),
      ),
    );
    this.metrics.suppressionChanged('suppressed', reason, 'api');
    this.logger.log({ message: `number suppressed (${reason}) through the API`, appId, reason, source: 'api' });
    // An operator's own suppression is always applied (recordSuppression); a fresh event id is never stored already.
    if (recorded.outcome !== 'recorded') throw new Error(`an operator's suppression was not recorded (${recorded.outcome})`);
    return shown(recorded.suppression);
  }

  async lift(appId: string, phoneNumber: string): Promise<void> {
    // Thrown inside the transaction: a DELETE that finds nothing to lift leaves no lifting time
    // behind to hold off a later-arriving suppression.
    const lifted = await this.db.transaction(async (tx) => {
      const reasons = await recordLifting(tx, { appId, phoneNumber, reasons: [...SUPPRESSION_REASONS], at: new Date().toISOString(), source: 'api' });
      if (reasons.length === 0) throw new NotFoundException(`${phoneNumber} is not suppressed for this app: GET /v3/channels/whatsapp/suppressions lists the numbers that are`);
      return reasons;
    });
    for (const reason of lifted) this.metrics.suppressionChanged('lifted', reason, 'api');
    this.logger.log({ message: `suppression lifted (${lifted.join(', ')}) through the API`, appId, reasons: lifted, source: 'api' });
  }
}

function shown(suppression: Suppression): Suppression {
  return { phoneNumber: suppression.phoneNumber, reason: suppression.reason, since: suppression.since, until: suppression.until, note: suppression.note };
}

function encodeCursor(position: SuppressionPosition): string {
  return encodeKeysetCursor([position.phoneNumber, position.reason]);
}

function decodeCursor(text: string): SuppressionPosition {
  const [phoneNumber, reason] = decodeKeysetCursor(text, 2);
  if (![phoneNumber, reason].every((part) => typeof part === 'string' && /^[+\w]{1,40}$/.test(part))) throw invalidCursorError();
  return { phoneNumber: phoneNumber as string, reason: reason as string };
}
