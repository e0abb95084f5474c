// regionFailover: the primary region is down (or a drill says so). Probe, verify the replica, wait for
// an operator's go, switch direct access to the replica, make sure it takes writes, reverse replication.
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineUpdate,
  executeChild,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { FailoverActivities, ProbeResult } from '../activities/failover';
import type { ReplicationActivities } from '../activities/replication';
import { ErrorType } from '../core/errors';
import { ActiveRegionRecord, failoverReadiness, Readiness, RegionFailoverInput } from '../core/failover';
import type { BucketPair, ReplicationLag } from '../core/replication';
import { BEHIND_CLASSES, DIFF_CLASSES, DiffClass } from '../core/replica-diff';
import { Step } from '../core/steps';
import { markPhase, markRun } from './lib/search-attributes';
import { parseWorkflowInput, refuseExtraInput } from './lib/input';
import { StepLog } from './lib/steps';
import { verifyReplica, VerifyReplicaResult } from './verify-replica';

export { RegionFailoverInput };

export interface ApprovalDecision {
  approved: boolean;
  by?: string;
  comment?: string;
}

export interface GateState {
  waiting: boolean;
  readiness?: Readiness;
  decision?: ApprovalDecision;
  /** ISO instant after which the gate gives up. */
  deadline?: string;
}

/** Who decides and why: `{}` is enough; the Web UI sends the JSON object typed in. */
export interface DecisionInput {
  by?: string;
  comment?: string;
}
export const approveUpdate = defineUpdate<GateState, [DecisionInput]>('approve');
export const rejectUpdate = defineUpdate<GateState, [DecisionInput]>('reject');
export const gateQuery = defineQuery<GateState>('gate');

/** What the failover's verification reports (the verifyReplica child's result, in the parts used here). */
export interface VerifySummary {
  sourceReachable: boolean;
  rpoSeconds: number | null;
  /** Keys whose latest change the replica does not have (missing, stale, pending, failed). */
  keysBehind: number | null;
  detail: string;
  workflowId: string;
}

export interface RegionFailoverResult {
  workflowId: string;
  /** A dry run: probed, verified and assessed; nothing asked, nothing switched. */
  dryRun: boolean;
  pair: BucketPair;
  active: { region: string; bucket: string };
  source: ProbeResult;
  verification?: VerifySummary;
  lag?: ReplicationLag;
  readiness: Readiness;
  approval?: ApprovalDecision & { auto: boolean; waitedSeconds: number };
  /** From the start to the moment the replica took the active-region record (a write). */
  rtoSeconds?: number;
  /** The same, without the time spent waiting for the operator. */
  rtoWithoutApprovalSeconds?: number;
  rpoSeconds: number | null;
  reverseReplication?: string;
  promotion?: string[];
  steps: Step[];
  startedAt: string;
  finishedAt: string;
}

const probes = proxyActivities<FailoverActivities & ReplicationActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});
const changes = proxyActivities<FailoverActivities & ReplicationActivities>({
  // A Ceph zone promotion commits a period and restarts a gateway: tens of seconds.
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 10 },
});

function fail(message: string, type: string): never {
  throw ApplicationFailure.create({ message, type, nonRetryable: true });
}

/** Runs verifyReplica as a child and reads the parts the failover needs from its result. */
export async function verifyAsChild(
  workflowId: string,
  source: { region: string; bucket: string },
  replica: { region: string; bucket: string },
  compareVersionIds = true,
): Promise<VerifySummary> {
  const r = await executeChild(verifyReplica, {
    workflowId,
    args: [{ source, replica, compareVersionIds }],
  });
  return summarizeVerification(r);
}

/** Keys where the replica lacks a change of the source, or holds different bytes. */
const BEHIND: readonly DiffClass[] = [...BEHIND_CLASSES, 'content-mismatch'];

export function summarizeVerification(r: VerifyReplicaResult): VerifySummary {
  const behind = BEHIND.reduce((n, c) => n + r.counts[c], 0);
  const found = DIFF_CLASSES.filter((c) => r.counts[c] > 0).map((c) => `${c} ${r.counts[c]}`);
  return {
    workflowId: r.workflowId,
    sourceReachable: r.sourceReachable,
    rpoSeconds: r.sourceReachable ? r.rpoSeconds : null,
    keysBehind: r.sourceReachable ? behind : null,
    detail: r.sourceReachable
      ? `${r.counts.keys} keys: ${found.join(', ') || 'none'}`
      : `the source did not answer (${r.sourceError ?? 'no answer'}): only the replica was listed${r.lastVerification ? '; the last verification is in the report' : ''}`,
  };
}

