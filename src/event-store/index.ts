export * from './append-to-streams';
export * from './errors';
export * from './event';
export * from './event-store';
export * from './event-store.module';
export * from './subscriptions/subscription';
export * from './subscriptions/subscription-manager';
export * from './subscriptions/subscription-runner';
