import { Injectable, type Provider } from '@nestjs/common';
import { InjectMetric, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';

export const TEMPLATE_STATUS_CHANGES = 'whatsapp_template_status_changes_total';
export const TEMPLATE_DISCARDS = 'whatsapp_template_discards_total';

export const templateMetricProviders: Provider[] = [
  makeCounterProvider({
    name: TEMPLATE_STATUS_CHANGES,
    help: "Template statuses changed by Gupshup's template-events, by the new status",
    labelNames: ['status'],
  }),
  makeCounterProvider({
    name: TEMPLATE_DISCARDS,
    help: 'Template messages discarded before reaching Gupshup, by code (template_not_approved, template_param_missing, template_param_invalid) and stage (accept, dispatch)',
    labelNames: ['code', 'stage'],
  }),
];

/** Gupshup's template statuses (GUPSHUP.md §2.4); any other word is counted as `other`, so labels stay few. */
const STATUS_LABELS = new Set(['approved', 'rejected', 'paused', 'disabled', 'deleted', 'pending', 'in_appeal', 'flagged']);

@Injectable()
export class TemplateMetrics {
  constructor(
    @InjectMetric(TEMPLATE_STATUS_CHANGES) private readonly statusChanges: Counter<'status'>,
    @InjectMetric(TEMPLATE_DISCARDS) private readonly discards: Counter<'code' | 'stage'>,
  ) {}

  statusChanged(status: string): void {
    this.statusChanges.inc({ status: STATUS_LABELS.has(status) ? status : 'other' });
  }

  discarded(code: string, stage: 'accept' | 'dispatch', count = 1): void {
    if (count > 0) this.discards.inc({ code, stage }, count);
  }
}