/**
 * Writes the active-region record naming `active` to both sides (the other may be down), one
 * generation above the newest record either side holds, as the step `name`. Returns the record.
 */
export async function switchDirectAccess(
  log: StepLog,
  name: string,
  to: {
    pair: BucketPair;
    active: { region: string; bucket: string };
    other: { region: string; bucket: string };
    recordKey: string;
    reason?: string;
    timeoutSeconds: number;
  },
): Promise<ActiveRegionRecord> {
  const sides = [to.active, to.other];
  const current = await probes.readActiveRegion({
    sides,
    recordKey: to.recordKey,
    timeoutSeconds: to.timeoutSeconds,
  });
  const record: ActiveRegionRecord = {
    pair: to.pair,
    active: to.active,
    since: new Date().toISOString(),
    by: workflowInfo().workflowId,
    reason: to.reason,
    generation: (current?.generation ?? 0) + 1,
  };
  await log.run(
    name,
    () =>
      changes.writeActiveRegion({
        record,
        recordKey: to.recordKey,
        sides,
        timeoutSeconds: to.timeoutSeconds,
      }),
    undefined,
    (w) =>
      `active region ${to.active.region} written to ${w.written.join(', ')}${w.unreachable.length ? `; not to ${w.unreachable.map((u) => u.side).join(', ')} (down)` : ''}`,
  );
  return record;
}

