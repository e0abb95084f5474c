// versionRecovery: the seed's Version Recovery procedure (copy a version back, remove a delete marker,
// download a version) for one key or a list of keys, planned in full before anything is changed.
import { ApplicationFailure, patched, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { VersionRecoveryActivities } from '../activities/version-recovery';
import { ErrorType, Refusal } from '../core/errors';
import { Step } from '../core/steps';
import {
  isKeyPlan,
  KeyPlan,
  keySelectors,
  planKeyRecovery,
  summarizePlans,
  VersionRecoveryInput,
  VersionRecoveryRequest,
} from '../core/version-recovery';
import { rangeForKeys } from '../core/leases';
import { markPhase, markRun } from './lib/search-attributes';
import { parseWorkflowInput, refuseExtraInput } from './lib/input';
import { withLease } from './lib/lease';
import { StepLog } from './lib/steps';

export { VersionRecoveryInput };

const reads = proxyActivities<VersionRecoveryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
});
// A copy of a large version is a multipart copy that heartbeats after each part.
const writes = proxyActivities<VersionRecoveryActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
});

/** How many keys are read or recovered at once. */
const KEY_CONCURRENCY = 8;

export interface KeyOutcome {
  key: string;
  action: KeyPlan['action'];
  /** The version made current (copy), brought back (remove-markers) or resolved (download). */
  versionId?: string;
  /** The new version written by a copy. */
  newVersionId?: string;
  /** Undo information: what was current before (copy) or the markers removed (remove-markers). */
  previousVersionId?: string;
  removedMarkers?: string[];
  /** Verified after the change: what a reader gets now. */
  currentEtag?: string;
  currentSize?: number;
}

export interface VersionRecoveryResult {
  workflowId: string;
  action: VersionRecoveryRequest['action'];
  region: string;
  bucket: string;
  dryRun: boolean;
  plan: { counts: Record<KeyPlan['action'], number>; keys: KeyPlan[] };
  outcomes: KeyOutcome[];
  steps: Step[];
  /** From the start of the run to the moment the data was verified readable again. */
  rtoSeconds: number;
  startedAt: string;
  finishedAt: string;
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  }
  return out;
}

export async function versionRecovery(
  input: VersionRecoveryInput,
  ...extra: unknown[]
): Promise<VersionRecoveryResult> {
  const startedAt = new Date().toISOString();
  refuseExtraInput('versionRecovery', undefined, extra);
  const req = parseWorkflowInput(VersionRecoveryInput, input, 'versionRecovery');
  const { region, bucket, action } = req;
  const log = new StepLog(
    `versionRecovery ${action} on ${region}/${bucket}${req.dryRun ? ' (dry run)' : ''}`,
  );
  markRun('versionRecovery', `${region}/${bucket}`);
  markPhase('plan');

  await log.run(
    'check bucket',
    () => reads.checkBucketVersioning({ region, bucket, forWrite: action !== 'download' && !req.dryRun }),
    undefined,
    (r) => `versioning ${r.status}`,
  );

  const selectors = keySelectors(req);
  const body = async (): Promise<VersionRecoveryResult> => {
    const plans = await log.run(
      'plan',
      async () => {
        const decided = await inBatches(selectors, KEY_CONCURRENCY, async (sel) =>
          planKeyRecovery(action, sel, await reads.listKeyVersions({ region, bucket, key: sel.key })),
        );
        const refusals = decided.filter((d): d is Refusal => !isKeyPlan(d));
        if (refusals.length > 0) {
          // Refuse the whole run before anything is written: a partial recovery is harder to reason about.
          const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more refusals)` : '';
          throw ApplicationFailure.nonRetryable(
            `${refusals[0].message}${more}; nothing was changed`,
            refusals[0].type,
          );
        }
        return decided.filter(isKeyPlan);
      },
      (p) => ({ keys: p.length, ...summarizePlans(p) }),
    );

    const result = (outcomes: KeyOutcome[]): VersionRecoveryResult => ({
      workflowId: workflowInfo().workflowId,
      action,
      region,
      bucket,
      dryRun: req.dryRun,
      plan: { counts: summarizePlans(plans), keys: plans },
      outcomes,
      steps: log.steps,
      rtoSeconds: (Date.now() - Date.parse(startedAt)) / 1000,
      startedAt,
      finishedAt: new Date().toISOString(),
    });

    if (req.dryRun) {
      log.skip('apply', 'dry run: nothing changed');
      markPhase('planned');
      return result([]);
    }

    markPhase('apply');
    const applied = await log.run(
      'apply',
      () =>
        inBatches(plans, KEY_CONCURRENCY, async (plan): Promise<KeyOutcome> => {
          const ref = { region, bucket, key: plan.key };
          switch (plan.action) {
            case 'copy': {
              const out = await writes.copyVersionBack({
                ...ref,
                sourceVersionId: plan.sourceVersionId,
                sourceEtag: plan.sourceEtag,
                sourceSize: plan.sourceSize ?? 0,
              });
              return {
                key: plan.key,
                action: plan.action,
                versionId: plan.sourceVersionId,
                newVersionId: out.newVersionId,
                previousVersionId: plan.previousVersionId,
              };
            }
            case 'remove-markers':
              await writes.removeDeleteMarkers({ ...ref, markerVersionIds: plan.markerVersionIds });
              return {
                key: plan.key,
                action: plan.action,
                versionId: plan.restoresVersionId,
                removedMarkers: plan.markerVersionIds,
              };
            case 'download':
              // The version id only: the CLI reads the bytes (or signs a URL) on the operator's
              // machine, so no bearer URL is ever kept in this run's history.
              return { key: plan.key, action: plan.action, versionId: plan.versionId };
            case 'none':
              return { key: plan.key, action: plan.action, versionId: plan.versionId };
          }
        }),
      (o) => ({
        copied: o.filter((x) => x.action === 'copy').length,
        markersRemoved: o.reduce((n, x) => n + (x.removedMarkers?.length ?? 0), 0),
      }),
    );

    markPhase('verify');
    const verified = await log.run(
      'verify',
      () =>
        inBatches(applied, KEY_CONCURRENCY, async (o): Promise<KeyOutcome> => {
          if (o.action === 'download') return o;
          const current = await reads.readCurrent({ region, bucket, key: o.key });
          if (!current) {
            throw ApplicationFailure.nonRetryable(
              `${o.key} is still not readable after recovery`,
              ErrorType.VerificationFailed,
            );
          }
          // The version we wrote (copy) or uncovered (remove-markers) must be the one a reader now gets.
          const expectedVersion = o.action === 'copy' ? o.newVersionId : o.versionId;
          if (current.versionId !== expectedVersion) {
            throw ApplicationFailure.nonRetryable(
              `${o.key}: the current version is ${current.versionId}, not the recovered ${expectedVersion}: was it written to during the recovery?`,
              ErrorType.VerificationFailed,
            );
          }
          return { ...o, currentEtag: current.etag, currentSize: current.size };
        }),
      (v) => ({ keys: v.length }),
    );

    markPhase('done');
    return result(verified);
  };
  // Copies and undeletes write to the keys: the run holds the lease on them from before it plans.
  const writesKeys = action !== 'download' && !req.dryRun;
  if (writesKeys && patched('lease-survey-gate'))
    return withLease(
      log,
      {
        region,
        bucket,
        range: rangeForKeys(selectors.map((k) => k.key)),
        procedure: 'versionRecovery',
        wait: req.waitForLease,
        ttlSeconds: req.leaseTtlSeconds,
      },
      body,
    );
  return body();
}
