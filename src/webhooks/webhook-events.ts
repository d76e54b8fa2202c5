/** The event types an endpoint can subscribe to: one per message status, named as the status. */
export const MESSAGE_EVENT_TYPES = ['message.queued', 'message.sent', 'message.delivered', 'message.seen', 'message.discarded'] as const;
export type MessageEventType = (typeof MESSAGE_EVENT_TYPES)[number];

/** Sent by POST /v3/webhooks/{id}/test, whatever the endpoint's filter. */
export const TEST_EVENT_TYPE = 'webhook.test';

export function messageEventType(status: string): MessageEventType {
  return `message.${status}` as MessageEventType;
}
