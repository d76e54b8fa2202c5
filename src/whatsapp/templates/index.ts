export { TemplatesModule } from './templates.module';
export { TemplatesService } from './templates.service';
export { TemplateMetrics } from './template.metrics';
export { BLOCKING_TEMPLATE_STATUSES, UNKNOWN_TEMPLATE_STATUS, type RegisteredTemplate, type TemplateHeader } from './template-definition';
export { dataProblems, templateForRecipient, templateNotApproved, type TemplateDiscard } from './template-send-plan';
export {
  WhatsAppTemplateDeleted,
  WhatsAppTemplateSaved,
  WhatsAppTemplateStatusChanged,
  type WhatsAppTemplateDeletedData,
  type WhatsAppTemplateSavedData,
  type WhatsAppTemplateStatusChangedData,
} from './template-events';
