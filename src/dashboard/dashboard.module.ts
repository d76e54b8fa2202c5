import { Module } from '@nestjs/common';
import { DashboardAdminController } from './admin.controller';
import { AppApiForwarding } from './app-api-forwarding';
import { DashboardAppApiController } from './app-api.controller';
import { DashboardPages } from './dashboard-pages';
import { DashboardSessionGuard } from './dashboard-session.guard';
import { DashboardSessions } from './dashboard-sessions';
import { DashboardLiveEventsController } from './live-events.controller';
import { DashboardLiveFeed } from './live-feed';
import { DashboardSessionController } from './session.controller';

/**
 * The server side of the web dashboard (its browser code is in web/): the page and its assets,
 * sign-in sessions, the app and admin APIs behind the session cookie, and live updates.
 */
@Module({
  controllers: [DashboardSessionController, DashboardAppApiController, DashboardAdminController, DashboardLiveEventsController],
  providers: [DashboardSessions, DashboardSessionGuard, AppApiForwarding, DashboardLiveFeed, DashboardPages],
})
export class DashboardModule {}
