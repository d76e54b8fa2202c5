import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventStore } from './event-store';
import { ImportLogArchiveCommand, ListLogPartitionsCommand, LogArchiveImport, RetireLogPartitionsCommand } from './retention/event-log.commands';
import { EventLogRetention } from './retention/event-log-retention';
import { SubscriptionManager } from './subscriptions/subscription-manager';

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    EventStore,
    SubscriptionManager,
    EventLogRetention,
    LogArchiveImport,
    ListLogPartitionsCommand,
    RetireLogPartitionsCommand,
    ImportLogArchiveCommand,
  ],
  exports: [EventStore, SubscriptionManager, EventLogRetention, LogArchiveImport],
})
export class EventStoreModule {}
