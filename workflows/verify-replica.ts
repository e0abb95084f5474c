// verifyReplica: how far a replica is from its source, key by key, and the RPO it implies. Both
// listings are merge-joined in stretches (one activity each), continued as new when the history grows;
// with the source down it reports what the replica alone and the last verification say.
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  isCancellation,
  proxyActivities,
  workflowInfo,
  setHandler,
  ActivityFailure,
  TimeoutFailure,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { ReportActivities } from '../activities/report-activities';
import type {
  BucketRef,
  LastVerification,
  ReplicaAlone,
  VerifyReplicaActivities,
  VerifyTally,
} from '../activities/verify-replica';
import {
  addDiffCounts,
  DIFF_CLASSES,
  DiffCounts,
  DiffExamples,
  earliest,
  emptyDiffCounts,
  lastVerificationJobId,
  mergeExamples,
  rpoSeconds,
  VerifyReplicaInput,
} from '../core/replica-diff';
import { compactSteps, Step } from '../core/steps';
import { markPhase, markRun } from './lib/search-attributes';
import { parseWorkflowInput, refuseExtraInput } from './lib/input';
import { StepLog, surfaceActivityFailure } from './lib/steps';

export { VerifyReplicaInput };

export interface VerifyProgress {
  phase: 'checking' | 'verifying' | 'replica-only' | 'reporting' | 'done';
  calls: number;
  counts: DiffCounts;
  /** The last key counted. */
  cursor?: string;
  sourceReachable?: boolean;
  startedAt: string;
}

export const verifyProgressQuery = defineQuery<VerifyProgress>('progress');

/** What continue-as-new carries: a cursor and the running tally (examples are capped). */
export interface VerifyState {
  cursor?: string;
  calls: number;
  tally: VerifyTally;
  startedAt: string;
  steps: Step[];
  runs: number;
  notes: string[];
}

export interface VerifyReplicaResult {
  workflowId: string;
  procedure: 'verifyReplica';
  source: BucketRef;
  replica: BucketRef;
  prefix: string;
  compareVersionIds: boolean;
  deepCheck: 'none' | 'sample' | 'all';
  /** False: the source did not answer; counts are partial or empty, see replicaAlone and lastVerification. */
  sourceReachable: boolean;
  sourceError?: string;
  /** Every key listed was in sync (and the source answered). */
  inSync: boolean;
  counts: DiffCounts;
  /** Keys not in sync. */
  differences: number;
  /** The first keys of each class. */
  examples: DiffExamples;
  /** Oldest source change the replica does not have; the RPO is its age at finishedAt. */
  oldestMissingChange?: string;
  /** Null when the source could not be read (the replica's newestChange bounds it instead). */
  rpoSeconds: number | null;
  versions: { source: number; replica: number };
  replicationStatusChecks: number;
  deepChecked: number;
  bytesHashed: number;
  replicaAlone?: ReplicaAlone;
  lastVerification?: LastVerification;
  /** One sentence each: what could not be checked and why. */
  notes: string[];
  /** s3:// location of this run's report.json. */
  reportKey?: string;
  calls: number;
  runs: number;
  steps: Step[];
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
}

const checks = proxyActivities<VerifyReplicaActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});
const reports = proxyActivities<ReportActivities & VerifyReplicaActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '5s', maximumAttempts: 3 },
});
// A stretch heartbeats after each listing page: a lost worker is noticed within 30 s and the retry
// resumes after the last key counted. A side that stays unreachable ends the retries in about a minute.
const stretches = proxyActivities<VerifyReplicaActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '15s', maximumAttempts: 6 },
});
const replicaOnly = proxyActivities<VerifyReplicaActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

const emptyTally = (): VerifyTally => ({
  counts: emptyDiffCounts(),
  examples: {},
  versions: { source: 0, replica: 0 },
  replicationStatusChecks: 0,
  deepChecked: 0,
  bytesHashed: 0,
});

/**
 * A side stopped answering: refused or reset connections (Unreachable), or a request that hung until
 * the heartbeat timeout, attempt after attempt (the S3 clients have no request timeout of their own).
 */
function isUnreachableFailure(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  if (err.cause instanceof ApplicationFailure) return err.cause.type === 'Unreachable';
  return err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.HEARTBEAT;
}

