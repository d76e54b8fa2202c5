import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line written while handling one HTTP request says about it. */
export interface RequestContext {
  /** The request's x-request-id. */
  readonly requestId: string;
  /** The app the request authenticated as, once it has. */
  appId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work`, and everything it starts, as part of the request `context`. */
export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The request being handled, if any: undefined in background work (dispatch, subscriptions, timers). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Names the authenticated app on the lines the current request writes from now on, and on its access line. */
export function setRequestAppId(appId: string): void {
  const context = storage.getStore();
  if (context) context.appId = appId;
}
