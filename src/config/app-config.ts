import type { DataSource } from 'typeorm';
import { configSchema, type AppConfigValues, type Role } from './config.schema';

export class ConfigError extends Error {}

/** Variables whose values are never echoed back, even when they are wrong. */
const SECRET_VARIABLES = new Set(['ADMIN_TOKEN', 'SECRET_KEY', 'DATABASE_URL', 'DATABASE_READ_URL']);

/** How the service runs as a module of another application (WhatsAppNotifyModule.forRoot). */
export interface HostApplication {
  /** The host's TypeORM DataSource, whose server and credentials the service's own connections use. */
  dataSource?: DataSource;
}

/** The validated configuration, injectable everywhere. */
export class AppConfig {
  private constructor(
    readonly values: AppConfigValues,
    /** Set when another application imports the service as a module; unset for the service on its own. */
    readonly host?: HostApplication,
    /** Start-up neither applies migrations nor requires them: for a command that changes the schema itself. */
    readonly leavesSchemaAlone = false,
    /** Set for the CLI: a short-lived process that must use the service's secrets, never make its own. */
    readonly runsCommands = false,
  ) {}

  /** This configuration for a command that moves the schema itself (migrations:revert). */
  leavingSchemaAlone(): AppConfig {
    return new AppConfig(this.values, this.host, true, this.runsCommands);
  }

  /** This configuration for the CLI (npm run cli). */
  forCommands(): AppConfig {
    return new AppConfig(this.values, this.host, this.leavesSchemaAlone, true);
  }

  /**
   * Validates the environment. Empty strings count as unset, so `FOO=` means "use the default".
   * Throws a ConfigError whose message is one line naming the variable and what it accepts.
   */
  static fromEnv(env: Record<string, string | undefined>): AppConfig {
    const input = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
    return AppConfig.fromSettings(input, (name) => name, 'Invalid configuration');
  }

  /**
   * Validates settings given by variable name (strings or typed values); `nameOf` gives the name a
   * message uses for a variable (a module option's camelCase name, for instance).
   */
  static fromSettings(
    input: Record<string, unknown>,
    nameOf: (variable: string) => string,
    context: string,
    host?: HostApplication,
  ): AppConfig {
    const parsed = configSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const variable = String(issue.path[0] ?? 'configuration');
      const name = nameOf(variable);
      const worded = issue.message.startsWith(variable) ? `${name}${issue.message.slice(variable.length)}` : issue.message;
      const message = worded.startsWith(name) ? worded : `${name}: ${worded}`;
      const got = SECRET_VARIABLES.has(variable) ? '' : ` (got "${String(input[variable])}")`;
      throw new ConfigError(`${context}: ${message}${got}`);
    }
    return new AppConfig(parsed.data, host);
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
    return !this.values.DATABASE_URL && !this.host?.dataSource;
  }
}
