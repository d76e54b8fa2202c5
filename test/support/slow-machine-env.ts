/**
 * Limits that protect a production service from a stuck database or call, raised for tests: on a
 * machine loaded many times over, a connection or a clean shutdown can take longer than the
 * production default without anything being wrong. Service processes the tests spawn inherit them
 * from the environment (global-setup.ts).
 */
export const SLOW_MACHINE_ENV = { DATABASE_CONNECT_TIMEOUT_MS: '120000', SHUTDOWN_TIMEOUT_MS: '120000' } as const;
