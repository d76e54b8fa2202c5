import { Injectable } from '@nestjs/common';
import type { SqlExecutor } from '../../database/database';

/** An app's paused dispatch, as the provider's view shows it. */
export interface ProviderPause {
  since: string;
  code: string;
  reason: string;
}

export type ProviderPauseReader = (appId: string, executor?: SqlExecutor) => Promise<ProviderPause | null>;

/**
 * Whether the app's sending through the provider is paused: the sending feature, which pauses
 * and resumes, plugs its reader in here, so that the provider's view shows it without this
 * module knowing how dispatch works. Without a reader, nothing is paused.
 */
@Injectable()
export class ProviderPauseSource {
  private reader: ProviderPauseReader | undefined;

  useReader(reader: ProviderPauseReader): void {
    this.reader = reader;
  }

  pauseOf(appId: string, executor?: SqlExecutor): Promise<ProviderPause | null> {
    return this.reader ? this.reader(appId, executor) : Promise.resolve(null);
  }
}