export async function verifyReplica(
  input: VerifyReplicaInput,
  carried?: VerifyState,
  ...extra: unknown[]
): Promise<VerifyReplicaResult> {
  refuseExtraInput('verifyReplica', carried, extra);
  const req = parseWorkflowInput(VerifyReplicaInput, input, 'verifyReplica');
  const source: BucketRef = req.source;
  const replica: BucketRef = { region: req.replica.region, bucket: req.replica.bucket ?? req.source.bucket };
  const state: VerifyState = carried ?? {
    calls: 0,
    tally: emptyTally(),
    startedAt: new Date().toISOString(),
    steps: [],
    runs: 0,
    notes: [],
  };
  state.runs += 1;
  const pair = `${source.region}/${source.bucket}/${req.prefix} -> ${replica.region}/${replica.bucket}`;
  const log = new StepLog(
    `verifyReplica ${pair}${req.deepCheck !== 'none' ? ` (deep check: ${req.deepCheck})` : ''}`,
    compactSteps(state.steps),
  );
  let phase: VerifyProgress['phase'] = carried ? 'verifying' : 'checking';
  let sourceReachable: boolean | undefined = carried ? true : undefined;
  setHandler(verifyProgressQuery, () => ({
    phase,
    calls: state.calls,
    counts: state.tally.counts,
    cursor: state.cursor,
    sourceReachable,
    startedAt: state.startedAt,
  }));
  markRun('verifyReplica', `${source.region}/${source.bucket}/${req.prefix}`);

  const notes = state.notes;
  let sourceError: string | undefined;
  let replicaAlone: ReplicaAlone | undefined;
  let lastVerification: LastVerification | undefined;
  let done = false;

  if (!carried) {
    markPhase('check');
    const probe = await log.run(
      'check both sides',
      () => checks.probeReplicaPair({ source, replica }),
      undefined,
      (p) =>
        p.source.reachable
          ? `source versioning ${p.source.versioning}, replica versioning ${p.replica.versioning}`
          : (p.source.error ?? 'source unreachable'),
    );
    sourceReachable = probe.source.reachable;
    sourceError = probe.source.error;
    if (
      probe.source.reachable &&
      req.compareVersionIds &&
      (probe.source.versioning !== 'Enabled' || probe.replica.versioning !== 'Enabled')
    ) {
      notes.push(
        'versioning is not enabled on both sides: version ids may not match, compareVersionIds=false compares ETag and size',
      );
    }
  }

  if (sourceReachable) {
    phase = 'verifying';
    markPhase('verify');
    let callsThisRun = 0;
    try {
      await log.run(
        `compare listings (run ${state.runs})`,
        async () => {
          while (!done) {
            if (workflowInfo().continueAsNewSuggested || callsThisRun >= req.callsPerRun) {
              await condition(allHandlersFinished);
              log.closeRunning(`continued as new after ${state.tally.counts.keys} keys`);
              state.steps = compactSteps(log.steps);
              return continueAsNew<typeof verifyReplica>(input, state);
            }
            const r = await stretches.verifyReplicaPages({
              source,
              replica,
              prefix: req.prefix,
              compareVersionIds: req.compareVersionIds,
              deepCheck: req.deepCheck,
              sampleRate: req.sampleRate,
              examplesPerClass: req.examplesPerClass,
              pageSize: req.pageSize,
              pagesPerActivity: req.pagesPerActivity,
              afterKey: state.cursor,
            });
            callsThisRun += 1;
            state.calls += 1;
            state.tally = addTally(state.tally, r, req.examplesPerClass);
            state.cursor = r.nextAfterKey;
            done = r.done;
          }
        },
        () => countsAsNumbers(state.tally),
      );
    } catch (err) {
      if (isCancellation(err) || !isUnreachableFailure(err)) throw err;
      // The source (or the replica) stopped answering part-way: report the keys counted so far.
      sourceReachable = false;
      sourceError = `stopped answering after ${state.tally.counts.keys} keys: ${(err as ActivityFailure).cause?.message ?? ''}`;
      notes.push('the counts cover only the keys listed before a side stopped answering');
    }
  }

  if (!sourceReachable) {
    phase = 'replica-only';
    markPhase('source-unreachable');
    notes.push(
      `the source could not be read (${sourceError ?? 'unreachable'}): the replica was listed alone and the last verification is shown; RPO is unknown`,
    );
    replicaAlone = await log.run(
      'list replica alone',
      () => replicaOnly.summarizeReplicaAlone({ replica, prefix: req.prefix }),
      (s) => ({
        keys: s.keys,
        versions: s.versions,
        deleteMarkers: s.deleteMarkers,
        currentObjects: s.currentObjects,
        currentBytes: s.currentBytes,
      }),
      (s) =>
        s.newestChange
          ? `newest change on the replica: ${s.newestChange}`
          : 'the replica holds nothing under the prefix',
    );
    lastVerification = await log
      .run(
        'read last verification',
        () =>
          reports.readLastVerification({
            relativeKey: `${lastVerificationJobId({ source, replica, prefix: req.prefix })}/report.json`,
          }),
        undefined,
        (v) => (v ? `${v.report} (finished ${v.finishedAt ?? '?'})` : 'none found'),
      )
      .catch(() => undefined);
  }

  phase = 'reporting';
  const finishedAt = new Date().toISOString();
  const counts = state.tally.counts;
  const differences = counts.keys - counts['in-sync'];
  const result: VerifyReplicaResult = {
    workflowId: workflowInfo().workflowId,
    procedure: 'verifyReplica',
    source,
    replica,
    prefix: req.prefix,
    compareVersionIds: req.compareVersionIds,
    deepCheck: req.deepCheck,
    sourceReachable: sourceReachable === true,
    sourceError,
    inSync: sourceReachable === true && differences === 0,
    counts,
    differences,
    examples: state.tally.examples,
    oldestMissingChange: state.tally.oldestMissingChange,
    rpoSeconds: sourceReachable ? rpoSeconds(state.tally.oldestMissingChange, finishedAt) : null,
    versions: state.tally.versions,
    replicationStatusChecks: state.tally.replicationStatusChecks,
    deepChecked: state.tally.deepChecked,
    bytesHashed: state.tally.bytesHashed,
    replicaAlone,
    lastVerification,
    notes,
    calls: state.calls,
    runs: state.runs,
    steps: log.steps,
    startedAt: state.startedAt,
    finishedAt,
    durationSeconds: (Date.parse(finishedAt) - Date.parse(state.startedAt)) / 1000,
  };
  // The report is a record, not the verdict: a reports location that cannot be written is noted.
  try {
    const written = await log.run(
      'write report',
      async () => {
        const job = await reports.writeJobReport({ jobId: result.workflowId, report: result });
        // Only a verification that read the source becomes "the last verification" of the pair.
        if (result.sourceReachable) {
          await reports.writeJobReport({
            jobId: lastVerificationJobId({ source, replica, prefix: req.prefix }),
            report: { ...result, reportKey: job.report },
          });
        }
        return job;
      },
      undefined,
      (w) => w.report,
    );
    result.reportKey = written.report;
  } catch (err) {
    if (isCancellation(err)) throw err;
    result.notes.push(`the report could not be written: ${(surfaceActivityFailure(err) as Error).message}`);
  }
  result.steps = log.steps;
  phase = 'done';
  markPhase(
    !result.sourceReachable ? 'source-unreachable' : differences > 0 ? 'done-with-differences' : 'done',
  );
  await condition(allHandlersFinished);
  return result;
}

function addTally(a: VerifyTally, b: VerifyTally, cap: number): VerifyTally {
  return {
    counts: addDiffCounts(a.counts, b.counts),
    examples: mergeExamples(a.examples, b.examples, cap),
    oldestMissingChange: earliest(a.oldestMissingChange, b.oldestMissingChange),
    versions: {
      source: a.versions.source + b.versions.source,
      replica: a.versions.replica + b.versions.replica,
    },
    replicationStatusChecks: a.replicationStatusChecks + b.replicationStatusChecks,
    deepChecked: a.deepChecked + b.deepChecked,
    bytesHashed: a.bytesHashed + b.bytesHashed,
  };
}

function countsAsNumbers(t: VerifyTally): Record<string, number> {
  const out: Record<string, number> = { keys: t.counts.keys };
  for (const c of DIFF_CLASSES) if (t.counts[c] > 0) out[c] = t.counts[c];
  out.deepChecked = t.deepChecked;
  return out;
}
