export * from './message-status-row';
export * from './message-views-changed';
export * from './message-views.projection';
export * from './message-views.rebuild';
export * from './projection-rebuilder';
export * from './projections.module';
export * from './rebuild-projections.command';
export * from './view-deltas';
