// Every call goes to this service's /dashboard/api with the session cookie (HttpOnly: this code
// never sees it). The API is next to the page (/dashboard, or /{routePrefix}/dashboard in a host
// application), so its path is found from the page's own. Writes carry the header the server requires of them against cross-site requests.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const BASE = `${window.location.pathname.replace(/\/+$/, '')}/api`;

export async function api<T>(path: string, options: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-dashboard-request'] = '1';
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${BASE}${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON: the status alone says what happened.
  }
  if (!response.ok) {
    const message = (body as { message?: unknown } | undefined)?.message;
    throw new ApiError(response.status, typeof message === 'string' ? message : `The service answered ${response.status}`);
  }
  return body as T;
}

/** A query string from the filled-in values only. */
export function queryString(values: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value) params.set(name, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export interface Session {
  kind: 'app' | 'admin';
  app: { id: string; name: string; apiKey: string } | null;
  expiresAt: string;
}

export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'seen' | 'discarded';
export const MESSAGE_STATUSES: MessageStatus[] = ['queued', 'sent', 'delivered', 'seen', 'discarded'];

export interface TimelineEntry {
  status: MessageStatus;
  providerStatus?: string;
  at: string;
  receivedAt: string;
  code?: string;
  reason?: string;
}

export interface Message {
  messageId: string;
  requestId: string | null;
  recipient: string | null;
  phoneNumber: string | null;
  provider: string;
  providerMessageId: string | null;
  status: MessageStatus;
  queuedAt: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  seenAt: string | null;
  discardedAt: string | null;
  discardReason: { code: string; reason: string } | null;
  category: string | null;
  template: string | null;
  timeline: TimelineEntry[];
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
}
