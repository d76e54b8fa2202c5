import { StoreEvent, StoredEventType } from '../event-store/event';
import type { JsonValue } from './user-profile';

export const USER_STREAM_TYPE = 'app_user';

/** One stream per user of an app. The identifier may hold "-": the stream type is the part before the first one. */
export function userStreamId(appId: string, identifier: string): string {
  return `${USER_STREAM_TYPE}-${appId}-${identifier}`;
}

export type UserProfileUpdatedData = {
  appId: string;
  identifier: string;
  /** True for the event that created the user. */
  created: boolean;
  /** Fields set or changed, with their new values (phoneNumber included). */
  set: Record<string, JsonValue>;
  /** Fields removed. */
  removed: string[];
  at: string;
};

/** A user was created or their profile changed. Stream: `app_user-{appId}-{identifier}`. */
@StoredEventType('UserProfileUpdated', 1)
export class UserProfileUpdated extends StoreEvent<UserProfileUpdatedData> {}

export type UserDeletedData = {
  appId: string;
  identifier: string;
  at: string;
};

/** A user was deleted with its profile; sends to it are then discarded as unknown_recipient. Same stream. */
@StoredEventType('UserDeleted', 1)
export class UserDeleted extends StoreEvent<UserDeletedData> {}
