import { buildCallbackBody } from '../../tools/simulator/callback-payloads';
import { BENCH_GUPSHUP } from './api';

/** A message the service has sent to the simulator, as the message view shows it. */
export interface SentMessage {
  messageId: string;
  phoneNumber: string;
  gupshupId: string;
  whatsappId: string;
  sentAtMs: number;
}

export interface Callback {
  body: string;
  message: SentMessage;
  status: 'delivered' | 'read';
}

/** A v2 receipt exactly as the simulator posts it (GUPSHUP.md §2.2–2.3). */
export function v2Callback(message: SentMessage, status: 'delivered' | 'read'): Callback {
  const occurredAtMs = message.sentAtMs + (status === 'delivered' ? 2_000 : 60_000);
  const body = buildCallbackBody(
    'v2',
    {
      gupshupMessageId: message.gupshupId,
      whatsappMessageId: message.whatsappId,
      destination: message.phoneNumber.replace(/^\+/, ''),
      appName: BENCH_GUPSHUP.srcName,
      appSource: BENCH_GUPSHUP.source,
      appId: '00000000-0000-4000-8000-000000000000',
      kind: 'session',
    },
    { status, occurredAtMs, omitGsId: false, v3FailedStyle: 'errors' },
  );
  return { body: JSON.stringify(body), message, status };
}

/** Delivered receipts in message order, each followed by the read receipt of a message `readLag` earlier. */
export function callbackSequence(messages: SentMessage[], readLag: number): Callback[] {
  const sequence: Callback[] = [];
  for (let m = 0; m < messages.length; m++) {
    sequence.push(v2Callback(messages[m], 'delivered'));
    if (m >= readLag) sequence.push(v2Callback(messages[m - readLag], 'read'));
  }
  for (let m = Math.max(0, messages.length - readLag); m < messages.length; m++) sequence.push(v2Callback(messages[m], 'read'));
  return sequence;
}
