/**
 * Template statuses as Gupshup reports them: a v2 `template-event` callback per change (GUPSHUP.md §2.4;
 * template events exist only in the v2 format), and how a send of a template in a blocking status fails.
 */
import { z } from 'zod';

export const TEMPLATE_STATUSES = ['approved', 'rejected', 'paused', 'disabled', 'deleted', 'pending'] as const;
export type SimulatedTemplateStatus = (typeof TEMPLATE_STATUSES)[number];

export const templateStatusSchema = z.strictObject({
  status: z.enum(TEMPLATE_STATUSES),
  reason: z.string().min(1).optional(),
  elementName: z.string().min(1).optional(),
  languageCode: z.string().min(1).optional(),
});
export type TemplateStatusChange = z.input<typeof templateStatusSchema>;

export function buildTemplateEventBody(appName: string, templateId: string, change: TemplateStatusChange, occurredAtMs: number): Record<string, unknown> {
  return {
    app: appName,
    timestamp: occurredAtMs,
    version: 2,
    type: 'template-event',
    payload: {
      id: templateId,
      status: change.status,
      ...(change.elementName ? { elementName: change.elementName } : {}),
      ...(change.languageCode ? { languageCode: change.languageCode } : {}),
      ...(change.reason ? { reason: change.reason } : {}),
    },
  };
}

/**
 * The failure a send of a template in this status gets: Gupshup accepts the request and reports the
 * failure in a callback (GUPSHUP.md §2.9). Null when the template can be sent.
 */
export function templateSendFailure(status: SimulatedTemplateStatus | undefined): { code: number; reason: string } | null {
  switch (status) {
    case 'paused':
      return { code: 4005, reason: 'Paused Template' };
    case 'disabled':
      return { code: 1004, reason: 'Template Disabled Failure' };
    case 'rejected':
    case 'deleted':
    case 'pending':
      return { code: 4003, reason: 'No Template Match' };
    default:
      return null;
  }
}
