// regionFailback: the way home. Wait (durably, for days if need be) until the source answers, let the
// platform catch up (or transfer the delta with the bulk engine), verify, switch direct access back,
// and restore the original replication direction. No write made on either side is lost.
import {
  ApplicationFailure,
  condition,
  continueAsNew,
  defineSignal,
  executeChild,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { FailoverActivities, ProbeResult } from '../activities/failover';
import type { ReplicationActivities } from '../activities/replication';
import { ErrorType } from '../core/errors';
import { RegionFailbackInput } from '../core/failover';
import type { BulkJobResult } from './point-in-time-restore';
import type { BucketPair, ReplicationLag } from '../core/replication';
import { compactSteps, Step } from '../core/steps';
import { markPhase, markRun } from './lib/search-attributes';
import { parseWorkflowInput, refuseExtraInput } from './lib/input';
import { StepLog } from './lib/steps';
import { switchDirectAccess, VerifySummary, verifyAsChild } from './region-failover';

export { RegionFailbackInput };

/** Probe the source now instead of at the next interval (the operator knows it is back). */
export const probeNowSignal = defineSignal('probeNow');

export interface RegionFailbackResult {
  workflowId: string;
  pair: BucketPair;
  active: { region: string; bucket: string };
  /** Seconds spent waiting for the source to answer, and the probes it took. */
  waitedSeconds: number;
  probes: number;
  catchUp: { caughtUp: boolean; seconds: number; lag?: ReplicationLag };
  /** The bulk transfer of what the platform's catch-up did not bring (absent when it was not needed). */
  transfer?: { workflowId: string; copied: number; deleted: number; undeleted: number; failed: number };
  verification: VerifySummary;
  /** From the source answering again to direct access switched back. */
  failbackSeconds: number;
  replication?: string;
  steps: Step[];
  startedAt: string;
  finishedAt: string;
}

/** What continue-as-new carries: where the failback is, counters, a compacted step log. */
interface Carried {
  startedAt: string;
  probes: number;
  steps: Step[];
  /** Set once the source answered: the next run goes on with the catch-up. */
  backAt?: string;
  catchUpStartedAt?: string;
}

const probes = proxyActivities<FailoverActivities & ReplicationActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
});
const changes = proxyActivities<FailoverActivities & ReplicationActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2s', maximumInterval: '1 minute', maximumAttempts: 10 },
});

