import { Injectable } from '@nestjs/common';
import { AppsService, type AuthenticatedApp } from '../../../apps/apps.service';
import { isStorableText } from '../../../common/input-schemas';

/** A known key is trusted this long: apps are not deleted, so this only bounds a stale entry's life. */
const KNOWN_TTL_MS = 30_000;
/** An unknown key is answered from memory this long, so a misconfigured sender cannot hammer the database. */
const UNKNOWN_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;
/** Longer than any key this service hands out: answered 404 without a lookup. */
const MAX_API_KEY_LENGTH = 200;

interface Entry {
  app: AuthenticatedApp | null;
  expiresAt: number;
}

/**
 * The app behind a webhook URL's API key, cached briefly: every callback carries the key, and
 * the webhook must answer in milliseconds. Concurrent misses for one key share one lookup.
 */
@Injectable()
export class WebhookAppCache {
  private readonly entries = new Map<string, Entry>();
  private readonly lookups = new Map<string, Promise<AuthenticatedApp | null>>();

  constructor(private readonly apps: AppsService) {}

  async find(apiKey: string): Promise<AuthenticatedApp | null> {
    // A key PostgreSQL cannot compare (NUL, unpaired surrogates) is no app's key: not a database failure.
    if (apiKey.length === 0 || apiKey.length > MAX_API_KEY_LENGTH || !isStorableText(apiKey)) return null;
    const now = Date.now();
    const cached = this.entries.get(apiKey);
    if (cached && cached.expiresAt > now) return cached.app;
    let lookup = this.lookups.get(apiKey);
    if (!lookup) {
      lookup = this.apps.findByApiKey(apiKey).finally(() => this.lookups.delete(apiKey));
      this.lookups.set(apiKey, lookup);
    }
    const app = await lookup;
    this.remember(apiKey, app);
    return app;
  }

  private remember(apiKey: string, app: AuthenticatedApp | null): void {
    this.entries.delete(apiKey);
    if (this.entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: the first key is the least recently stored.
      this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(apiKey, { app, expiresAt: Date.now() + (app ? KNOWN_TTL_MS : UNKNOWN_TTL_MS) });
  }
}
