import { Injectable } from '@nestjs/common';
import type { ClaimedJob } from './dispatch-jobs';

/** Why a gate stops a message: `reason` is the discard code (`suppressed`, `outside_session_window`, ...). */
export interface SendGateVerdict {
  reason: string;
  /** What a person reads about it; a default naming the reason is used without it. */
  detail?: string;
}

/**
 * A check every claimed job passes right before its Gupshup call. It answers for the jobs it
 * stops, by message id; a job it leaves out of the map may be sent.
 */
export interface SendGate {
  readonly name: string;
  check(jobs: readonly ClaimedJob[]): Promise<Map<string /* messageId */, SendGateVerdict>>;
}

/** A job a gate stopped, with the gate that did. */
export interface GateStop {
  gate: string;
  verdict: SendGateVerdict;
}

/**
 * The gates of the features that can stop a send (suppressions, the session window, ...). A
 * feature module registers its gate in onModuleInit; the dispatcher runs them all on the jobs of
 * one app at a time, before any of them is called.
 */
@Injectable()
export class SendGates {
  private readonly gates: SendGate[] = [];

  register(gate: SendGate): void {
    if (this.gates.some((known) => known.name === gate.name)) throw new Error(`a send gate named ${gate.name} is already registered`);
    this.gates.push(gate);
  }

  get names(): string[] {
    return this.gates.map((gate) => gate.name);
  }

  /**
   * The jobs stopped, by message id, with the first gate (in order of registration) that stopped
   * each. Rejects when a gate fails: a job is never sent unchecked.
   */
  async check(jobs: readonly ClaimedJob[]): Promise<Map<string, GateStop>> {
    const stopped = new Map<string, GateStop>();
    if (jobs.length === 0 || this.gates.length === 0) return stopped;
    const verdicts = await Promise.all(this.gates.map(async (gate) => ({ gate: gate.name, verdicts: await gate.check(jobs) })));
    for (const { gate, verdicts: byMessage } of verdicts) {
      for (const [messageId, verdict] of byMessage) if (!stopped.has(messageId)) stopped.set(messageId, { gate, verdict });
    }
    return stopped;
  }
}

/**
 * The gates that are asked when a request is accepted as well (a feature registers with both):
 * a message they stop is discarded at once, and the 202 says so. The dispatch-time check stays
 * the one that counts; this one only answers earlier.
 */
@Injectable()
export class AcceptanceGates extends SendGates {}
