import type { SqlExecutor } from '../../../database/database';

/**
 * Remembers which send requests a workflow run's cancellation key covers: written with the request,
 * read by cancel-run. Plain SQL on whatsapp_cancellation_keys.
 */
export async function recordCancellationKey(tx: SqlExecutor, key: { appId: string; workflow: string; cancellationKey: string; requestId: string }): Promise<void> {
  await tx.query('INSERT INTO whatsapp_cancellation_keys (app_id, workflow, cancellation_key, request_id) VALUES ($1, $2, $3, $4)', [
    key.appId,
    key.workflow,
    key.cancellationKey,
    key.requestId,
  ]);
}

/** The app's requests sent with this workflow and cancellation key, oldest first. */
export async function requestsOfCancellationKey(executor: SqlExecutor, appId: string, workflow: string, cancellationKey: string): Promise<string[]> {
  const rows = await executor.query<{ request_id: string }>(
    'SELECT request_id FROM whatsapp_cancellation_keys WHERE app_id = $1 AND workflow = $2 AND cancellation_key = $3 ORDER BY created_at, request_id',
    [appId, workflow, cancellationKey],
  );
  return rows.map((row) => row.request_id);
}
