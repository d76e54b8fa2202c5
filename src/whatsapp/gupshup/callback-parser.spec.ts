import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseGupshupCallback, type DeliveryReport, type ParsedCallback } from './callback-parser';
import { callbackFixtureBody, gupshupCallbackFixtureNames, gupshupCallbackFixtures } from '../../../test/fixtures/gupshup';

const RECEIVED_AT = new Date('2026-01-02T03:04:05.000Z');

function reportsOf(result: ParsedCallback): DeliveryReport[] {
  if (result.kind !== 'delivery') throw new Error(`expected a delivery, got ${JSON.stringify(result)}`);
  return result.reports;
}

function v2Event(payload: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { app: 'DemoAPI', timestamp: 1700000000123, version: 2, type: 'message-event', payload, ...extra };
}

function v3Status(status: Record<string, unknown>): unknown {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', statuses: [status] } }] }],
  };
}

describe('parseGupshupCallback on the documented examples', () => {
  it.each(gupshupCallbackFixtureNames)('%s', (name) => {
    expect(parseGupshupCallback(callbackFixtureBody(name), RECEIVED_AT)).toEqual(gupshupCallbackFixtures[name].expected);
  });

  it('has a fixture for every JSON file in the folder, with no placeholder left', () => {
    const dir = join(__dirname, '../../../test/fixtures/gupshup');
    const files = readdirSync(dir).filter((file) => file.endsWith('.json'));
    expect(files.sort()).toEqual(gupshupCallbackFixtureNames.map((name) => gupshupCallbackFixtures[name].file).sort());
    for (const file of files) expect(readFileSync(join(dir, file), 'utf8')).not.toMatch(/\{\{|\}\}|xx|XX|\*\*/);
  });

  it('never takes the event time from the receipt time when the callback has one', () => {
    for (const name of gupshupCallbackFixtureNames) {
      const result = parseGupshupCallback(callbackFixtureBody(name), RECEIVED_AT);
      if (result.kind === 'delivery') for (const report of result.reports) expect(report.occurredAt).not.toEqual(RECEIVED_AT);
    }
  });
});

describe('v2 ids (GUPSHUP.md §2.7)', () => {
  it('reads enqueued ids from id and payload.whatsappMessageId, even when both look alike', () => {
    const [report] = reportsOf(
      parseGupshupCallback(v2Event({ id: 'a-uuid', type: 'enqueued', payload: { whatsappMessageId: 'b-uuid' } })),
    );
    expect(report).toMatchObject({ gupshupMessageId: 'a-uuid', whatsappMessageId: 'b-uuid' });
  });

  it('prefers gsId over id on enqueued when Gupshup sends both', () => {
    const [report] = reportsOf(parseGupshupCallback(v2Event({ id: 'x', gsId: 'gs', type: 'enqueued' })));
    expect(report.gupshupMessageId).toBe('gs');
    expect(report.whatsappMessageId).toBeUndefined();
  });

  it.each(['sent', 'delivered', 'read'])('treats a %s without gsId as a late DLR keyed by the WhatsApp id', (type) => {
    const [report] = reportsOf(
      parseGupshupCallback(v2Event({ id: '59f8db90-c37e-4408-90ab-cc54ef8246ad', type, payload: { ts: 1700000001 } })),
    );
    expect(report.gupshupMessageId).toBeUndefined();
    expect(report.whatsappMessageId).toBe('59f8db90-c37e-4408-90ab-cc54ef8246ad');
  });

  it('treats a failed without gsId as a sync failure keyed by Gupshup id, or a late async one keyed by the WhatsApp id', () => {
    const [report] = reportsOf(parseGupshupCallback(v2Event({ id: 'gBEGnotreallyawaid', type: 'failed', payload: { code: '1002' } })));
    expect(report).toMatchObject({ gupshupMessageId: 'gBEGnotreallyawaid', code: '1002', gupshupIdMayBeWhatsapps: true });
    expect(report.whatsappMessageId).toBeUndefined();
    const [async] = reportsOf(parseGupshupCallback(v2Event({ id: 'w', gsId: 'gs', type: 'failed', payload: { code: 470 } })));
    expect(async).toMatchObject({ gupshupMessageId: 'gs', whatsappMessageId: 'w' });
    expect(async.gupshupIdMayBeWhatsapps).toBeUndefined();
  });

  it('rejects status events with no usable id', () => {
    expect(parseGupshupCallback(v2Event({ type: 'delivered', payload: { ts: 1 } }))).toEqual({
      kind: 'invalid',
      message: 'v2 delivered event without id or gsId',
    });
    expect(parseGupshupCallback(v2Event({ type: 'failed', id: '' }))).toMatchObject({ kind: 'invalid' });
    expect(parseGupshupCallback(v2Event({ type: 'enqueued', payload: { whatsappMessageId: 'gBEG' } }))).toEqual({
      kind: 'invalid',
      message: "v2 enqueued event without Gupshup's message id",
    });
    expect(parseGupshupCallback(v2Event({ type: 'sent', id: 42, gsId: null }))).toMatchObject({ kind: 'invalid' });
  });

  it('only reports code and reason on failures', () => {
    const [report] = reportsOf(parseGupshupCallback(v2Event({ gsId: 'g', id: 'w', type: 'sent', payload: { code: 1, reason: 'r' } })));
    expect(report.code).toBeUndefined();
    expect(report.reason).toBeUndefined();
  });
});

