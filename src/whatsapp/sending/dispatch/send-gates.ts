import { Injectable } from '@nestjs/common';
import type { ClaimedJob } from './dispatch-jobs';

/** Why a job must not go to Gupshup: `reason` becomes the discard code, `detail` its reason. */
export interface SendGateVerdict {
  reason: string;
  detail?: string;
}

/** A check other features make on claimed jobs right before Gupshup is called. */
export interface SendGate {
  readonly name: string;
  check(jobs: readonly ClaimedJob[]): Promise<Map<string /* messageId */, SendGateVerdict>>;
}

/**
 * The gates registered by feature modules (in their onModuleInit). The dispatcher asks them all
 * before calling Gupshup; a job with a verdict is discarded with that reason and never sent.
 */
@Injectable()
export class SendGates {
  private readonly gates: SendGate[] = [];

  register(gate: SendGate): void {
    this.gates.push(gate);
  }

  /** Each refused job's first verdict, gates asked in the order they registered. */
  async check(jobs: readonly ClaimedJob[]): Promise<Map<string, SendGateVerdict>> {
    const verdicts = new Map<string, SendGateVerdict>();
    let open = jobs;
    for (const gate of this.gates) {
      if (open.length === 0) break;
      for (const [messageId, verdict] of await gate.check(open)) if (!verdicts.has(messageId)) verdicts.set(messageId, verdict);
      open = open.filter((job) => !verdicts.has(job.messageId));
    }
    return verdicts;
  }
}
