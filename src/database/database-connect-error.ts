import { isDatabaseUnavailable } from './database-unavailable';

/**
 * The first connection to the database failed. Its message is one line for the operator: which
 * setting points where (a URL's password masked), and why it failed. Exit code 69 (EX_UNAVAILABLE)
 * when the server could not be reached, which may pass; 78 (EX_CONFIG) when it answered and
 * refused (credentials, a database that does not exist), which a setting must fix.
 */
export class DatabaseConnectError extends Error {
  readonly exitCode: 69 | 78;

  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'DatabaseConnectError';
    // The one line says it all: a stack would bury it (the cause keeps the original error).
    this.stack = `${this.name}: ${message}`;
    this.exitCode = isDatabaseUnavailable(cause) ? 69 : 78;
  }
}

/** A connection URL fit to print: its password (in the authority or a `password` parameter) replaced by ****. */
export function maskedDatabaseUrl(url: string): string {
  if (!URL.canParse(url)) return '(not a valid URL)';
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '****';
  if (parsed.searchParams.has('password')) parsed.searchParams.set('password', '****');
  return parsed.toString();
}

/** host:port a URL names (PostgreSQL's default port when it names none). */
function urlAddress(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  return `${host}:${parsed.port || parsed.searchParams.get('port') || 5432}`;
}

export interface ConnectionTarget {
  /** How the operator named the server, e.g. `DATABASE_URL=postgres://app:****@db:5432/notify`. */
  setting: string;
  /** Its host:port, when known. */
  address?: string;
  /** The variable to correct, for the advice. */
  variable: string;
  connectTimeoutMs: number;
}

/** The server a connection URL names, as the variable that holds it (DATABASE_URL, or DATABASE_READ_URL for the replica). */
export function databaseUrlTarget(url: string, connectTimeoutMs: number, variable = 'DATABASE_URL'): ConnectionTarget {
  return { setting: `${variable}=${maskedDatabaseUrl(url)}`, address: urlAddress(url), variable, connectTimeoutMs };
}

/** The password a URL carries, as written and decoded: never to appear in a message. */
export function urlSecrets(url: string): string[] {
  if (!URL.canParse(url)) return [url];
  const parsed = new URL(url);
  const written = [parsed.password, parsed.searchParams.get('password') ?? ''].filter((secret) => secret !== '');
  return [...written, ...written.map((secret) => decodeURIComponent(secret))];
}

/** Why the connection failed, and what to check, in words; never a password, even one the server echoed. */
export function describeConnectFailure(error: unknown, target: ConnectionTarget, secrets: string[] = []): string {
  const { code, message, address: errorAddress, port: errorPort } = (error ?? {}) as { code?: unknown; message?: unknown; address?: unknown; port?: unknown };
  const address = typeof errorAddress === 'string' && typeof errorPort === 'number' ? `${errorAddress}:${errorPort}` : (target.address ?? 'the server');
  const text = typeof message === 'string' ? message : String(error);
  const why = (() => {
    switch (code) {
      case 'ECONNREFUSED':
        return `connection refused by ${address}: check that PostgreSQL runs there and that ${target.variable} names the right host and port`;
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `${address.replace(/:\d+$/, '')} does not resolve to an address (${code}): check the host in ${target.variable}`;
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return `${address} cannot be reached from here (${code}): check the host in ${target.variable} and the network between`;
      case 'ETIMEDOUT':
        return `no answer from ${address} (ETIMEDOUT): check that PostgreSQL runs there and that no firewall drops the connection`;
      case '28P01':
      case '28000':
        return `${address} refused the credentials (${text}): check the user and password in ${target.variable}`;
      case '3D000':
        return `${text} on ${address}: create it, or name an existing database in ${target.variable}`;
      default:
        if (/timeout exceeded when trying to connect/i.test(text)) {
          return `no answer from ${address} within DATABASE_CONNECT_TIMEOUT_MS=${target.connectTimeoutMs}: check that PostgreSQL runs there and that no firewall drops the connection`;
        }
        return `${text} (${address})`;
    }
  })();
  return secrets.filter((secret) => secret.length > 0).reduce((line, secret) => line.split(secret).join('****'), `Cannot connect to the database at ${target.setting}: ${why}`);
}
