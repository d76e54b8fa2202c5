import { registerUpcaster, StoreEvent, StoredEventType, toStoreEvent, type RecordedEvent } from './event';

@StoredEventType('TestParcelShipped', 3)
class ParcelShipped extends StoreEvent<{ carrier: string; trackingCode: string; weightGrams: number }> {}

// v1 had `courier`; v2 renamed it `carrier`; v3 added the weight, unknown for old parcels.
registerUpcaster('TestParcelShipped', 1, ({ courier, ...rest }) => ({ ...rest, carrier: courier }));
registerUpcaster('TestParcelShipped', 2, (data) => ({ ...data, weightGrams: 0 }));

const recorded = (schemaVersion: number, data: Record<string, unknown>): RecordedEvent => ({
  eventId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  type: 'TestParcelShipped',
  schemaVersion,
  data,
  metadata: { by: 'test' },
  streamId: 'parcel-1',
  streamPosition: 1,
  globalPosition: '1',
  transactionId: '700',
  createdAt: new Date('2026-01-01T00:00:00Z'),
});

describe('stored event classes', () => {
  it('carry their registered type name', () => {
    expect(new ParcelShipped({ carrier: 'x', trackingCode: 'y', weightGrams: 1 }).type).toBe('TestParcelShipped');
  });

  it('upcast old schema versions step by step into the current class', () => {
    const event = toStoreEvent(recorded(1, { courier: 'DHL', trackingCode: 'T1' })) as ParcelShipped;
    expect(event).toBeInstanceOf(ParcelShipped);
    expect(event.data).toEqual({ carrier: 'DHL', trackingCode: 'T1', weightGrams: 0 });
    expect(event.metadata).toEqual({ by: 'test' });
    expect(event.recorded).toMatchObject({ streamId: 'parcel-1', streamPosition: 1, transactionId: '700' });
  });

  it('read the current version as it is', () => {
    const data = { carrier: 'UPS', trackingCode: 'T2', weightGrams: 250 };
    expect((toStoreEvent(recorded(3, data)) as ParcelShipped).data).toEqual(data);
  });

  it('refuse an unknown type and a second class under one name', () => {
    expect(() => toStoreEvent({ ...recorded(1, {}), type: 'NoSuchEvent' })).toThrow(/Unknown event type "NoSuchEvent"/);
    expect(() => StoredEventType('TestParcelShipped')(class Other extends StoreEvent {})).toThrow(/registered twice/);
  });
});
