import { Injectable, type Provider } from '@nestjs/common';
import { InjectMetric, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';

export const CONSENT_REFUSALS = 'whatsapp_consent_refusals_total';
export const SUPPRESSION_CHANGES = 'whatsapp_suppression_changes_total';

export const consentMetricProviders: Provider[] = [
  makeCounterProvider({
    name: CONSENT_REFUSALS,
    help: 'Messages kept from Gupshup for consent, by code (opted_out, not_on_whatsapp, manual, outside_session_window) and stage (accept: discarded when the request came; dispatch: right before sending)',
    labelNames: ['code', 'stage'],
  }),
  makeCounterProvider({
    name: SUPPRESSION_CHANGES,
    help: 'Numbers suppressed or lifted, by change (suppressed, lifted; skipped: a suppression older than the number\'s latest lifting, not applied), reason and source (user_event, failed_callback, receipt, api)',
    labelNames: ['change', 'reason', 'source'],
  }),
];

@Injectable()
export class ConsentMetrics {
  constructor(
    @InjectMetric(CONSENT_REFUSALS) private readonly refusals: Counter<'code' | 'stage'>,
    @InjectMetric(SUPPRESSION_CHANGES) private readonly changes: Counter<'change' | 'reason' | 'source'>,
  ) {}

  refused(code: string, stage: 'accept' | 'dispatch'): void {
    this.refusals.inc({ code, stage });
  }

  suppressionChanged(change: 'suppressed' | 'lifted' | 'skipped', reason: string, source: string): void {
    this.changes.inc({ change, reason, source });
  }
}
