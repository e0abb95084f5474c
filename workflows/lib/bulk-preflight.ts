// Before a bulk job's first write: its bucket checks, the survey of its whole plan (one listing pass:
// the progress total, the split of a large job, the oldest version, the blast radius), the refusal of
// an `at` before all history, and the blast-radius gate.
import { ApplicationFailure, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { RestoreActivities } from '../../activities/restore';
import type { ReportActivities } from '../../activities/report-activities';
import type { SurveyActivities, SurveyResult } from '../../activities/survey';
import { ErrorType } from '../../core/errors';
import { gateDecision, thresholdsOf } from '../../core/gate';
import type { Job } from './bulk-job';
import { Gate, GateRecord } from './gate';
import { markPhase } from './search-attributes';
import { StepLog } from './steps';

const checkOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
} as const;
// The bucket checks and the report are one S3 request each: run as local activities, within the
// workflow task, they save the server round trips that made up most of a small job's time.
export const checks = proxyLocalActivities<RestoreActivities & ReportActivities>(checkOptions);
/** The same checks as regular activities, as runs started before the change recorded them. */
const checksBefore = proxyActivities<RestoreActivities & ReportActivities>(checkOptions);
// The survey lists every version in scope once (a request per 1,000) before the first write.
const surveys = proxyActivities<SurveyActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});

export async function checkBuckets(log: StepLog, job: Job): Promise<void> {
  const { source, target } = job;
  const checkSource = (acts = checks) =>
    log.run(
      'check source',
      () =>
        acts.checkRestoreBucket({
          region: source.region,
          bucket: source.bucket,
          requireVersioning: job.procedure === 'pointInTimeRestore',
          why: 'a point-in-time restore reads the versions of the source',
        }),
      undefined,
      (r) => `versioning ${r.versioning}`,
    );
  const inPlace = !target;
  const deletesInTarget = !!target && job.deleteKeysCreatedAfter;
  const checkTarget = (acts = checks) =>
    log.run(
      'check target',
      () =>
        acts.checkRestoreBucket({
          region: (target ?? source).region,
          bucket: (target ?? source).bucket,
          // In place every change must be a new version; elsewhere deletions must leave markers.
          requireVersioning: (inPlace && !job.dryRun) || deletesInTarget,
          why: inPlace
            ? 'restoring in place must add versions, not overwrite them'
            : 'deleteKeysCreatedAfter into another bucket needs versioning there, so deletions leave delete markers',
        }),
      undefined,
      (r) => `versioning ${r.versioning}`,
    );
  // Both at once, as local activities (a job of a few objects is mostly these round trips); runs
  // started before this change replay their history: one activity after the other.
  if (patched('parallel-bucket-checks')) {
    // Both settle before a failure is thrown, so the step log shows each one's outcome.
    const settled = await Promise.allSettled([checkSource(), checkTarget()]);
    const refused = settled.find((r) => r.status === 'rejected');
    if (refused) throw refused.reason;
  } else {
    await checkSource(checksBefore);
    await checkTarget(checksBefore);
  }
}

/**
 * Before the first write: the whole plan counted in one listing pass (the progress total, the
 * split of a large job, the oldest version), an `at` before all history refused, and the
 * blast-radius gate passed (a dry run records what the gate would say, and does not wait).
 */
export async function surveyAndGate(
  log: StepLog,
  gate: Gate,
  job: Job,
  on: {
    /** The survey is done: the progress has its total before the gate (which may wait for hours). */
    surveyed: (survey: SurveyResult) => void;
    waiting: (waiting: boolean) => void;
  },
): Promise<{ survey: SurveyResult; gate: GateRecord }> {
  const { source, target } = job;
  markPhase('survey');
  const survey = await log.run(
    'survey',
    () =>
      surveys.surveyJob({
        source,
        target,
        at: job.at,
        from: job.from,
        deleteKeysCreatedAfter: job.deleteKeysCreatedAfter,
        skipExisting: job.skipExisting,
        parts: job.parts > 1 ? job.parts : undefined,
      }),
    (r) => ({
      keys: r.radius.keysInScope,
      versions: r.versions,
      deletes: r.radius.deletes,
      overwrites: r.radius.overwrites,
      creates: r.radius.creates,
    }),
    (r) =>
      `${r.radius.keysInScope} keys, ${r.versions} versions${r.oldestChange ? `, oldest ${r.oldestChange}` : ''}`,
  );
  on.surveyed(survey);
  const r = survey.radius;
  if (
    !job.safety.allowDeleteAll &&
    survey.oldestChange !== undefined &&
    Date.parse(job.at) < Date.parse(survey.oldestChange) &&
    r.deletes > 0
  )
    throw ApplicationFailure.create({
      type: ErrorType.AtBeforeHistory,
      nonRetryable: true,
      message: `"at" ${job.at} is before the oldest version in scope (${survey.oldestChange}): the ${job.procedure} would delete every key it finds (${r.deletes} of ${r.keysInScope}). Nothing was written. A mistyped time? If that is what you mean, set allowDeleteAll: true (CLI --allow-delete-all)`,
    });
  if (job.dryRun) {
    const verdict = gateDecision(r, thresholdsOf(job.safety));
    log.skip(
      'blast-radius gate',
      verdict.stop
        ? `dry run: the real run would stop for approval: ${verdict.reasons.join('; ')}`
        : `dry run: the real run would pass (${verdict.summary})`,
    );
    return { survey, gate: { radius: r, stopped: verdict.stop, reasons: verdict.reasons } };
  }
  const record = await gate.pass(log, {
    radius: r,
    thresholds: thresholdsOf(job.safety),
    autoApprove: job.safety.autoApprove,
    timeoutSeconds: job.safety.approvalTimeoutSeconds,
    what: job.procedure,
    onWaiting: on.waiting,
  });
  return { survey, gate: record };
}