export async function regionFailback(
  input: RegionFailbackInput,
  carried?: Carried,
  ...extra: unknown[]
): Promise<RegionFailbackResult> {
  refuseExtraInput('regionFailback', carried, extra);
  const req = parseWorkflowInput(RegionFailbackInput, input, 'regionFailback');
  const pair: BucketPair = { source: req.source, replica: req.replica };
  const id = workflowInfo().workflowId;
  const startedAt = carried?.startedAt ?? new Date().toISOString();
  const src = `${req.source.region}/${req.source.bucket}`;
  const rep = `${req.replica.region}/${req.replica.bucket}`;
  const log = new StepLog(`failback of ${src} from ${rep}`, compactSteps(carried?.steps ?? []));
  markRun('regionFailback', src);

  let probeNow = false;
  setHandler(probeNowSignal, () => {
    probeNow = true;
  });

  let count = carried?.probes ?? 0;
  let probesThisRun = 0;
  const timeout = req.probeTimeoutSeconds;
  // 1. Wait until the source answers: a durable timer between probes, no busy polling.
  const waitForSource = async (): Promise<number> => {
    markPhase('waiting-for-source');
    const healthy = await log.run(
      `wait for ${src}${carried ? ' (continued)' : ''}`,
      async (): Promise<ProbeResult> => {
        for (;;) {
          const p = await probes.probeRegion({ ...req.source, timeoutSeconds: timeout });
          count++;
          probesThisRun++;
          if (p.healthy) return p;
          const waited = (Date.now() - Date.parse(startedAt)) / 1000;
          if (waited >= req.maxWaitSeconds)
            throw ApplicationFailure.create({
              message: `${src} did not answer within ${req.maxWaitSeconds} s (${count} probes; last: ${p.error}): nothing was changed`,
              type: ErrorType.SourceUnavailable,
              nonRetryable: true,
            });
          if (probesThisRun >= req.probesPerRun) {
            log.closeRunning(`still down after ${count} probes; continued as new`);
            return continueAsNew<typeof regionFailback>(input, {
              startedAt,
              probes: count,
              steps: compactSteps(log.steps),
            });
          }
          probeNow = false;
          await condition(() => probeNow, req.probeIntervalSeconds * 1000);
        }
      },
      (p) => ({ probes: count, latencyMs: p.latencyMs }),
      () => `${src} answers after ${count} probe(s)`,
    );
    void healthy;
    const backAt = Date.now();
    await log.run(
      `rejoin ${src}`,
      () => changes.rejoinRegion({ pair, region: req.source.region }),
      undefined,
      (steps) => steps.join('; '),
    );
    return backAt;
  };
  const backAt = carried?.backAt !== undefined ? Date.parse(carried.backAt) : await waitForSource();

  // 2. The platform's own catch-up (reverse replication set up by the failover), watched, not assumed.
  markPhase('catch-up');
  const catchUpStarted =
    carried?.catchUpStartedAt !== undefined ? Date.parse(carried.catchUpStartedAt) : Date.now();
  let lag: ReplicationLag | undefined;
  // A catch-up of hours continues as new every few hundred polls (runs started before this replay as they ran).
  const boundedCatchUp = patched('catch-up-continue-as-new');
  let pollsThisRun = 0;
  const caughtUp = await log.run(
    `platform catch-up${carried?.catchUpStartedAt ? ' (continued)' : ''}`,
    async () => {
      const deadline = catchUpStarted + req.catchUpTimeoutSeconds * 1000;
      for (;;) {
        if (
          boundedCatchUp &&
          (pollsThisRun >= req.catchUpPollsPerRun || workflowInfo().continueAsNewSuggested)
        ) {
          log.closeRunning(`not caught up after ${pollsThisRun} polls this run; continued as new`);
          return continueAsNew<typeof regionFailback>(input, {
            startedAt,
            probes: count,
            steps: compactSteps(log.steps),
            backAt: new Date(backAt).toISOString(),
            catchUpStartedAt: new Date(catchUpStarted).toISOString(),
          });
        }
        pollsThisRun++;
        try {
          lag = await probes.replicationLag(pair);
          if (lag.caughtUp) return true;
        } catch {
          // The platform cannot say yet (its sync status is coming back up with it): ask again.
        }
        if (Date.now() >= deadline) return false;
        await sleep(req.catchUpPollSeconds * 1000);
      }
    },
    () => ({ seconds: (Date.now() - catchUpStarted) / 1000 }),
    (ok) =>
      ok
        ? `caught up: ${lag?.detail ?? ''}`
        : `not caught up after ${req.catchUpTimeoutSeconds} s: ${lag?.detail ?? 'no answer'}`,
  );
  const catchUp = { caughtUp, seconds: (Date.now() - catchUpStarted) / 1000, lag };

  // 3. Verify the source against the side that served the outage; transfer what is still missing.
  markPhase('verify');
  let verification = await log.run(
    'verify source against replica',
    () => verifyAsChild(`${id}/verify-1`, req.replica, req.source, req.compareVersionIds),
    (v) => ({ keysBehind: v.keysBehind ?? -1 }),
    (v) => v.detail,
  );
  let transfer: RegionFailbackResult['transfer'];
  if ((verification.keysBehind ?? 1) > 0) {
    markPhase('transfer');
    // The replica's current state written into the source as new versions and delete markers: keys
    // that only the source has (written before the outage, never replicated) are not touched.
    const at = new Date().toISOString();
    const transferId = `${id}/transfer`;
    log.progress(
      `transfer of the delta running as ${transferId}: should it stop at its blast-radius gate, approve it with "lifeboat approve ${transferId}"`,
    );
    const r = await log.run(
      'bulk transfer of the delta',
      () =>
        executeChild<(i: unknown) => Promise<BulkJobResult>>('pointInTimeRestore', {
          workflowId: transferId,
          args: [
            {
              source: { ...req.replica, prefix: '' },
              target: { ...req.source, prefix: '' },
              at,
              deleteKeysCreatedAfter: true,
              reason: `failback ${id}`,
              waitForLease: req.waitForLease,
              leaseTtlSeconds: req.leaseTtlSeconds,
              autoApprove: req.autoApprove,
              maxDeleteFraction: req.maxDeleteFraction,
              maxDeleteKeys: req.maxDeleteKeys,
              maxOverwriteFraction: req.maxOverwriteFraction,
              maxOverwriteKeys: req.maxOverwriteKeys,
              approvalTimeoutSeconds: req.approvalTimeoutSeconds,
            },
          ],
        }),
      (j) => ({ copied: j.applied.copy, deleted: j.applied.delete, failed: j.failedCount }),
    );
    transfer = {
      workflowId: transferId,
      copied: r.applied.copy,
      deleted: r.applied.delete,
      undeleted: r.applied.removeMarkers,
      failed: r.failedCount,
    };
    // Copies are new versions with new ids: compare content now, not version ids.
    verification = await log.run(
      'verify again',
      () => verifyAsChild(`${id}/verify-2`, req.replica, req.source, false),
      (v) => ({ keysBehind: v.keysBehind ?? -1 }),
      (v) => v.detail,
    );
  }
  if (verification.keysBehind !== 0)
    throw ApplicationFailure.create({
      message: `${src} still differs from ${rep} (${verification.detail}); direct access stays on ${rep}: see ${verification.workflowId}`,
      type: ErrorType.VerificationFailed,
      nonRetryable: true,
    });

  // 4. Switch back, then replicate source -> replica again.
  markPhase('switch-back');
  await log.run(
    'promote source',
    () => changes.promoteRegion({ pair, region: req.source.region }),
    undefined,
    (s) => s.join('; '),
  );
  const record = await switchDirectAccess(log, 'switch direct access back', {
    pair,
    active: req.source,
    other: req.replica,
    recordKey: req.recordKey,
    reason: req.reason,
    timeoutSeconds: timeout,
  });
  const switchedAt = Date.now();
  if (req.webhookUrl) {
    const url = req.webhookUrl;
    await log.run('notify webhook', () =>
      changes.notifyWebhook({ url, event: { type: 'lifeboat.failback', record } }),
    );
  }
  markPhase('restore-replication');
  const restored = await log.run(
    'restore replication',
    () => changes.replicationRestore(pair),
    undefined,
    (s) => `direction ${s.direction}${s.notes.length ? `; ${s.notes.join('; ')}` : ''}`,
  );
  markPhase('done');
  return {
    workflowId: id,
    pair,
    active: req.source,
    waitedSeconds: (backAt - Date.parse(startedAt)) / 1000,
    probes: count,
    catchUp,
    transfer,
    verification,
    failbackSeconds: (switchedAt - backAt) / 1000,
    replication: restored.direction,
    steps: log.steps,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}
