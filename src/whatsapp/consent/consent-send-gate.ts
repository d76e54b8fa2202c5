import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AcceptanceGates, action, SendGates, type ClaimedJob, type SendGate, type SendGateVerdict } from '../sending';
import { ConsentMetrics } from './consent.metrics';
import { ConsentPolicy, isTemplateSend } from './consent-policy';
import { numberOfDestination } from './contact-number';

/**
 * Consent as a send gate: asked when a request is accepted (the jobs then have attempt 0) and
 * right before each call to Gupshup, so that a number suppressed after its message was queued is
 * not sent to.
 */
@Injectable()
export class ConsentSendGate implements SendGate, OnModuleInit {
  readonly name = 'consent';
  private readonly logger = new Logger('Consent');

  constructor(
    private readonly gates: SendGates,
    private readonly acceptanceGates: AcceptanceGates,
    private readonly policy: ConsentPolicy,
    private readonly metrics: ConsentMetrics,
  ) {}

  onModuleInit(): void {
    this.gates.register(this);
    this.acceptanceGates.register(this);
  }

  async check(jobs: readonly ClaimedJob[]): Promise<Map<string, SendGateVerdict>> {
    const verdicts = new Map<string, SendGateVerdict>();
    const byApp = new Map<string, ClaimedJob[]>();
    for (const job of jobs) {
      const list = byApp.get(job.appId);
      if (list) list.push(job);
      else byApp.set(job.appId, [job]);
    }
    for (const [appId, appJobs] of byApp) {
      const candidates = appJobs.map((job) => ({ messageId: job.messageId, phoneNumber: numberOfDestination(job.destination), template: isTemplateSend(job.content) }));
      const found = await this.policy.verdicts(appId, candidates);
      for (const job of appJobs) {
        const verdict = found.get(job.messageId);
        if (!verdict) continue;
        verdicts.set(job.messageId, { reason: verdict.code, detail: verdict.reason });
        const stage = job.attempt === 0 ? 'accept' : 'dispatch';
        this.metrics.refused(verdict.code, stage);
        const line = { message: `message not sent: ${verdict.code}`, appId, messageId: job.messageId, requestId: job.requestId, code: verdict.code, stage };
        // When the request is accepted this is the message's discard line (warn, as every discard);
        // before a call it is the info `refused` line, and the dispatcher's discard line follows it.
        if (stage === 'accept') this.logger.warn({ ...line, discardReason: verdict.code, ...action('discard') });
        else this.logger.log({ ...line, ...action('refused') });
      }
    }
    return verdicts;
  }
}
