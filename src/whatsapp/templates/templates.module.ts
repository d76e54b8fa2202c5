import { Global, Module, type OnModuleInit } from '@nestjs/common';
import { SendGates } from '../sending/dispatch/send-gates';
import { WhatsAppSendingModule } from '../sending/sending.module';
import { TemplateSendGate } from './template-send-gate';
import { TemplateStatusTranslator } from './template-status.subscription';
import { TemplateMetrics, templateMetricProviders } from './template.metrics';
import { TemplatesController } from './templates.controller';
import { TemplatesService } from './templates.service';

/**
 * WhatsApp templates: the registry (/v3/channels/whatsapp/templates), each Gupshup template's
 * status from its template-events, and what sending needs of them. Global, so that sending
 * injects TemplatesService without importing this module, which imports sending to register its
 * send gate.
 */
@Global()
@Module({
  imports: [WhatsAppSendingModule],
  controllers: [TemplatesController],
  providers: [TemplatesService, TemplateStatusTranslator, TemplateSendGate, TemplateMetrics, ...templateMetricProviders],
  exports: [TemplatesService, TemplateMetrics],
})
export class TemplatesModule implements OnModuleInit {
  constructor(
    private readonly gates: SendGates,
    private readonly templateGate: TemplateSendGate,
  ) {}

  /** A template that became rejected, paused, deleted, ... (BLOCKING_TEMPLATE_STATUSES) after its message was queued stops it before the call. */
  onModuleInit(): void {
    this.gates.register(this.templateGate);
  }
}