describe('timestamps', () => {
  it('uses payload.ts in seconds, else the envelope timestamp in milliseconds', () => {
    const withTs = reportsOf(parseGupshupCallback(v2Event({ gsId: 'g', id: 'w', type: 'read', payload: { ts: '1700000005' } })));
    expect(withTs[0].occurredAt).toEqual(new Date(1700000005000));
    const withoutTs = reportsOf(parseGupshupCallback(v2Event({ gsId: 'g', id: 'w', type: 'read' })));
    expect(withoutTs[0].occurredAt).toEqual(new Date(1700000000123));
    const msInTs = reportsOf(parseGupshupCallback(v2Event({ gsId: 'g', id: 'w', type: 'read', payload: { ts: 1700000009876 } })));
    expect(msInTs[0].occurredAt).toEqual(new Date(1700000009876));
  });

  it('falls back to the receipt time only when no timestamp is usable', () => {
    const body = v2Event({ gsId: 'g', id: 'w', type: 'read', payload: { ts: 'soon' } }, { timestamp: -5 });
    expect(reportsOf(parseGupshupCallback(body, RECEIVED_AT))[0].occurredAt).toEqual(RECEIVED_AT);
    const huge = v3Status({ gs_id: 'g', id: 'w', status: 'sent', timestamp: 1e300 });
    expect(reportsOf(parseGupshupCallback(huge, RECEIVED_AT))[0].occurredAt).toEqual(RECEIVED_AT);
  });

  it('reads v3 string seconds and numeric milliseconds', () => {
    expect(reportsOf(parseGupshupCallback(v3Status({ gs_id: 'g', id: 'w', status: 'sent', timestamp: '1710930461' })))[0].occurredAt).toEqual(
      new Date(1710930461000),
    );
    expect(reportsOf(parseGupshupCallback(v3Status({ gs_id: 'g', id: 'w', status: 'sent', timestamp: 1710941393420 })))[0].occurredAt).toEqual(
      new Date(1710941393420),
    );
  });
});

