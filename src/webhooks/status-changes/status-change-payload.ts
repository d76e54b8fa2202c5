/** What a message's status change tells a customer's system (API.md, "Status webhooks to your systems"). */
export interface StatusChangeData {
  messageId: string;
  requestId: string | null;
  recipient: string | null;
  phoneNumber: string | null;
  status: string;
  previousStatus: string | null;
  providerMessageId: string | null;
  at: string;
  discardReason: { code: string; reason: string } | null;
  category: string | null;
  template: string | null;
}

export interface StatusChangePayload {
  type: string;
  timestamp: string;
  data: StatusChangeData;
}

/** The body, as JSON text: stored once and sent byte for byte on every attempt, so its signature stays checkable. */
export function statusChangeBody(type: string, data: StatusChangeData): string {
  const payload: StatusChangePayload = { type, timestamp: data.at, data };
  return JSON.stringify(payload);
}
