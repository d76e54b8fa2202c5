import { Injectable } from '@nestjs/common';
import { Database } from '../../database/database';

export interface ClaimedDelivery {
  id: string;
  endpointId: string;
  appId: string;
  messageId: string | null;
  eventType: string;
  body: string;
  url: string;
  /** The endpoint's secret, encrypted; and after a rotation, for its grace period, the previous one after a space. */
  secretEncrypted: string;
  /** The number of this attempt (1 for the first). */
  attempt: number;
  /** Epoch milliseconds. */
  giveUpAt: number;
  /** When the change it carries was committed, in epoch milliseconds. */
  changeRecordedAt: number;
}

export interface AttemptResult {
  delivery: ClaimedDelivery;
  /** When the attempt began, in epoch milliseconds. */
  at: number;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  /** Where the delivery goes: `delivered`, `pending` again (due at dueAt), or `failed`. */
  state: 'delivered' | 'pending' | 'failed';
  /** Epoch milliseconds. */
  dueAt: number | null;
}

export interface DisabledEndpoint {
  id: string;
  appId: string;
  failingSince: Date;
}

interface ClaimRow {
  id: string;
  endpoint_id: string;
  app_id: string;
  message_id: string | null;
  event_type: string;
  body: string;
  attempts: number;
  give_up_at: number;
  change_recorded_at: number;
  url: string;
  secret_encrypted: string;
}

/** One round of a sender (webhook_deliveries_cycle): the outcomes of the attempts that ended, recorded, and the next claims. */
const CYCLE_SQL = 'SELECT * FROM webhook_deliveries_cycle($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)';

/** The deliveries' work queue: claims under a lease, and the outcome of each attempt. */
@Injectable()
export class DeliveryQueue {
  constructor(private readonly db: Database) {}

  /**
   * Records the outcomes of attempts (each only while its claim is still the caller's: a claim
   * taken back is not overwritten) and claims up to `limit` due deliveries under `leaseToken`, at
   * most `endpointConcurrency` in flight per endpoint across all senders; one round trip. The
   * delivery a closed one held back (the next of its message to that endpoint) comes first, in
   * the slot the closed one freed.
   */
  async cycle(options: { outcomes: readonly AttemptResult[]; limit: number; endpointConcurrency: number; leaseMs: number; leaseToken: string }): Promise<ClaimedDelivery[]> {
    const { outcomes } = options;
    const rows = await this.db.query<ClaimRow>(CYCLE_SQL, [
      options.leaseToken,
      options.leaseMs,
      options.limit,
      options.endpointConcurrency,
      outcomes.map((r) => r.delivery.id),
      outcomes.map((r) => r.delivery.attempt),
      outcomes.map((r) => r.at),
      outcomes.map((r) => r.statusCode),
      outcomes.map((r) => Math.round(r.durationMs)),
      outcomes.map((r) => r.error),
      outcomes.map((r) => r.state),
      outcomes.map((r) => r.dueAt),
    ]);
    return rows.map((row) => ({
      id: row.id,
      endpointId: row.endpoint_id,
      appId: row.app_id,
      messageId: row.message_id,
      eventType: row.event_type,
      body: row.body,
      url: row.url,
      secretEncrypted: row.secret_encrypted,
      attempt: row.attempts,
      giveUpAt: row.give_up_at,
      changeRecordedAt: row.change_recorded_at,
    }));
  }

  /**
   * Makes the deliveries whose claim ran out due again, logging their attempt without an outcome
   * (a process stopped during it), and checks each endpoint's in-flight counter against its rows
   * (webhook_deliveries_take_back_expired).
   */
  async takeBackExpired(): Promise<{ takenBack: number; corrected: number }> {
    const [row] = await this.db.query<{ taken_back: number; corrected: number }>('SELECT * FROM webhook_deliveries_take_back_expired()');
    return { takenBack: row.taken_back, corrected: row.corrected };
  }

  /**
   * Disables those of these endpoints (whose attempts just failed; 'all': every endpoint) that have
   * had no success since their first failure `disableAfterHours` ago; returns them.
   */
  async disableFailing(endpointIds: readonly string[] | 'all', disableAfterHours: number): Promise<DisabledEndpoint[]> {
    if (endpointIds !== 'all' && endpointIds.length === 0) return [];
    const disabled = await this.db.query<{ id: string; app_id: string; failing_since: Date }>(
      `UPDATE webhook_endpoints
          SET enabled = false, disabled_reason = 'no successful delivery for ' || $2::text || ' hours', updated_at = now()
        WHERE ($1::uuid[] IS NULL OR id = ANY ($1::uuid[])) AND enabled AND failing_since <= now() - make_interval(secs => $2::float8 * 3600)
        RETURNING id, app_id, failing_since`,
      [endpointIds === 'all' ? null : endpointIds, disableAfterHours],
    );
    return disabled.map((row) => ({ id: row.id, appId: row.app_id, failingSince: row.failing_since }));
  }
}
