import { makeCounterProvider } from '@willsoto/nestjs-prometheus';

export const MESSAGES_CANCELLED = 'whatsapp_messages_cancelled_total';

export const cancellingMetricProviders = [
  makeCounterProvider({
    name: MESSAGES_CANCELLED,
    help: 'Messages discarded as cancelled before reaching Gupshup, by how they were cancelled (request, workflow)',
    labelNames: ['by'],
  }),
];
