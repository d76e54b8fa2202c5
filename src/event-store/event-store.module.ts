import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventStore } from './event-store';
import { SubscriptionManager } from './subscriptions/subscription-manager';

@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [EventStore, SubscriptionManager],
  exports: [EventStore, SubscriptionManager],
})
export class EventStoreModule {}
