export * from './canonical-time';
export * from './delivery-event-id';
export * from './events';
export * from './message-view';
export * from './name-based-uuid';
export * from './status';
export * from './failure-classes';
export * from './status-rises';
