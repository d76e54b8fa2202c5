import { configSchema, type AppConfigValues, type Role } from './config.schema';

export class ConfigError extends Error {}

/** Variables whose values are never echoed back, even when they are wrong. */
const SECRET_VARIABLES = new Set(['ADMIN_TOKEN', 'SECRET_KEY', 'DATABASE_URL']);

/** The validated configuration, injectable everywhere. */
export class AppConfig {
  private constructor(readonly values: AppConfigValues) {}

  /**
   * Validates the environment. Empty strings count as unset, so `FOO=` means "use the default".
   * Throws a ConfigError whose message is one line naming the variable and what it accepts.
   */
  static fromEnv(env: Record<string, string | undefined>): AppConfig {
    const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
    const parsed = configSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const name = String(issue.path[0] ?? 'configuration');
      const message = issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
      const got = SECRET_VARIABLES.has(name) ? '' : ` (got "${String(input[name])}")`;
      throw new ConfigError(`Invalid configuration: ${message}${got}`);
    }
    return new AppConfig(parsed.data);
  }

  get<K extends keyof AppConfigValues>(key: K): AppConfigValues[K] {
    return this.values[key];
  }

  /** Where callback URLs point: PUBLIC_BASE_URL, else the bind address. */
  get publicBaseUrl(): string {
    return this.values.PUBLIC_BASE_URL ?? `http://${this.values.HOST}:${this.values.PORT}`;
  }

  /** Whether this process takes on that kind of work (ROLES). */
  runs(role: Role): boolean {
    return this.values.ROLES.includes(role);
  }

  get usesEmbeddedDatabase(): boolean {
    return !this.values.DATABASE_URL;
  }
}
