import { BENCH_ADMIN_TOKEN } from './service';

/** The Gupshup account every benchmark app is configured with (enableGupshup); the simulator accepts any key. */
export const BENCH_GUPSHUP = { apiKey: 'bench-gupshup-key-0001', source: '917834811114', srcName: 'BenchApp' };

export interface BenchApp {
  id: string;
  apiKey: string;
  apiSecret: string;
  /** Headers of the app API (X-ENGAGESPOT-API-KEY / -SECRET). */
  headers: Record<string, string>;
}

async function call<T>(url: string, init: RequestInit & { expect: number }): Promise<T> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (response.status !== init.expect) throw new Error(`${init.method ?? 'GET'} ${url} answered ${response.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Creates an app through the admin API. */
export async function createApp(serviceUrl: string, name: string): Promise<BenchApp> {
  const created = await call<{ id: string; apiKey: string; apiSecret: string }>(`${serviceUrl}/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
    expect: 201,
  });
  return {
    ...created,
    headers: { 'x-engagespot-api-key': created.apiKey, 'x-engagespot-api-secret': created.apiSecret },
  };
}

export interface GupshupProvider {
  enabled: boolean;
  /** Where Gupshup is to post the app's callbacks (with its token where the service gives one). */
  callbackUrl: string;
}

/** Enables the Gupshup provider for the app (to send to the simulator, which accepts any key). */
export async function enableGupshup(serviceUrl: string, app: BenchApp): Promise<GupshupProvider> {
  return call<GupshupProvider>(`${serviceUrl}/v3/channels/whatsapp/providers/gupshup_whatsapp`, {
    method: 'PUT',
    headers: { ...app.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ enabled: true, config: { API_KEY: BENCH_GUPSHUP.apiKey, SOURCE: BENCH_GUPSHUP.source, SRC_NAME: BENCH_GUPSHUP.srcName } }),
    expect: 200,
  });
}

export async function postJson<T>(url: string, headers: Record<string, string>, body: unknown, expect: number): Promise<T> {
  return call<T>(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body), expect });
}

/** The app's Gupshup provider as the service shows it, callback URL included. */
export async function gupshupProvider(serviceUrl: string, app: BenchApp): Promise<GupshupProvider> {
  return call<GupshupProvider>(`${serviceUrl}/v3/channels/whatsapp/providers/gupshup_whatsapp`, { headers: app.headers, expect: 200 });
}

export async function getJson<T>(url: string, headers: Record<string, string>): Promise<{ status: number; body: T | undefined }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as T) : undefined };
}
