import { Injectable } from '@nestjs/common';
import { InjectMetric, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import type { CallbackVerdict } from './callback-token.service';

export const CALLBACK_AUTHENTICATIONS = 'whatsapp_callback_authentications_total';

export const callbackTokenMetricProviders = [
  makeCounterProvider({
    name: CALLBACK_AUTHENTICATIONS,
    help: 'Gupshup callbacks of known apps by how their URL authenticated them: authenticated (right token), legacy (no token, the app accepts the old URL) or refused (answered 401, nothing stored)',
    labelNames: ['verdict'],
  }),
];

@Injectable()
export class CallbackTokenMetrics {
  /** Bound once: counting is on every callback's path. */
  private readonly byVerdict: Record<CallbackVerdict, { inc(): void }>;

  constructor(@InjectMetric(CALLBACK_AUTHENTICATIONS) counter: Counter<string>) {
    this.byVerdict = {
      authenticated: counter.labels('authenticated'),
      legacy: counter.labels('legacy'),
      refused: counter.labels('refused'),
    };
  }

  count(verdict: CallbackVerdict): void {
    this.byVerdict[verdict].inc();
  }
}
