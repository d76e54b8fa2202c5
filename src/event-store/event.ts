import { randomUUID } from 'node:crypto';
import type { IEvent } from '@nestjs/cqrs';

export type EventMetadata = Record<string, unknown>;

/**
 * Base class of every event kept in the store. Subclasses are plain @nestjs/cqrs events
 * (they can be published on the EventBus) and carry a registered type name and schema version
 * through the @StoredEventType decorator.
 */
export abstract class StoreEvent<TData extends object = Record<string, unknown>> implements IEvent {
  /** Set when the event was read back from the store (declared only: no initialiser to run for every event read). */
  declare recorded?: RecordedPosition;

  constructor(
    readonly data: TData,
    readonly eventId: string = randomUUID(),
    readonly metadata: EventMetadata = {},
  ) {}

  get type(): string {
    return eventTypeOf(this.constructor as EventClass).type;
  }
}

export interface RecordedPosition {
  streamId: string;
  streamPosition: number;
  globalPosition: string;
  transactionId: string;
  createdAt: Date;
}

/** An event as stored in its stream: raw JSON, before it is turned back into its class. */
export interface StoredEvent {
  streamId: string;
  streamPosition: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
}

/** A stored event with its place in the global log. */
export interface RecordedEvent extends StoredEvent, RecordedPosition {}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventClass<E extends StoreEvent<any> = StoreEvent<any>> = new (
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data: any,
  eventId?: string,
  metadata?: EventMetadata,
) => E;

interface EventTypeInfo {
  type: string;
  schemaVersion: number;
  ctor: EventClass;
}

type Upcaster = (data: Record<string, unknown>) => Record<string, unknown>;

const byType = new Map<string, EventTypeInfo>();
const byClass = new Map<EventClass, EventTypeInfo>();
const upcasters = new Map<string, Upcaster>();

/**
 * Registers an event class under a stable type name (what is written to es_events.event_type)
 * and the schema version its `data` has now. Renaming the class never changes stored events.
 */
export function StoredEventType(type: string, schemaVersion = 1) {
  return (ctor: EventClass): void => {
    const existing = byType.get(type);
    if (existing && existing.ctor !== ctor) {
      throw new Error(`Event type "${type}" is registered twice (${existing.ctor.name} and ${ctor.name})`);
    }
    const info = { type, schemaVersion, ctor };
    byType.set(type, info);
    byClass.set(ctor, info);
  };
}

/**
 * Registers how to turn `data` of `type` stored at `fromVersion` into `fromVersion + 1`.
 * Reading an old event runs every upcaster from its stored version up to the current one.
 */
export function registerUpcaster(type: string, fromVersion: number, upcast: Upcaster): void {
  upcasters.set(`${type}@${fromVersion}`, upcast);
}

export function eventTypeOf(ctor: EventClass): EventTypeInfo {
  const info = byClass.get(ctor);
  if (!info) throw new Error(`${ctor.name} has no @StoredEventType decorator`);
  return info;
}

export function isRegisteredEventType(type: string): boolean {
  return byType.has(type);
}

/** Upcasts a recorded event to its current schema and instantiates its class, with its position. */
export function toStoreEvent(recorded: RecordedEvent): StoreEvent {
  const event = instantiateStoredEvent(recorded);
  event.recorded = {
    streamId: recorded.streamId,
    streamPosition: recorded.streamPosition,
    globalPosition: recorded.globalPosition,
    transactionId: recorded.transactionId,
    createdAt: recorded.createdAt,
  };
  return event;
}

/** Upcasts a stored event to its current schema and instantiates its class; `recorded` is left unset. */
export function instantiateStoredEvent(stored: StoredEvent): StoreEvent {
  const info = byType.get(stored.type);
  if (!info) throw new Error(`Unknown event type "${stored.type}" at ${stored.streamId}#${stored.streamPosition}`);
  let data = stored.data;
  for (let version = stored.schemaVersion; version < info.schemaVersion; version++) {
    const upcast = upcasters.get(`${stored.type}@${version}`);
    if (!upcast) throw new Error(`No upcaster for ${stored.type} from schema version ${version}`);
    data = upcast(data);
  }
  return new info.ctor(data, stored.eventId, stored.metadata);
}
