import { createServer } from 'node:net';
import { ConfigError } from '../config/app-config';

/**
 * What a failed listen on HOST:PORT means, in one line that names the setting to change.
 * Node's own message (`listen EADDRINUSE: address already in use 127.0.0.1:3000`,
 * `getaddrinfo ENOTFOUND ...`) names neither variable.
 */
export function describeListenError(error: unknown, host: string, port: number): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  switch (code) {
    case 'EADDRINUSE':
      return `PORT ${port} is already in use on ${host}: stop what listens there or set PORT to a free port`;
    case 'EACCES':
      return `PORT ${port} on ${host} needs privileges this process lacks (ports below 1024 usually do): set PORT to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `HOST=${host} is not an address of this machine: set HOST to one of its addresses (0.0.0.0 for all of them, 127.0.0.1 for this machine alone)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return `HOST=${host} does not resolve to an address (${String(code)}): set HOST to an IP address of this machine, or to a name that resolves to one`;
    default:
      return `cannot listen on HOST=${host} PORT=${port}: ${typeof message === 'string' ? message : String(error)}`;
  }
}

/** A ConfigError for a listen that failed: main.ts prints its one line and stops with exit code 78. */
export function listenConfigError(error: unknown, host: string, port: number): ConfigError {
  return new ConfigError(`Cannot listen: ${describeListenError(error, host, port)}`);
}

/**
 * Binds HOST:PORT and lets go at once, so that an address that cannot be had stops the start-up
 * before the database is migrated and workers start. (Another process may still take the port in
 * between: the real listen reports that the same way.)
 */
export async function checkCanListen(host: string, port: number): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, resolve);
    });
  } catch (error) {
    throw listenConfigError(error, host, port);
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