export async function regionFailover(
  input: RegionFailoverInput,
  ...extra: unknown[]
): Promise<RegionFailoverResult> {
  refuseExtraInput('regionFailover', undefined, extra);
  const req = parseWorkflowInput(RegionFailoverInput, input, 'regionFailover');
  const pair: BucketPair = { source: req.source, replica: req.replica };
  const startedAt = new Date().toISOString();
  const id = workflowInfo().workflowId;
  const src = `${req.source.region}/${req.source.bucket}`;
  const rep = `${req.replica.region}/${req.replica.bucket}`;
  const log = new StepLog(`failover of ${src} to ${rep}${req.autoApprove ? ' (auto-approved)' : ''}`);
  markRun('regionFailover', src);
  markPhase('probe');

  const gate: GateState = { waiting: false };
  setHandler(gateQuery, () => gate);
  const decide = (approved: boolean) => (d: DecisionInput) => {
    gate.decision = { approved, by: d?.by, comment: d?.comment }; // d may be null from the Web UI
    gate.waiting = false;
    return gate;
  };
  const onlyAtGate = (_d: DecisionInput) => {
    if (!gate.waiting) throw new Error('the failover is not waiting for approval');
  };
  setHandler(approveUpdate, decide(true), { validator: onlyAtGate });
  setHandler(rejectUpdate, decide(false), { validator: onlyAtGate });

  const timeout = req.probeTimeoutSeconds;
  const source = await log.run(
    'probe source',
    () => probes.probeRegion({ ...req.source, timeoutSeconds: timeout }),
    (p) => ({ latencyMs: p.latencyMs }),
    (p) => (p.healthy ? `${src} answers` : `${src} does not answer: ${p.error}`),
  );
  const replica = await log.run(
    'probe replica',
    () => probes.probeRegion({ ...req.replica, timeoutSeconds: timeout }),
    (p) => ({ latencyMs: p.latencyMs }),
    (p) => (p.healthy ? `${rep} answers` : `${rep} does not answer: ${p.error}`),
  );
  if (!replica.healthy)
    fail(
      `the replica ${rep} does not answer (${replica.error}): nothing to fail over to`,
      ErrorType.ReplicaUnavailable,
    );

  markPhase('verify');
  let lag: ReplicationLag | undefined;
  try {
    lag = await log.run(
      'replication lag',
      () => probes.replicationLag(pair),
      (l) => ({ lagSeconds: l.lagSeconds ?? -1, pendingOperations: l.pendingOperations ?? -1 }),
      (l) => `${l.caughtUp ? 'caught up' : 'behind'}: ${l.detail}`,
    );
  } catch {
    // The platform could not say (the source's metrics or sync status are down with it): the
    // verification below still measures what the replica has.
  }
  const verification = await log.run(
    'verify replica',
    () => verifyAsChild(`${id}/verify`, req.source, req.replica, req.compareVersionIds),
    (v) => ({ keysBehind: v.keysBehind ?? -1, rpoSeconds: v.rpoSeconds ?? -1 }),
    (v) => v.detail,
  );
  const rpoSeconds = verification.rpoSeconds ?? lag?.lagSeconds ?? null;
  const readiness = failoverReadiness({
    sourceHealthy: source.healthy,
    replicaHealthy: replica.healthy,
    rpoSeconds,
    rpoObjectiveSeconds: req.rpoObjectiveSeconds,
    keysBehind: verification.keysBehind,
  });
  gate.readiness = readiness;
  const started = Date.parse(startedAt);
  if (req.dryRun) {
    for (const step of ['approval', 'promote replica', 'switch direct access', 'reverse replication'])
      log.skip(step, 'dry run');
    markPhase('dry-run');
    return {
      workflowId: id,
      dryRun: true,
      pair,
      active: req.source,
      source,
      verification,
      lag,
      readiness,
      rpoSeconds,
      steps: log.steps,
      startedAt,
      finishedAt: new Date().toISOString(),
    };
  }

  const gateStarted = Date.now();
  let approval: RegionFailoverResult['approval'];
  if (req.autoApprove) {
    log.skip('approval', `auto-approved: ${readiness.findings.join('; ')}`);
    approval = { approved: true, auto: true, waitedSeconds: 0, by: 'autoApprove' };
  } else {
    markPhase('awaiting-approval');
    gate.waiting = true;
    gate.deadline = new Date(Date.now() + req.approvalTimeoutSeconds * 1000).toISOString();
    const decided = await log.run(
      'wait for approval',
      async () => {
        const ok = await condition(() => gate.decision !== undefined, req.approvalTimeoutSeconds * 1000);
        if (!ok) {
          gate.waiting = false;
          fail(
            `nobody approved the failover within ${req.approvalTimeoutSeconds} s: nothing was changed`,
            ErrorType.ApprovalTimedOut,
          );
        }
        return gate.decision!;
      },
      undefined,
      (d) =>
        `${d.approved ? 'approved' : 'rejected'}${d.by ? ` by ${d.by}` : ''}${d.comment ? `: ${d.comment}` : ''}`,
    );
    if (!decided.approved)
      fail(
        `the failover was rejected${decided.by ? ` by ${decided.by}` : ''}${decided.comment ? `: ${decided.comment}` : ''}; nothing was changed`,
        ErrorType.FailoverRejected,
      );
    approval = { ...decided, auto: false, waitedSeconds: (Date.now() - gateStarted) / 1000 };
  }

  markPhase('switch');
  const promotion = await log.run(
    'promote replica',
    () => changes.promoteRegion({ pair, region: req.replica.region }),
    undefined,
    (steps) => steps.join('; '),
  );
  await log.run(
    'replica keeps versions',
    () => changes.ensureVersioning(req.replica),
    undefined,
    (v) => (v.before === 'Enabled' ? 'versioning enabled' : `versioning was ${v.before}: turned on`),
  );
  const record = await switchDirectAccess(log, 'switch direct access', {
    pair,
    active: req.replica,
    other: req.source,
    recordKey: req.recordKey,
    reason: req.reason,
    timeoutSeconds: timeout,
  });
  const writableAt = Date.now();
  if (req.webhookUrl) {
    const url = req.webhookUrl;
    await log.run('notify webhook', () =>
      changes.notifyWebhook({ url, event: { type: 'lifeboat.failover', record } }),
    );
  }
  let reverseReplication: string | undefined;
  if (req.reverseReplication) {
    markPhase('reverse-replication');
    const state = await log.run(
      'reverse replication',
      () => changes.replicationReverse(pair),
      undefined,
      (s) => `direction ${s.direction}${s.notes.length ? `; ${s.notes.join('; ')}` : ''}`,
    );
    reverseReplication = state.direction;
  } else {
    log.skip('reverse replication', 'reverseReplication: false');
  }
  markPhase('done');
  return {
    workflowId: id,
    dryRun: false,
    pair,
    active: req.replica,
    source,
    verification,
    lag,
    readiness,
    approval,
    rtoSeconds: (writableAt - started) / 1000,
    rtoWithoutApprovalSeconds: (writableAt - started) / 1000 - approval.waitedSeconds,
    rpoSeconds,
    reverseReplication,
    promotion,
    steps: log.steps,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}
