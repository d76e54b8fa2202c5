import { Global, Module } from '@nestjs/common';
import { TemplateStatusTranslator } from './template-status.subscription';
import { TemplateMetrics, templateMetricProviders } from './template.metrics';
import { TemplatesController } from './templates.controller';
import { TemplatesService } from './templates.service';

/**
 * WhatsApp templates: the registry (/v3/channels/whatsapp/templates), each Gupshup template's
 * status from its template-events, and what sending needs of them. Global, so that sending
 * injects TemplatesService without importing this module (which registers a send gate there).
 */
@Global()
@Module({
  controllers: [TemplatesController],
  providers: [TemplatesService, TemplateStatusTranslator, TemplateMetrics, ...templateMetricProviders],
  exports: [TemplatesService, TemplateMetrics],
})
export class TemplatesModule {}
