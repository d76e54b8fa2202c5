import { StoreEvent, StoredEventType } from '../../src/event-store';

@StoredEventType('TestCounterIncremented')
export class CounterIncremented extends StoreEvent<{ by: number }> {}

@StoredEventType('TestCounterReset')
export class CounterReset extends StoreEvent<{ reason: string }> {}