describe('v3 details', () => {
  it('takes the error message when errors[0] has no title, and stringifies codes', () => {
    const [report] = reportsOf(
      parseGupshupCallback(v3Status({ gs_id: 'g', id: 'w', status: 'failed', timestamp: '1', errors: [{ code: 131026, message: 'Message undeliverable' }] })),
    );
    expect(report).toMatchObject({ code: '131026', reason: 'Message undeliverable' });
  });

  it('treats empty flat code and reason as absent', () => {
    const [report] = reportsOf(parseGupshupCallback(v3Status({ gs_id: 'g', id: 'w', status: 'failed', timestamp: '1', code: '', reason: '' })));
    expect(report).not.toHaveProperty('code');
    expect(report).not.toHaveProperty('reason');
  });

  it('keeps the usable statuses of a batch and names the unusable ones', () => {
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        {
          changes: [
            {
              field: 'messages',
              value: { statuses: [{ status: 'read', recipient_id: '1' }, { gs_id: 'g', status: 'read', timestamp: '2' }, 'junk'] },
            },
          ],
        },
      ],
    };
    const result = parseGupshupCallback(body);
    expect(result).toEqual({
      kind: 'delivery',
      reports: [{ format: 'v3', providerStatus: 'read', gupshupMessageId: 'g', occurredAt: new Date(2000) }],
      skipped: [
        'entry[0].changes[0].value.statuses[0]: v3 read event without gs_id or id',
        'entry[0].changes[0].value.statuses[2] is not an object',
      ],
    });
  });

  it('ignores unknown statuses and non-status changes', () => {
    expect(parseGupshupCallback(v3Status({ gs_id: 'g', id: 'w', status: 'warning' }))).toEqual({ kind: 'ignored', what: 'v3 status warning' });
    expect(parseGupshupCallback({ object: 'whatsapp_business_account', entry: [] })).toEqual({
      kind: 'ignored',
      what: 'v3 callback without changes',
    });
  });

  it('rejects a v3 body whose statuses are all unusable or whose structure is broken', () => {
    expect(parseGupshupCallback({ object: 'whatsapp_business_account' })).toEqual({
      kind: 'invalid',
      message: 'v3 callback without an entry array',
    });
    expect(parseGupshupCallback({ object: 'whatsapp_business_account', entry: [{ changes: {} }] })).toEqual({
      kind: 'invalid',
      message: 'entry[0] has no changes array',
    });
    expect(parseGupshupCallback(v3Status({ status: 'sent' }))).toMatchObject({ kind: 'invalid' });
  });
});

describe('what is not a delivery report', () => {
  it.each([
    [{ app: 'a', timestamp: 1, version: 2, type: 'account-event', payload: { type: 'tier-upgrade' } }, 'v2 account-event'],
    [{ app: 'a', timestamp: 1, version: 2, type: 'preference-event', payload: {} }, 'v2 preference-event'],
    [v2Event({ id: 'x', type: 'others' }), 'v2 message-event others'],
    [{ type: 'message-event', payload: { type: 'mismatch', destination: '1', payload: {} } }, 'v2 message-event mismatch'],
  ])('ignores %j', (body, what) => {
    expect(parseGupshupCallback(body)).toEqual({ kind: 'ignored', what });
  });

  it.each([
    [null, 'callback body is not a JSON object'],
    [[1, 2], 'callback body is not a JSON object'],
    ['{"version":2}', 'callback body is not a JSON object'],
    [{ hello: 'world' }, 'neither a v2 callback (version 2 with type and payload) nor a v3 callback (object "whatsapp_business_account")'],
    [{ version: 1, type: 'message-event', payload: {} }, 'unsupported callback version 1'],
    [{ version: 2, type: 'message-event' }, 'v2 message-event without a payload object'],
    [{ version: 2, type: 'message-event', payload: { id: 'x' } }, 'v2 message-event without payload.type'],
  ])('rejects %j', (body, message) => {
    expect(parseGupshupCallback(body)).toEqual({ kind: 'invalid', message });
  });

  it('never reads inherited properties as data', () => {
    const body = Object.create({ version: 2, type: 'message-event', payload: { id: 'x', type: 'sent' } }) as object;
    expect(parseGupshupCallback(body)).toMatchObject({ kind: 'invalid' });
  });

  it('survives objects that throw when read', () => {
    const hostile = new Proxy({}, { get: () => { throw new Error('boom'); }, has: () => true, getOwnPropertyDescriptor: () => { throw new Error('boom'); } });
    expect(parseGupshupCallback(hostile)).toEqual({ kind: 'invalid', message: 'unreadable callback: boom' });
  });
});

