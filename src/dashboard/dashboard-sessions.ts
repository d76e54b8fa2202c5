import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { Database } from '../database/database';

export type DashboardSessionKind = 'app' | 'admin';

/** A signed-in browser: an app's people (acting as that app), or the admin (acting as the app chosen last). */
export interface DashboardSession {
  idHash: string;
  kind: DashboardSessionKind;
  /** The app the session acts as; null for an admin who has not chosen one yet. */
  appId: string | null;
  expiresAt: Date;
}

interface SessionRow {
  id_hash: string;
  kind: DashboardSessionKind;
  app_id: string | null;
  expires_at: Date;
}

/** 32 random bytes, URL-safe: the cookie's value. */
function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

function hashOf(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('base64url');
}

/**
 * Server-side sessions in PostgreSQL: any instance can read them, signing out ends them at once,
 * and they expire DASHBOARD_SESSION_TTL_MINUTES after sign-in whatever the browser does with its
 * cookie. Only a hash of the cookie's value is stored.
 */
@Injectable()
export class DashboardSessions {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
  ) {}

  get ttlSeconds(): number {
    return this.config.get('DASHBOARD_SESSION_TTL_MINUTES') * 60;
  }

  /** A new session; answers the cookie's value (shown to nobody else) with the session. */
  async create(kind: DashboardSessionKind, appId: string | null): Promise<{ sessionId: string; session: DashboardSession }> {
    const sessionId = newSessionId();
    // Expired sessions go when new ones come: the table holds at most a TTL's worth of sign-ins.
    await this.db.query('DELETE FROM dashboard_sessions WHERE expires_at < now()');
    const [row] = await this.db.query<SessionRow>(
      `INSERT INTO dashboard_sessions (id_hash, kind, app_id, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))
       RETURNING id_hash, kind, app_id, expires_at`,
      [hashOf(sessionId), kind, appId, this.ttlSeconds],
    );
    return { sessionId, session: toSession(row) };
  }

  /** The live session this cookie value names, or null (unknown, signed out or expired). */
  async find(sessionId: string): Promise<DashboardSession | null> {
    const [row] = await this.db.query<SessionRow>(
      'SELECT id_hash, kind, app_id, expires_at FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > now()',
      [hashOf(sessionId)],
    );
    return row ? toSession(row) : null;
  }

  async chooseApp(session: DashboardSession, appId: string): Promise<void> {
    await this.db.query('UPDATE dashboard_sessions SET app_id = $2 WHERE id_hash = $1', [session.idHash, appId]);
  }

  async end(session: DashboardSession): Promise<void> {
    await this.db.query('DELETE FROM dashboard_sessions WHERE id_hash = $1', [session.idHash]);
  }
}

function toSession(row: SessionRow): DashboardSession {
  return { idHash: row.id_hash, kind: row.kind, appId: row.app_id, expiresAt: row.expires_at };
}
