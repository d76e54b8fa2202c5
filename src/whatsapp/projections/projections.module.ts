import { Module } from '@nestjs/common';
import { MessageEventRetention } from './message-event-retention';
import { MessageViewsProjection } from './message-views.projection';
import { ProjectionRebuilder } from './projection-rebuilder';
import { RebuildProjectionsCommand } from './rebuild-projections.command';

/** The WhatsApp read models, kept up to date by the SubscriptionManager, and their rebuild command. */
@Module({
  providers: [MessageViewsProjection, ProjectionRebuilder, RebuildProjectionsCommand, MessageEventRetention],
  exports: [MessageViewsProjection, ProjectionRebuilder],
})
export class ProjectionsModule {}
