import request from 'supertest';
import type { GupshupSimulator } from '../../tools/simulator/gupshup-simulator';
import type { TestApp } from '../support/test-app';
import { createTenant, GUPSHUP_SOURCE, GUPSHUP_SRC_NAME, postNotification, putUser, startSendingApp, startSimulator, type TestTenant } from '../sending/sending-test-kit';

export const SUPPRESSIONS = '/v3/channels/whatsapp/suppressions';

/** The service's subscriptions run on their own, as in production: callbacks take effect a moment after the webhook's 200. */
export const CONSENT_ENV: Record<string, string> = { SUBSCRIPTIONS_ENABLED: 'true', SUBSCRIPTION_POLL_MS: '20' };

export interface ConsentService {
  simulator: GupshupSimulator;
  t: TestApp;
  close(): Promise<void>;
}

/** The simulator and the service, its subscriptions running, with `env` on top of CONSENT_ENV. */
export async function startConsentService(env: Record<string, string> = {}): Promise<ConsentService> {
  const simulator = await startSimulator();
  const t = await startSendingApp(simulator, { env: { ...CONSENT_ENV, ...env } });
  return {
    simulator,
    t,
    async close() {
      await t.close();
      await simulator.close();
    },
  };
}

/** A tenant whose Gupshup app (the simulator) posts its callbacks to the tenant's callback URL, in `format`. */
export async function createCallbackTenant(t: TestApp, simulator: GupshupSimulator, format: 'v2' | 'v3' = 'v2'): Promise<TestTenant> {
  const tenant = await createTenant(t, simulator);
  simulator.registerApp(tenant.gupshupApiKey, { source: GUPSHUP_SOURCE, srcName: GUPSHUP_SRC_NAME, callbackUrl: `${t.url}${tenant.callbackPath}`, callbackFormat: format });
  return tenant;
}

/** Posts a callback body to the tenant's callback URL (with its token), as Gupshup does. */
export async function postCallback(t: TestApp, tenant: TestTenant, body: unknown): Promise<void> {
  await request(t.url).post(tenant.callbackPath).set('Content-Type', 'application/json; charset=utf-8').send(JSON.stringify(body)).expect(200);
}

export interface SentMessage {
  messageId: string;
  status: string;
  discardReason?: { code: string; reason: string };
}

/** Sends one text notification to a user with this phone number; answers the message of the 202. */
export async function sendTo(t: TestApp, tenant: TestTenant, phoneNumber: string, body: Record<string, unknown> = {}): Promise<SentMessage> {
  const identifier = `user-${phoneNumber.slice(1)}`;
  await putUser(t, tenant, identifier, { phoneNumber });
  const res = await postNotification(t, tenant, { notification: { title: 'Hello', message: 'Your order shipped' }, sendTo: { recipients: [identifier] }, ...body }).expect(202);
  return res.body.messages[0] as SentMessage;
}

export function getMessage(t: TestApp, tenant: TestTenant, messageId: string) {
  return request(t.url).get(`/v3/messages/${messageId}`).set(tenant.headers);
}

export function suppressions(t: TestApp, tenant: TestTenant, query: Record<string, string> = {}) {
  return request(t.url).get(SUPPRESSIONS).query(query).set(tenant.headers);
}
