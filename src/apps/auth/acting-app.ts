import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuthenticatedApp } from '../apps.service';

const actingApp = new AsyncLocalStorage<AuthenticatedApp>();

/**
 * Runs `work` as `app`: a request that the process itself dispatches from inside it (the
 * dashboard's session-authenticated calls to the app API, see src/dashboard) is authenticated as
 * that app without its secret, which the service does not keep. Nothing from the network can
 * reach this context: it exists only within this call.
 */
export function runAsApp<T>(app: AuthenticatedApp, work: () => Promise<T>): Promise<T> {
  return actingApp.run(app, work);
}

/** The app of the innermost runAsApp around the current code, if any. */
export function currentActingApp(): AuthenticatedApp | undefined {
  return actingApp.getStore();
}
