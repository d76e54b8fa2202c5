import { Injectable } from '@nestjs/common';

/**
 * Metrics whose values live in the database, read when /metrics is scraped. A module adds its
 * refresh here (onModuleInit) and removes it on shutdown; a refresh handles its own failures
 * (the scrape answers with the previous values).
 */
@Injectable()
export class ScrapeTimeMetrics {
  private readonly refreshes = new Set<() => Promise<void>>();

  /** Returns the function that removes it. */
  add(refresh: () => Promise<void>): () => void {
    this.refreshes.add(refresh);
    return () => this.refreshes.delete(refresh);
  }

  async refresh(): Promise<void> {
    await Promise.all([...this.refreshes].map((refresh) => refresh()));
  }
}
