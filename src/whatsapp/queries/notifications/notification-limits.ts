/** Messages listed in full in one notification; the counts always cover all of them. */
export const NOTIFICATION_MESSAGES_LIMIT = 1000;
