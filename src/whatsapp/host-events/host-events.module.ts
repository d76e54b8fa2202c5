import { Module } from '@nestjs/common';
import { EventBusPublisher } from './event-bus-publisher.subscription';

/** The WhatsApp events on the application's EventBus, for a host application's @EventsHandler. */
@Module({ providers: [EventBusPublisher] })
export class HostEventsModule {}
