import { BadRequestException, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { Database, type SqlExecutor } from '../../database/database';
import { EventStore } from '../../event-store/event-store';
import { appProviderStreamId, GupshupProviderConfigured, SessionWindowEnforcementSet, type ConfigurationActor } from '../app-events';
import { AppsService, type AuthenticatedApp } from '../apps.service';
import { CallbackTokenService } from '../callback-tokens/callback-token.service';
import { CredentialCipher } from './credential-cipher';
import { ProviderPauseSource, type ProviderPause } from './provider-pause-source';
import {
  apiKeyFingerprint,
  GUPSHUP_CHANNEL,
  GUPSHUP_PROVIDER,
  maskSecret,
  resolveGupshupConfig,
  type GupshupConfigInput,
  type GupshupConfigKey,
} from './gupshup-config-rules';

/** The provider as the API shows it: the API key masked to its last 4 characters. */
export interface GupshupProviderView {
  provider: typeof GUPSHUP_PROVIDER;
  channel: typeof GUPSHUP_CHANNEL;
  enabled: boolean;
  config: Partial<Record<GupshupConfigKey, string>>;
  /** Holds the app's callback token. */
  callbackUrl: string;
  acceptLegacyCallbackUrl: boolean;
  /** Messages other than templates go only to numbers that wrote in the last 24 hours. */
  enforceSessionWindow: boolean;
  updatedAt: string;
  /** Set while the app's dispatch is paused by an account-level failure; null otherwise. */
  paused: ProviderPause | null;
}

/** A PUT: `enabled` may be left out only when the body sets nothing but settings (the schema sees to it). */
export interface GupshupProviderInput extends Omit<GupshupConfigInput, 'enabled'> {
  enabled?: boolean;
  acceptLegacyCallbackUrl?: boolean;
  enforceSessionWindow?: boolean;
}

/** Decrypted, for the code that calls Gupshup. When `enabled` is false a value may be empty. */
export interface GupshupCredentials {
  enabled: boolean;
  apiKey: string;
  source: string;
  srcName: string;
}

interface ConfigRow {
  enabled: boolean;
  enforce_session_window: boolean;
  api_key_encrypted: string | null;
  api_key_last4: string | null;
  source: string | null;
  src_name: string | null;
  updated_at: Date;
}

const COLUMNS = 'enabled, enforce_session_window, api_key_encrypted, api_key_last4, source, src_name, updated_at';

export function notConfiguredMessage(): string {
  return `The ${GUPSHUP_PROVIDER} provider is not configured for this app: configure it with PUT /v3/channels/whatsapp/providers/${GUPSHUP_PROVIDER} {"enabled": true, "config": {"API_KEY": "...", "SOURCE": "...", "SRC_NAME": "..."}}`;
}

@Injectable()
export class GupshupProviderConfigService {
  private readonly logger = new Logger(GupshupProviderConfigService.name);

  constructor(
    private readonly db: Database,
    private readonly store: EventStore,
    private readonly cipher: CredentialCipher,
    private readonly apps: AppsService,
    private readonly callbackTokens: CallbackTokenService,
    private readonly pauses: ProviderPauseSource,
  ) {}

  /**
   * Creates or changes the app's configuration. The row and, when anything changed, a
   * GupshupProviderConfigured audit event commit together, and so does a change of
   * acceptLegacyCallbackUrl. A body with acceptLegacyCallbackUrl alone keeps the stored
   * configuration (or stores a disabled, empty one). Throws BadRequestException naming every
   * problem; nothing is stored then.
   */
  async configure(app: AuthenticatedApp, input: GupshupProviderInput, actor: ConfigurationActor): Promise<GupshupProviderView> {
    const view = await this.db.transaction(async (tx) => {
      let row = await this.configureInTransaction(tx, app, input, actor);
      if (input.enforceSessionWindow !== undefined) row = await this.setSessionWindow(tx, app.id, row, input.enforceSessionWindow, actor);
      if (input.acceptLegacyCallbackUrl !== undefined && (await this.callbackTokens.setAcceptLegacy(tx, app.id, input.acceptLegacyCallbackUrl, actor))) {
        row = await this.markChanged(tx, app.id);
      }
      return this.toView(app, row, tx);
    });
    this.callbackTokens.forget(app.id);
    return view;
  }

  private async configureInTransaction(tx: SqlExecutor, app: AuthenticatedApp, input: GupshupProviderInput, actor: ConfigurationActor): Promise<ConfigRow> {
    // One configuration change per app at a time, so each audit event compares with the state before it.
    const locked = await tx.query('SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE', [app.id]);
    if (!locked.length) throw new NotFoundException(`App ${app.id} does not exist`);
    const [stored] = await tx.query<ConfigRow>(`SELECT ${COLUMNS} FROM app_provider_configs WHERE app_id = $1 AND provider = $2`, [
      app.id,
      GUPSHUP_PROVIDER,
    ]);
    const resolved = resolveGupshupConfig(
      { config: input.config, enabled: input.enabled ?? stored?.enabled ?? false },
      stored
        ? { hasApiKey: stored.api_key_encrypted !== null, apiKeyLast4: stored.api_key_last4, source: stored.source, srcName: stored.src_name }
        : null,
    );
    if (resolved.error) throw new BadRequestException(resolved.error);
    const next = resolved.value!;

    const changedKeys: GupshupConfigKey[] = [];
    let encrypted = stored?.api_key_encrypted ?? null;
    let last4 = stored?.api_key_last4 ?? null;
    let fingerprintKey: string | null = stored?.api_key_encrypted ? this.decryptOrNull(app.id, stored.api_key_encrypted) : null;
    if (next.apiKey !== undefined && next.apiKey !== fingerprintKey) {
      changedKeys.push('API_KEY');
      encrypted = this.cipher.encrypt(next.apiKey, cipherContext(app.id));
      last4 = next.apiKey.slice(-4);
      fingerprintKey = next.apiKey;
    }
    if (next.source !== (stored?.source ?? null)) changedKeys.push('SOURCE');
    if (next.srcName !== (stored?.src_name ?? null)) changedKeys.push('SRC_NAME');
    const enabledChanged = !stored || stored.enabled !== next.enabled;
    if (stored && !enabledChanged && changedKeys.length === 0) return stored;

    const [saved] = await tx.query<ConfigRow>(
      `INSERT INTO app_provider_configs (app_id, provider, enabled, api_key_encrypted, api_key_last4, source, src_name)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (app_id, provider) DO UPDATE SET
         enabled = EXCLUDED.enabled, api_key_encrypted = EXCLUDED.api_key_encrypted, api_key_last4 = EXCLUDED.api_key_last4,
         source = EXCLUDED.source, src_name = EXCLUDED.src_name, updated_at = now()
       RETURNING ${COLUMNS}`,
      [app.id, GUPSHUP_PROVIDER, next.enabled, encrypted, last4, next.source, next.srcName],
    );
    await this.store.append(
      appProviderStreamId(app.id),
      [
        new GupshupProviderConfigured({
          appId: app.id,
          provider: GUPSHUP_PROVIDER,
          channel: GUPSHUP_CHANNEL,
          actor,
          at: saved.updated_at.toISOString(),
          enabled: next.enabled,
          previouslyEnabled: stored ? stored.enabled : null,
          changedKeys,
          apiKeyFingerprint: fingerprintKey ? apiKeyFingerprint(fingerprintKey) : last4 ? maskSecret(last4) : null,
          source: next.source,
          srcName: next.srcName,
        }),
      ],
      { tx },
    );
    return saved;
  }

  /** The row with enforce_session_window set, and the change recorded when it is one. */
  private async setSessionWindow(tx: SqlExecutor, appId: string, row: ConfigRow, enforce: boolean, actor: ConfigurationActor): Promise<ConfigRow> {
    if (row.enforce_session_window === enforce) return row;
    const [saved] = await tx.query<ConfigRow>(
      `UPDATE app_provider_configs SET enforce_session_window = $3, updated_at = now() WHERE app_id = $1 AND provider = $2 RETURNING ${COLUMNS}`,
      [appId, GUPSHUP_PROVIDER, enforce],
    );
    await this.store.append(
      appProviderStreamId(appId),
      [new SessionWindowEnforcementSet({ appId, enforce, previously: row.enforce_session_window, actor, at: saved.updated_at.toISOString() })],
      { tx },
    );
    return saved;
  }

  /**
   * The row with updated_at moved, for a setting the configuration shows but the app's row keeps
   * (acceptLegacyCallbackUrl): the configuration changed all the same.
   */
  private async markChanged(tx: SqlExecutor, appId: string): Promise<ConfigRow> {
    const [saved] = await tx.query<ConfigRow>(`UPDATE app_provider_configs SET updated_at = now() WHERE app_id = $1 AND provider = $2 RETURNING ${COLUMNS}`, [
      appId,
      GUPSHUP_PROVIDER,
    ]);
    return saved;
  }

  /** Whether the app's messages other than templates are held to the 24-hour session window (false before any PUT). */
  async enforcesSessionWindow(appId: string): Promise<boolean> {
    return (await this.findRow(appId))?.enforce_session_window ?? false;
  }

  /** The app's configuration as the API shows it, or null before the first PUT. */
  async view(app: AuthenticatedApp, tx?: SqlExecutor): Promise<GupshupProviderView | null> {
    const row = await this.findRow(app.id, tx);
    return row ? this.toView(app, row, tx) : null;
  }

  /**
   * The decrypted credentials for sending, or null when the app never configured the provider.
   * Throws CredentialDecryptionError when the stored key cannot be decrypted (SECRET_KEY changed).
   */
  async getCredentials(appId: string, tx?: SqlExecutor): Promise<GupshupCredentials | null> {
    const row = await this.findRow(appId, tx);
    if (!row) return null;
    return {
      enabled: row.enabled,
      apiKey: row.api_key_encrypted ? this.cipher.decrypt(row.api_key_encrypted, cipherContext(appId)) : '',
      source: row.source ?? '',
      srcName: row.src_name ?? '',
    };
  }

  /** For the admin routes, which name the app by id. */
  async appById(appId: string): Promise<AuthenticatedApp> {
    const app = await this.apps.findById(appId);
    if (!app) throw new NotFoundException(`No app with id ${appId}: list the apps with GET /admin/apps`);
    return app;
  }

  private async findRow(appId: string, tx?: SqlExecutor): Promise<ConfigRow | undefined> {
    const [row] = await (tx ?? this.db).query<ConfigRow>(`SELECT ${COLUMNS} FROM app_provider_configs WHERE app_id = $1 AND provider = $2`, [
      appId,
      GUPSHUP_PROVIDER,
    ]);
    return row;
  }

  /** A stored key that no longer decrypts (SECRET_KEY changed) is treated as different from any new one, so a PUT replaces it. */
  private decryptOrNull(appId: string, encrypted: string): string | null {
    try {
      return this.cipher.decrypt(encrypted, cipherContext(appId));
    } catch (error) {
      this.logger.warn(`app ${appId}: the stored ${GUPSHUP_PROVIDER} API key cannot be decrypted (${(error as Error).message})`);
      return null;
    }
  }

  private async toView(app: AuthenticatedApp, row: ConfigRow, tx?: SqlExecutor): Promise<GupshupProviderView> {
    const config: Partial<Record<GupshupConfigKey, string>> = {};
    if (row.api_key_last4 !== null) config.API_KEY = maskSecret(row.api_key_last4);
    if (row.source !== null) config.SOURCE = row.source;
    if (row.src_name !== null) config.SRC_NAME = row.src_name;
    return {
      provider: GUPSHUP_PROVIDER,
      channel: GUPSHUP_CHANNEL,
      enabled: row.enabled,
      config,
      callbackUrl: await this.callbackTokens.callbackUrl(app, tx),
      acceptLegacyCallbackUrl: await this.callbackTokens.acceptsLegacy(app.id, tx),
      enforceSessionWindow: row.enforce_session_window,
      updatedAt: row.updated_at.toISOString(),
      paused: await this.pauses.pauseOf(app.id, tx),
    };
  }
}

/** Binds each ciphertext to its app and provider. */
function cipherContext(appId: string): string {
  return `${appId}:${GUPSHUP_PROVIDER}:API_KEY`;
}
