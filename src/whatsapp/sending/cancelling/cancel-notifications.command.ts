import { Command } from '@nestjs/cqrs';

/** What to cancel: one send request, or the runs of a workflow sent with a cancellation key (optionally for some recipients only). */
export type CancellationTarget =
  | { requestId: string }
  | { workflowIdentifier: string; cancellationKey: string; recipients?: string[] };

export interface CancelNotificationsResult {
  /** Messages discarded as `cancelled`: those not yet handed to Gupshup. */
  cancelled: number;
}

/**
 * Cancels an app's queued WhatsApp messages: the in-process form of POST /v3/notifications/{requestId}/cancel
 * and POST /v4/workflows/{identifier}/cancel-run. Fails with NothingToCancelError (404) when the app has no
 * such request or workflow run.
 */
export class CancelWhatsAppNotificationsCommand extends Command<CancelNotificationsResult> {
  constructor(
    readonly appId: string,
    readonly target: CancellationTarget,
  ) {
    super();
  }
}
