import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { CredentialCipher } from '../../apps/providers/credential-cipher';
import { AppConfig } from '../../config/app-config';
import { Database, type SqlExecutor } from '../../database/database';
import { publicHostProblem } from '../sending/public-address';
import { newWebhookSecret } from '../sending/webhook-signing';
import type { MessageEventType } from '../webhook-events';
import type { CreateWebhookBody, UpdateWebhookBody, WebhookEndpointView, WebhookEndpointWithSecret } from './webhook-endpoint.dto';

interface EndpointRow {
  id: string;
  app_id: string;
  url: string;
  events: MessageEventType[] | null;
  description: string | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: Date | null;
  last_success_at: Date | null;
  created_at: Date;
  updated_at: Date;
  previous_secret_until: Date | null;
}

const COLUMNS =
  'id, app_id, url, events, description, enabled, disabled_reason, failing_since, last_success_at, created_at, updated_at, ' +
  // Only while the replaced secret still signs (the database's clock decides that, as in sending).
  'CASE WHEN previous_secret_until > now() THEN previous_secret_until END AS previous_secret_until';
export const MAX_ENDPOINTS_PER_APP = 20;

/** The context a secret is encrypted under: a ciphertext copied to another endpoint does not decrypt. */
export function secretContext(endpointId: string): string {
  return `webhook-endpoint:${endpointId}`;
}

function toView(row: EndpointRow): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    events: row.events ?? [],
    description: row.description,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    lastSuccessAt: row.last_success_at?.toISOString() ?? null,
    failingSince: row.failing_since?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    previousSecretExpiresAt: row.previous_secret_until?.toISOString() ?? null,
  };
}

/** Customers' endpoints: one app's list, each with its filter and its secret (kept encrypted). */
@Injectable()
export class WebhookEndpoints {
  private readonly logger = new Logger('WebhookEndpoints');

  constructor(
    private readonly db: Database,
    private readonly cipher: CredentialCipher,
    private readonly config: AppConfig,
  ) {}

