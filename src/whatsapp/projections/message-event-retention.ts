import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { EventLogRetention } from '../../event-store/retention/event-log-retention';

/**
 * A message's events and its request's (es_events_messages) are retired after
 * MESSAGE_RETENTION_DAYS (0: kept for ever). The views built from them stay: the API and the
 * dashboard read the views; only a rebuild needs the events, loaded back from the archives.
 */
@Injectable()
export class MessageEventRetention implements OnModuleInit {
  constructor(
    private readonly config: AppConfig,
    private readonly logRetention: EventLogRetention,
  ) {}

  onModuleInit(): void {
    this.logRetention.register({ parent: 'es_events_messages', days: this.config.get('MESSAGE_RETENTION_DAYS'), setting: 'MESSAGE_RETENTION_DAYS' });
  }
}
