import { Injectable, Logger } from '@nestjs/common';
import type { ClaimedJob } from '../sending/dispatch/dispatch-jobs';
import { action } from '../sending/dispatch/dispatch-log';
import type { SendGate, SendGateVerdict } from '../sending/dispatch/send-gates';
import { TemplateMetrics } from './template.metrics';
import { templateNotApproved } from './template-send-plan';
import { templateStatusKey, TemplatesService } from './templates.service';

/**
 * Checks template messages right before they go to Gupshup: a template that became rejected,
 * paused, disabled or deleted (any BLOCKING_TEMPLATE_STATUSES) after its message was queued stops it (`template_not_approved`, no request).
 * One query for all the claimed jobs.
 */
@Injectable()
export class TemplateSendGate implements SendGate {
  readonly name = 'template_status';
  private readonly logger = new Logger('WhatsAppTemplates');

  constructor(
    private readonly templates: TemplatesService,
    private readonly metrics: TemplateMetrics,
  ) {}

  async check(jobs: readonly ClaimedJob[]): Promise<Map<string, SendGateVerdict>> {
    const verdicts = new Map<string, SendGateVerdict>();
    const templated = jobs.filter((job) => job.template !== undefined);
    if (templated.length === 0) return verdicts;
    const statuses = await this.templates.statuses(templated.map((job) => ({ appId: job.appId, gupshupTemplateId: job.template!.id })));
    for (const job of templated) {
      const status = statuses.get(templateStatusKey(job.appId, job.template!.id));
      if (status === undefined) continue;
      const refused = templateNotApproved({ identifier: job.content.template?.identifier ?? job.template!.id, gupshupTemplateId: job.template!.id, status });
      if (!refused) continue;
      verdicts.set(job.messageId, { reason: refused.code, detail: refused.reason });
      this.metrics.discarded(refused.code, 'dispatch');
      // The info `refused` line of a send gate: the dispatcher's warn `discard` line follows it.
      this.logger.log({
        message: `template message not sent: its template is ${status}`,
        appId: job.appId,
        messageId: job.messageId,
        requestId: job.requestId,
        gupshupTemplateId: job.template!.id,
        status,
        code: refused.code,
        ...action('refused'),
      });
    }
    return verdicts;
  }
}
