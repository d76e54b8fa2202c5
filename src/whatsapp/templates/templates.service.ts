import { Injectable } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import { Database, type SqlExecutor } from '../../database/database';
import { appendToStreams } from '../../event-store';
import { uuidV5 } from '../domain/name-based-uuid';
import type { TemplateStatusReport } from '../gupshup/template-event-parser';
import { UNKNOWN_TEMPLATE_STATUS, type RegisteredTemplate, type TemplateDefinition, type TemplateHeader } from './template-definition';
import {
  templateStatusStreamId,
  templateStreamId,
  WhatsAppTemplateDeleted,
  WhatsAppTemplateSaved,
  WhatsAppTemplateStatusChanged,
} from './template-events';

interface TemplateRow {
  identifier: string;
  gupshup_template_id: string;
  params: string[];
  header: TemplateHeader | null;
  status: string | null;
  updated_at: Date;
}

const SELECT_TEMPLATES = `
  SELECT t.identifier, t.gupshup_template_id, t.params, t.header, s.status, greatest(t.updated_at, s.updated_at) AS updated_at
    FROM whatsapp_templates t
    LEFT JOIN whatsapp_template_statuses s ON s.app_id = t.app_id AND s.gupshup_template_id = t.gupshup_template_id`;

function toTemplate(row: TemplateRow): RegisteredTemplate {
  return {
    identifier: row.identifier,
    gupshupTemplateId: row.gupshup_template_id,
    params: row.params,
    // jsonb keeps keys in its own order: shown in the documented one.
    header: row.header && { type: row.header.type, url: row.header.url, ...(row.header.filename !== undefined ? { filename: row.header.filename } : {}) },
    status: row.status ?? UNKNOWN_TEMPLATE_STATUS,
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Namespace of the status events' ids: one per recorded callback, so translating it again stores nothing twice. */
const TEMPLATE_STATUS_EVENT_NAMESPACE = '5f0c7a4e-2b9d-4c55-9a61-3f1f6c0d8e21';

/**
 * The app's WhatsApp templates: identifiers bound to a Gupshup template, its parameters and header
 * (rows of whatsapp_templates, each change a WhatsAppTemplateSaved or WhatsAppTemplateDeleted in
 * the same transaction), and the status of each Gupshup template, kept by its template-events.
 */
@Injectable()
export class TemplatesService {
  constructor(private readonly db: Database) {}

  /** Registers or replaces the template under `identifier`; an event only when something changed. */
  async save(appId: string, identifier: string, definition: TemplateDefinition): Promise<RegisteredTemplate> {
    const header = definition.header ?? null;
    await this.db.transaction(async (tx) => {
      const [current] = await tx.query<TemplateRow>(
        'SELECT identifier, gupshup_template_id, params, header FROM whatsapp_templates WHERE app_id = $1 AND identifier = $2 FOR UPDATE',
        [appId, identifier],
      );
      if (
        current &&
        current.gupshup_template_id === definition.gupshupTemplateId &&
        isDeepStrictEqual(current.params, definition.params) &&
        isDeepStrictEqual(current.header, header)
      ) {
        return;
      }
      const [saved] = await tx.query<{ updated_at: Date; created: boolean }>(
        `INSERT INTO whatsapp_templates AS t (app_id, identifier, gupshup_template_id, params, header) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (app_id, identifier) DO UPDATE
           SET gupshup_template_id = excluded.gupshup_template_id, params = excluded.params, header = excluded.header, updated_at = now()
         RETURNING t.updated_at, (xmax = 0) AS created`,
        [appId, identifier, definition.gupshupTemplateId, JSON.stringify(definition.params), header === null ? null : JSON.stringify(header)],
      );
      const event = new WhatsAppTemplateSaved({
        appId,
        identifier,
        gupshupTemplateId: definition.gupshupTemplateId,
        params: definition.params,
        header,
        created: saved.created,
        at: saved.updated_at.toISOString(),
      });
      await appendToStreams(tx, [{ streamId: templateStreamId(appId, identifier), events: [event] }]);
    });
    return (await this.find(appId, identifier))!;
  }

  /** Removes the identifier; false when it was not registered. The status of its Gupshup template is kept. */
  async delete(appId: string, identifier: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const [deleted] = await tx.query<{ at: Date }>('DELETE FROM whatsapp_templates WHERE app_id = $1 AND identifier = $2 RETURNING now() AS at', [
        appId,
        identifier,
      ]);
      if (!deleted) return false;
      const event = new WhatsAppTemplateDeleted({ appId, identifier, at: deleted.at.toISOString() });
      await appendToStreams(tx, [{ streamId: templateStreamId(appId, identifier), events: [event] }]);
      return true;
    });
  }

  async find(appId: string, identifier: string, executor: SqlExecutor = this.db): Promise<RegisteredTemplate | null> {
    const [row] = await executor.query<TemplateRow>(`${SELECT_TEMPLATES} WHERE t.app_id = $1 AND t.identifier = $2`, [appId, identifier]);
    return row ? toTemplate(row) : null;
  }

  async list(appId: string): Promise<RegisteredTemplate[]> {
    const rows = await this.db.query<TemplateRow>(`${SELECT_TEMPLATES} WHERE t.app_id = $1 ORDER BY t.identifier`, [appId]);
    return rows.map(toTemplate);
  }

  /** The known status of each of these Gupshup templates (absent: unknown), keyed `${appId} ${gupshupTemplateId}`. */
  async statuses(templates: readonly { appId: string; gupshupTemplateId: string }[]): Promise<Map<string, string>> {
    if (templates.length === 0) return new Map();
    const rows = await this.db.query<{ app_id: string; gupshup_template_id: string; status: string }>(
      `SELECT s.app_id, s.gupshup_template_id, s.status
         FROM whatsapp_template_statuses s
         JOIN unnest($1::text[], $2::text[]) AS k (app_id, gupshup_template_id) USING (app_id, gupshup_template_id)`,
      [templates.map((t) => t.appId), templates.map((t) => t.gupshupTemplateId)],
    );
    return new Map(rows.map((row) => [templateStatusKey(row.app_id, row.gupshup_template_id), row.status]));
  }

  /**
   * Applies a template-event in the caller's transaction: the status is replaced unless a later
   * event already set it (Gupshup's own times decide, so a late copy changes nothing). Returns the
   * event appended, or null when nothing changed.
   */
  async applyStatusReport(
    tx: SqlExecutor,
    appId: string,
    report: TemplateStatusReport,
    callback: { eventId: string; receivedAt: Date },
  ): Promise<WhatsAppTemplateStatusChanged | null> {
    const [current] = await tx.query<{ status: string; occurred_at: Date }>(
      'SELECT status, occurred_at FROM whatsapp_template_statuses WHERE app_id = $1 AND gupshup_template_id = $2 FOR UPDATE',
      [appId, report.gupshupTemplateId],
    );
    if (current && (current.occurred_at > report.occurredAt || current.status === report.status)) return null;
    await tx.query(
      `INSERT INTO whatsapp_template_statuses (app_id, gupshup_template_id, status, reason, occurred_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (app_id, gupshup_template_id) DO UPDATE
         SET status = excluded.status, reason = excluded.reason, occurred_at = excluded.occurred_at, updated_at = now()`,
      [appId, report.gupshupTemplateId, report.status, report.reason ?? null, report.occurredAt],
    );
    const event = new WhatsAppTemplateStatusChanged(
      {
        appId,
        gupshupTemplateId: report.gupshupTemplateId,
        status: report.status,
        previousStatus: current?.status ?? UNKNOWN_TEMPLATE_STATUS,
        ...(report.reason ? { reason: report.reason } : {}),
        ...(report.elementName ? { elementName: report.elementName } : {}),
        ...(report.languageCode ? { languageCode: report.languageCode } : {}),
        occurredAt: report.occurredAt.toISOString(),
        receivedAt: callback.receivedAt.toISOString(),
        callbackEventId: callback.eventId,
      },
      uuidV5(`${callback.eventId}:${report.gupshupTemplateId}`, TEMPLATE_STATUS_EVENT_NAMESPACE),
    );
    await appendToStreams(tx, [{ streamId: templateStatusStreamId(appId, report.gupshupTemplateId), events: [event] }]);
    return event;
  }
}

export function templateStatusKey(appId: string, gupshupTemplateId: string): string {
  return `${appId} ${gupshupTemplateId}`;
}
