import { Injectable, Logger } from '@nestjs/common';
import type { SqlExecutor } from '../../database/database';
import { EventStoreSubscription, type RecordedEvent, type SubscriptionHandler } from '../../event-store';
import { parseTemplateEvent } from '../gupshup/template-event-parser';
import { recordedBody, type GupshupCallbackReceivedData } from '../tracking/receiving/gupshup-callback-received.event';
import { TemplateMetrics } from './template.metrics';
import { TemplatesService } from './templates.service';

export const TEMPLATE_STATUS_SUBSCRIPTION = 'whatsapp_template_status';

/**
 * Turns the template-events among the recorded callbacks into template statuses, in log order:
 * a WhatsAppTemplateStatusChanged per change (its id derived from the callback, so reading the
 * log again stores nothing twice) and the status row the send checks read, in the transaction
 * that moves this subscription's checkpoint. Only callbacks that came with the app's callback
 * token count: the API key in the legacy URL is public, and a forged "paused" would stop sends.
 */
@Injectable()
@EventStoreSubscription()
export class TemplateStatusTranslator implements SubscriptionHandler {
  readonly subscriptionName = TEMPLATE_STATUS_SUBSCRIPTION;
  readonly eventTypes = ['GupshupCallbackReceived'];
  /** Template-events only (v2 `type`; a body kept as text is read to find out): the log holds mostly status callbacks. */
  readonly eventFilters = { GupshupCallbackReceived: [{ contains: { body: { type: 'template-event' } } }, { hasKey: 'bodyText' }] };
  private readonly logger = new Logger('WhatsAppTemplates');

  constructor(
    private readonly templates: TemplatesService,
    private readonly metrics: TemplateMetrics,
  ) {}

  async handle(events: RecordedEvent[], tx: SqlExecutor): Promise<void> {
    for (const recorded of events) {
      const data = recorded.data as unknown as GupshupCallbackReceivedData;
      const receivedAt = new Date(data.receivedAt);
      const parsed = parseTemplateEvent(recordedBody(data), receivedAt);
      if (parsed.kind === 'not-a-template-event') continue;
      const fields = { appId: data.appId, callbackEventId: recorded.eventId };
      if (parsed.kind === 'invalid') {
        this.logger.warn({ message: `template-event not applied: ${parsed.problem}`, ...fields });
        continue;
      }
      const { report } = parsed;
      if (!data.authenticated) {
        this.logger.warn({
          message: 'template-event on the legacy callback URL (no callback token) not applied: only Gupshup, with the token, may change a template\'s status',
          ...fields,
          gupshupTemplateId: report.gupshupTemplateId,
          status: report.status,
        });
        continue;
      }
      const changed = await this.templates.applyStatusReport(tx, data.appId, report, { eventId: recorded.eventId, receivedAt });
      if (!changed) continue;
      this.metrics.statusChanged(changed.data.status);
      this.logger.log({
        message: `template ${report.gupshupTemplateId} is now ${changed.data.status} (was ${changed.data.previousStatus})`,
        ...fields,
        gupshupTemplateId: report.gupshupTemplateId,
        status: changed.data.status,
        previousStatus: changed.data.previousStatus,
        ...(report.reason ? { reason: report.reason } : {}),
      });
    }
  }
}
