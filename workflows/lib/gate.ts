// The blast-radius gate of a writing job, after its plan is counted and before its first write: a plan
// past the thresholds waits for `approve` or `reject` (the same updates and `gate` query as a failover).
import { ApplicationFailure, condition, defineQuery, defineUpdate, setHandler } from '@temporalio/workflow';
import { ErrorType } from '../../core/errors';
import { BlastRadius, BlastRadiusGate, gateDecision, GateThresholds } from '../../core/gate';
import { markPhase } from './search-attributes';
import { StepLog } from './steps';

/** Who decides and why: `{}` is enough; the Web UI sends the JSON object typed in. */
export interface GateDecisionInput {
  by?: string;
  comment?: string;
}

export const approveGateUpdate = defineUpdate<BlastRadiusGate, [GateDecisionInput]>('approve');
export const rejectGateUpdate = defineUpdate<BlastRadiusGate, [GateDecisionInput]>('reject');
export const blastRadiusGateQuery = defineQuery<BlastRadiusGate>('gate');

/** What the job's result records of its gate. */
export interface GateRecord {
  radius: BlastRadius;
  stopped: boolean;
  reasons: string[];
  approval?: { approved: boolean; by?: string; comment?: string; auto: boolean; waitedSeconds: number };
}

/** The gate's state, answered by the `gate` query from the start of the job (not waiting until it is). */
export class Gate {
  readonly state: BlastRadiusGate = { waiting: false };

  constructor() {
    setHandler(blastRadiusGateQuery, () => this.state);
    const decide = (approved: boolean) => (d: GateDecisionInput) => {
      this.state.decision = { approved, by: d?.by, comment: d?.comment }; // d may be null from the Web UI
      this.state.waiting = false;
      return this.state;
    };
    const onlyWhileWaiting = (_d: GateDecisionInput) => {
      if (!this.state.waiting) throw new Error('the job is not waiting at its blast-radius gate');
    };
    setHandler(approveGateUpdate, decide(true), { validator: onlyWhileWaiting });
    setHandler(rejectGateUpdate, decide(false), { validator: onlyWhileWaiting });
  }

  /**
   * Passes when the plan is within the thresholds or `autoApprove` is set (recorded either way);
   * otherwise waits for an operator. Rejected or unanswered: fails non-retryably, nothing written.
   */
  async pass(
    log: StepLog,
    opts: {
      radius: BlastRadius;
      thresholds: GateThresholds;
      autoApprove: boolean;
      timeoutSeconds: number;
      what: string;
      onWaiting?: (waiting: boolean) => void;
    },
  ): Promise<GateRecord> {
    const verdict = gateDecision(opts.radius, opts.thresholds);
    this.state.radius = opts.radius;
    this.state.assessment = verdict;
    const record: GateRecord = { radius: opts.radius, stopped: verdict.stop, reasons: verdict.reasons };
    const counts = () => ({
      keysInScope: opts.radius.keysInScope,
      deletes: opts.radius.deletes,
      overwrites: opts.radius.overwrites,
    });
    if (!verdict.stop) {
      await log.run(
        'blast-radius gate',
        () => Promise.resolve(),
        counts,
        () => `passed: ${verdict.summary}`,
      );
      return record;
    }
    if (opts.autoApprove) {
      this.state.decision = { approved: true, by: 'autoApprove', auto: true };
      record.approval = { approved: true, by: 'autoApprove', auto: true, waitedSeconds: 0 };
      await log.run(
        'blast-radius gate',
        () => Promise.resolve(),
        counts,
        () => `auto-approved (autoApprove: true): ${verdict.reasons.join('; ')}`,
      );
      return record;
    }
    const started = Date.now();
    this.state.waiting = true;
    this.state.deadline = new Date(started + opts.timeoutSeconds * 1000).toISOString();
    markPhase('awaiting-approval');
    opts.onWaiting?.(true);
    const decided = await log.run(
      'blast-radius gate',
      async () => {
        const answered = await condition(
          () => this.state.decision !== undefined,
          opts.timeoutSeconds * 1000,
        ).finally(() => {
          // Whatever ends the wait (an answer, the deadline, a cancellation), the gate is closed.
          this.state.waiting = false;
        });
        if (!answered)
          throw ApplicationFailure.create({
            type: ErrorType.ApprovalTimedOut,
            nonRetryable: true,
            message: `nobody approved the ${opts.what} within ${opts.timeoutSeconds} s (${verdict.reasons.join('; ')}): nothing was written`,
          });
        return this.state.decision!;
      },
      counts,
      (d) =>
        `${d.approved ? 'approved' : 'rejected'}${d.by ? ` by ${d.by}` : ''}${d.comment ? `: ${d.comment}` : ''} (${verdict.reasons.join('; ')})`,
    );
    opts.onWaiting?.(false);
    record.approval = {
      approved: decided.approved,
      by: decided.by,
      comment: decided.comment,
      auto: false,
      waitedSeconds: (Date.now() - started) / 1000,
    };
    if (!decided.approved)
      throw ApplicationFailure.create({
        type: ErrorType.GateRejected,
        nonRetryable: true,
        message: `the ${opts.what} was rejected at its blast-radius gate${decided.by ? ` by ${decided.by}` : ''}${decided.comment ? `: ${decided.comment}` : ''} (${verdict.reasons.join('; ')}): nothing was written`,
      });
    return record;
  }
}
