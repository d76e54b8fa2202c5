import { parseGupshupCallback } from '../../src/whatsapp/gupshup/callback-parser';
import { buildCallbackBody, buildV2Callback, buildV3Callback, newWhatsAppMessageId, type CallbackEvent, type CallbackMessageContext } from './callback-payloads';

const context: CallbackMessageContext = {
  gupshupMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
  whatsappMessageId: 'gBEGkYaYVSEEAgnZxQ3JmKK6Wvg',
  destination: '919876543210',
  appName: 'DemoAPI',
  appSource: '917834811114',
  appId: '82ed52f4-30c0-4f12-81b4-e7ad07bd41de',
  kind: 'session',
};
const at = 1710930461234;
const event = (status: CallbackEvent['status'], extra: Partial<CallbackEvent> = {}): CallbackEvent => ({
  status,
  occurredAtMs: at,
  omitGsId: false,
  v3FailedStyle: 'errors',
  ...extra,
});

describe('v2 callback bodies', () => {
  it('builds enqueued as documented', () => {
    expect(buildV2Callback(context, event('enqueued'))).toEqual({
      app: 'DemoAPI',
      timestamp: at,
      version: 2,
      type: 'message-event',
      payload: {
        id: context.gupshupMessageId,
        type: 'enqueued',
        destination: '919876543210',
        payload: { whatsappMessageId: context.whatsappMessageId, type: 'session' },
      },
    });
  });

  it('builds DLRs with the WhatsApp id in id, Gupshup id in gsId and ts in seconds', () => {
    expect(buildV2Callback(context, event('read'))).toEqual({
      app: 'DemoAPI',
      timestamp: at,
      version: 2,
      type: 'message-event',
      payload: { id: context.whatsappMessageId, gsId: context.gupshupMessageId, type: 'read', destination: '919876543210', payload: { ts: 1710930461 } },
    });
    const sent = buildV2Callback(context, event('sent')).payload as Record<string, unknown>;
    expect(sent.conversation).toMatchObject({ type: 'service', expiresAt: 1710930461 + 86400 });
    expect(sent.pricing).toEqual({ policy: 'CBP', category: 'service' });
  });

  it('builds sync and async failures with the right ids and a numeric code', () => {
    const sync = buildV2Callback(context, event('failed', { failure: { code: '1002', reason: 'Number Does Not Exist On WhatsApp', stage: 'sync' } }));
    expect(sync.payload).toEqual({
      id: context.gupshupMessageId,
      type: 'failed',
      destination: '919876543210',
      payload: { code: 1002, reason: 'Number Does Not Exist On WhatsApp' },
    });
    const async = buildV2Callback(context, event('failed', { failure: { code: 470, reason: 'late', stage: 'async' } }));
    expect(async.payload).toMatchObject({ id: context.whatsappMessageId, gsId: context.gupshupMessageId, payload: { code: 470, reason: 'late' } });
  });

  it('leaves gsId out of late DLRs only', () => {
    expect(buildV2Callback(context, event('delivered', { omitGsId: true })).payload).not.toHaveProperty('gsId');
    expect(buildV2Callback(context, event('enqueued', { omitGsId: true })).payload).toMatchObject({ id: context.gupshupMessageId });
  });
});

describe('v3 callback bodies', () => {
  it('builds a status in the Meta envelope with gs_id, string seconds and metadata', () => {
    const body = buildV3Callback({ ...context, whatsappMessageId: 'wamid.X' }, event('delivered'));
    expect(body).toMatchObject({
      object: 'whatsapp_business_account',
      gs_app_id: context.appId,
      entry: [
        {
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '917834811114' },
                statuses: [{ gs_id: context.gupshupMessageId, id: 'wamid.X', recipient_id: '919876543210', status: 'delivered', timestamp: '1710930461' }],
              },
            },
          ],
        },
      ],
    });
  });

  it('gives enqueued a numeric millisecond timestamp and no metadata', () => {
    const value = (buildV3Callback(context, event('enqueued')).entry as { changes: { value: Record<string, unknown> }[] }[])[0].changes[0].value;
    expect(value.metadata).toBeUndefined();
    expect((value.statuses as Record<string, unknown>[])[0].timestamp).toBe(at);
  });

  it('writes failures as errors[] or flat code/reason', () => {
    const failure = { code: 131047, reason: 'Re-engagement message', stage: 'async' as const };
    const statusOf = (body: Record<string, unknown>) =>
      ((body.entry as { changes: { value: { statuses: Record<string, unknown>[] } }[] }[])[0].changes[0].value.statuses[0]);
    expect(statusOf(buildV3Callback(context, event('failed', { failure }))).errors).toEqual([
      { code: 131047, href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/', title: 'Re-engagement message' },
    ]);
    expect(statusOf(buildV3Callback(context, event('failed', { failure, v3FailedStyle: 'flat' })))).toMatchObject({ code: '131047', reason: 'Re-engagement message' });
  });
});

describe('every simulated body parses back to the same ids', () => {
  const statuses = ['enqueued', 'sent', 'delivered', 'read', 'failed'] as const;
  it.each(['v2', 'v3'] as const)('%s', (format) => {
    const ctx = { ...context, whatsappMessageId: newWhatsAppMessageId(format, context.destination, Math.random) };
    for (const status of statuses) {
      for (const stage of ['sync', 'async'] as const) {
        const failure = status === 'failed' ? { code: 131026, reason: 'Message undeliverable', stage } : undefined;
        const parsed = parseGupshupCallback(buildCallbackBody(format, ctx, event(status, { failure })));
        expect(parsed).toMatchObject({ kind: 'delivery', reports: [{ format, providerStatus: status, gupshupMessageId: ctx.gupshupMessageId }] });
        if (parsed.kind !== 'delivery') continue;
        const [report] = parsed.reports;
        if (!(format === 'v2' && status === 'failed' && stage === 'sync')) expect(report.whatsappMessageId).toBe(ctx.whatsappMessageId);
        expect(report.occurredAt.getTime()).toBe(status === 'enqueued' || (format === 'v2' && status === 'failed') ? at : 1710930461000);
        if (status === 'failed') expect(report).toMatchObject({ code: '131026', reason: 'Message undeliverable' });
      }
    }
  });

  it.each(['v2', 'v3'] as const)('%s late DLRs parse without a Gupshup id', (format) => {
    const parsed = parseGupshupCallback(buildCallbackBody(format, context, event('read', { omitGsId: true })));
    expect(parsed).toMatchObject({ kind: 'delivery', reports: [{ providerStatus: 'read', whatsappMessageId: context.whatsappMessageId }] });
    if (parsed.kind === 'delivery') expect(parsed.reports[0].gupshupMessageId).toBeUndefined();
  });
});

describe('newWhatsAppMessageId', () => {
  it('looks like the ids of each API', () => {
    expect(newWhatsAppMessageId('v2', '919876543210', Math.random)).toMatch(/^gBEG[A-Za-z0-9]{23}$/);
    const wamid = newWhatsAppMessageId('v3', '919163805873', Math.random);
    expect(wamid).toMatch(/^wamid\.HBgMOTE5MTYzODA1ODcz/);
    expect(newWhatsAppMessageId('v3', '919163805873', Math.random)).not.toBe(wamid);
  });
});