describe('parseGupshupCallback on arbitrary input', () => {
  const idish = fc.oneof(fc.string(), fc.uuid(), fc.constant(''), fc.integer(), fc.constant(null));
  const timeish = fc.oneof(fc.integer(), fc.double(), fc.string(), fc.nat().map(String), fc.constant(undefined));
  const status = fc.oneof(fc.constantFrom('enqueued', 'sent', 'delivered', 'read', 'failed', 'deleted', 'mismatch', 'others'), fc.string());
  const v2Arbitrary = fc.record(
    {
      app: fc.string(),
      timestamp: timeish,
      version: fc.oneof(fc.constant(2), fc.constant('2'), fc.jsonValue()),
      type: fc.oneof(fc.constantFrom('message-event', 'user-event', 'billing-event', 'message'), fc.string()),
      payload: fc.oneof(
        fc.record(
          {
            id: idish,
            gsId: idish,
            type: status,
            destination: fc.oneof(fc.string(), fc.integer()),
            payload: fc.oneof(
              fc.record({ ts: timeish, whatsappMessageId: idish, code: fc.oneof(fc.integer(), fc.string()), reason: fc.jsonValue() }, { requiredKeys: [] }),
              fc.jsonValue(),
            ),
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue(),
      ),
    },
    { requiredKeys: [] },
  );
  const v3StatusArbitrary = fc.oneof(
    fc.record(
      {
        gs_id: idish,
        id: idish,
        status,
        timestamp: timeish,
        recipient_id: fc.oneof(fc.string(), fc.integer()),
        errors: fc.oneof(fc.array(fc.record({ code: fc.oneof(fc.integer(), fc.string()), title: fc.jsonValue(), message: fc.jsonValue() }, { requiredKeys: [] })), fc.jsonValue()),
        code: fc.jsonValue(),
        reason: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
    fc.jsonValue(),
  );
  const v3Arbitrary = fc.record(
    {
      object: fc.constant('whatsapp_business_account'),
      entry: fc.oneof(
        fc.array(
          fc.oneof(
            fc.record({ changes: fc.oneof(fc.array(fc.oneof(fc.record({ field: fc.jsonValue(), value: fc.oneof(fc.record({ statuses: fc.oneof(fc.array(v3StatusArbitrary), fc.jsonValue()) }, { requiredKeys: [] }), fc.jsonValue()) }, { requiredKeys: [] }), fc.jsonValue())), fc.jsonValue()) }, { requiredKeys: [] }),
            fc.jsonValue(),
          ),
        ),
        fc.jsonValue(),
      ),
    },
    { requiredKeys: ['object'] },
  );

  function checkResult(result: ParsedCallback): void {
    expect(['delivery', 'ignored', 'invalid']).toContain(result.kind);
    if (result.kind === 'delivery') {
      expect(result.reports.length).toBeGreaterThan(0);
      for (const report of result.reports) {
        expect(Number.isNaN(report.occurredAt.getTime())).toBe(false);
        expect(report.gupshupMessageId ?? report.whatsappMessageId).toBeDefined();
        if (report.providerStatus === 'enqueued') expect(report.gupshupMessageId).toBeDefined();
      }
    }
    if (result.kind === 'ignored') expect(result.what).not.toBe('');
    if (result.kind === 'invalid') expect(result.message).not.toBe('');
  }

  it('never throws on any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (body) => checkResult(parseGupshupCallback(body))), { numRuns: 2000 });
  });

  it('never throws on any JavaScript value', () => {
    fc.assert(fc.property(fc.anything({ withMap: true, withSet: true, withDate: true, withTypedArray: true }), (body) => checkResult(parseGupshupCallback(body))), {
      numRuns: 1000,
    });
  });

  it('never throws on near-valid v2 and v3 bodies, and always honours the id table', () => {
    fc.assert(
      fc.property(v2Arbitrary, (body) => {
        const result = parseGupshupCallback(body);
        checkResult(result);
        const event = body.payload as Record<string, unknown> | undefined;
        if (result.kind === 'delivery' && typeof event?.gsId === 'string' && event.gsId.trim() !== '') {
          expect(result.reports[0].gupshupMessageId).toBe(event.gsId);
        }
      }),
      { numRuns: 3000 },
    );
    fc.assert(fc.property(v3Arbitrary, (body) => checkResult(parseGupshupCallback(body))), { numRuns: 3000 });
  });
});
