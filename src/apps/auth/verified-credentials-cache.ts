import { createHash } from 'node:crypto';

/**
 * (API key, secret) pairs that passed the scrypt check recently. scrypt is deliberately slow (tens
 * of milliseconds and 16 MiB each), so checking it on every request would cap an app at a few
 * dozen requests a second per core; a pair verified in the last `ttlMs` is accepted from here.
 * Entries are keyed by a SHA-256 of the pair, so the cache holds no secret, and a wrong secret can
 * never hit it. Apps cannot be deleted or have their secret changed, so a short TTL loses nothing;
 * it only bounds how long a process keeps the entry. The size cap keeps memory bounded.
 */
export class VerifiedCredentialsCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  static keyOf(apiKey: string, secret: string): string {
    return createHash('sha256').update(apiKey).update('\0').update(secret).digest('base64url');
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + this.ttlMs });
  }

  get size(): number {
    return this.entries.size;
  }
}
