import { Injectable } from '@nestjs/common';
import { IdempotencyKeys } from '../idempotency';

const CLEANUP_EVERY_MS = 60_000;

/** Forgets idempotency keys past their window, at most once a minute per instance. */
@Injectable()
export class IdempotencyCleanup {
  private lastRun = 0;

  constructor(private readonly keys: IdempotencyKeys) {}

  async runIfDue(): Promise<void> {
    if (Date.now() - this.lastRun < CLEANUP_EVERY_MS) return;
    this.lastRun = Date.now();
    await this.keys.deleteExpired();
  }
}