  async create(appId: string, body: CreateWebhookBody): Promise<WebhookEndpointWithSecret> {
    await this.checkUrl(body.url);
    const id = randomUUID();
    const secret = newWebhookSecret();
    const row = await this.db.transaction(async (tx) => {
      // One app's creations in turn, so that the limit holds under concurrent requests.
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('webhook_endpoints'), hashtext($1))", [appId]);
      const [{ count }] = await tx.query<{ count: string }>('SELECT count(*) FROM webhook_endpoints WHERE app_id = $1', [appId]);
      if (Number(count) >= MAX_ENDPOINTS_PER_APP) {
        throw new BadRequestException(`an app can have at most ${MAX_ENDPOINTS_PER_APP} webhooks; delete one first`);
      }
      const [created] = await tx.query<EndpointRow>(
        `INSERT INTO webhook_endpoints (id, app_id, url, events, description, secret_encrypted)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [id, appId, body.url, body.events?.length ? body.events : null, body.description ?? null, this.cipher.encrypt(secret, secretContext(id))],
      );
      return created;
    });
    this.logger.log({ message: 'webhook endpoint created', appId, endpointId: id });
    return { ...toView(row), secret };
  }

  async list(appId: string): Promise<WebhookEndpointView[]> {
    const rows = await this.db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE app_id = $1 ORDER BY created_at, id`, [appId]);
    return rows.map(toView);
  }

  async get(appId: string, id: string): Promise<WebhookEndpointView> {
    return toView(await this.row(this.db, appId, id));
  }

  async update(appId: string, id: string, body: UpdateWebhookBody): Promise<WebhookEndpointView> {
    if (body.url !== undefined) await this.checkUrl(body.url);
    // Each column's next value is worked out from the row as it is, so that updated_at moves only
    // when one of them differs: a PATCH that changes nothing is no change.
    const [row] = await this.db.query<EndpointRow>(
      `UPDATE webhook_endpoints e
          SET (url, events, description, enabled, disabled_reason, failing_since, updated_at) = (
                SELECT n.url, n.events, n.description, n.enabled, n.disabled_reason, n.failing_since,
                       CASE WHEN (n.url, n.events, n.description, n.enabled, n.disabled_reason, n.failing_since)
                                 IS DISTINCT FROM (e.url, e.events, e.description, e.enabled, e.disabled_reason, e.failing_since)
                            THEN now() ELSE e.updated_at END
                  FROM (SELECT coalesce($3, e.url) AS url,
                               CASE WHEN $4::boolean THEN $5::text[] ELSE e.events END AS events,
                               CASE WHEN $6::boolean THEN $7 ELSE e.description END AS description,
                               coalesce($8, e.enabled) AS enabled,
                               -- enabling again starts the failure clock afresh
                               CASE WHEN $8 IS TRUE THEN NULL ELSE e.disabled_reason END AS disabled_reason,
                               CASE WHEN $8 IS TRUE AND NOT e.enabled THEN NULL ELSE e.failing_since END AS failing_since) n
              )
        WHERE e.app_id = $1 AND e.id = $2
        RETURNING ${COLUMNS}`,
      [
        appId,
        id,
        body.url ?? null,
        body.events !== undefined,
        body.events?.length ? body.events : null,
        body.description !== undefined,
        body.description ?? null,
        body.enabled ?? null,
      ],
    );
    if (!row) throw notFound();
    this.logger.log({ message: 'webhook endpoint updated', appId, endpointId: id, enabled: row.enabled });
    return toView(row);
  }

  async remove(appId: string, id: string): Promise<void> {
    const rows = await this.db.query('DELETE FROM webhook_endpoints WHERE app_id = $1 AND id = $2 RETURNING id', [appId, id]);
    if (rows.length === 0) throw notFound();
    this.logger.log({ message: 'webhook endpoint deleted', appId, endpointId: id });
  }

  /**
   * A new secret signs from now on; the one it replaces signs too, beside it, for
   * WEBHOOK_OUT_SECRET_GRACE_HOURS (on the database's clock), so that receivers can switch without
   * refusing deliveries meanwhile. Rotating again within that time drops the older one.
   */
  async rotateSecret(appId: string, id: string): Promise<WebhookEndpointWithSecret> {
    const secret = newWebhookSecret();
    const graceHours = this.config.get('WEBHOOK_OUT_SECRET_GRACE_HOURS');
    const [row] = await this.db.query<EndpointRow>(
      `UPDATE webhook_endpoints
          SET previous_secret_encrypted = CASE WHEN $4::float8 > 0 THEN secret_encrypted END,
              previous_secret_until = CASE WHEN $4::float8 > 0 THEN now() + make_interval(secs => $4::float8 * 3600) END,
              secret_encrypted = $3, updated_at = now()
        WHERE app_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
      [appId, id, this.cipher.encrypt(secret, secretContext(id)), graceHours],
    );
    if (!row) throw notFound();
    this.logger.log({ message: 'webhook secret rotated', appId, endpointId: id, previousSecretGraceHours: graceHours });
    return { ...toView(row), secret };
  }

  /** The endpoint, or 404: an app sees only its own. */
  async row(db: SqlExecutor, appId: string, id: string): Promise<EndpointRow> {
    const [row] = await db.query<EndpointRow>(`SELECT ${COLUMNS} FROM webhook_endpoints WHERE app_id = $1 AND id = $2`, [appId, id]);
    if (!row) throw notFound();
    return row;
  }

  /** https on a public address, unless WEBHOOK_OUT_ALLOW_PRIVATE; checked again on every connection. */
  private async checkUrl(text: string): Promise<void> {
    if (this.config.get('WEBHOOK_OUT_ALLOW_PRIVATE')) return;
    const url = new URL(text);
    if (url.protocol !== 'https:') {
      throw new BadRequestException('url must be an https:// URL (http:// is accepted only when WEBHOOK_OUT_ALLOW_PRIVATE=true)');
    }
    const problem = await publicHostProblem(url);
    if (problem?.kind === 'unresolved') {
      // Only a resolved name can be checked for being public: nothing is saved until it resolves.
      throw new BadRequestException(`url's host must resolve: ${problem.detail}; check the host name, or try again if its DNS record is new or DNS is failing`);
    }
    if (problem) {
      throw new BadRequestException(`url must point to a public address: ${problem.detail} (private addresses are accepted only when WEBHOOK_OUT_ALLOW_PRIVATE=true)`);
    }
  }
}

export function notFound(): NotFoundException {
  return new NotFoundException('No such webhook in this app: list them with GET /v3/webhooks');
}
