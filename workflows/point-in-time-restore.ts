// pointInTimeRestore and bulkCopy: the paged bulk engine. A bucket or prefix back to time T (in place
// or into another bucket), or copied as it is now; one activity per listing page, pausable,
// continued as new when the history grows, counters and a cursor the only state carried.
import {
  ActivityCancellationType,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { FailedKey, Location, RestoreActivities } from '../activities/restore';
import type { ReportActivities } from '../activities/report-activities';
import { KeyRange, rangesFromBoundaries } from '../core/key-ranges';
import { addCounts, emptyCounts, PlanCounts, PointInTimeRestoreInput, BulkCopyInput } from '../core/pitr';
import { Step } from '../core/steps';
import { parseWorkflowInput } from './lib/input';
import { markPhase, markRun } from './lib/search-attributes';
import { StepLog, surfaceActivityFailure } from './lib/steps';

export { PointInTimeRestoreInput, BulkCopyInput };

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setConcurrencyUpdate = defineUpdate<number, [number]>('setConcurrency');
/** The parent of a split job passes a concurrency change on to its parts with this signal. */
export const concurrencySignal = defineSignal<[number]>('concurrency');
export const progressQuery = defineQuery<Progress>('progress');

export interface Progress {
  phase: 'checking' | 'planning' | 'restoring' | 'paused' | 'done' | 'failed';
  dryRun: boolean;
  pages: number;
  /** Keys listed so far, and what the plan said for them. */
  planned: PlanCounts;
  /** Keys acted on (copied, markers removed, deleted) and bytes copied. */
  applied: PlanCounts;
  failed: number;
  paused: boolean;
  concurrency: number;
  /** Keys handled per second since the job started (all runs). */
  keysPerSecond: number;
  /** Listing done. */
  listingDone: boolean;
  /** Keys under the prefix, once a listing beside the job has counted them (S3 has no cheap count). */
  totalKeys?: number;
  /** Seconds left at the current rate, once the total is known. */
  etaSeconds?: number;
  cursor?: string;
  startedAt: string;
  /** A split job: its parts (child workflows), done and running; their own progress has the details. */
  parts?: { total: number; done: number; running: string[] };
}

/** What continue-as-new carries: cursors and counters, never object lists. */
export interface EngineState {
  cursor?: string;
  pageNumber: number;
  planned: PlanCounts;
  applied: PlanCounts;
  failedCount: number;
  firstFailed: FailedKey[];
  reports: string[];
  concurrency: number;
  paused: boolean;
  startedAt: string;
  steps: Step[];
  runs: number;
  totalKeys?: number;
}

export interface BulkJobResult {
  workflowId: string;
  procedure: 'pointInTimeRestore' | 'bulkCopy';
  source: Location;
  target?: Location;
  at: string;
  dryRun: boolean;
  planned: PlanCounts;
  applied: PlanCounts;
  failedCount: number;
  /** The first failures (all of them are in the failure reports). */
  failed: FailedKey[];
  /** Where the plan (dry run), undo manifests and failure lists are. */
  reportsPrefix?: string;
  report?: string;
  pages: number;
  runs: number;
  rtoSeconds: number;
  steps: Step[];
  startedAt: string;
  finishedAt: string;
  /** The job was cancelled: the counts say what was done before it stopped. */
  cancelled?: boolean;
  /** A split job: the workflow id, key range and outcome of each part. */
  parts?: PartOutcome[];
}

export interface PartOutcome {
  workflowId: string;
  range: KeyRange;
  keys?: number;
  status: 'done' | 'failed' | 'cancelled';
  applied?: number;
  failedCount?: number;
  error?: string;
}

const counting = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});
const checkOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
} as const;
// The bucket checks and the report are one S3 request each: run as local activities, within the
// workflow task, they save the server round trips that made up most of a small job's time.
const checks = proxyLocalActivities<RestoreActivities & ReportActivities>(checkOptions);
/** The same checks as regular activities, as runs started before the change recorded them. */
const checksBefore = proxyActivities<RestoreActivities & ReportActivities>(checkOptions);
// A page heartbeats after every key: a lost worker is noticed within 20 s, and a pause reaches the
// activity at its next heartbeat. The workflow waits for the activity to have stopped.
const pages = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 20 },
});

const MAX_FAILED_KEPT = 50;

interface Job {
  procedure: 'pointInTimeRestore' | 'bulkCopy';
  source: Location;
  target?: Location;
  at: string;
  from?: string;
  dryRun: boolean;
  deleteKeysCreatedAfter: boolean;
  skipExisting: boolean;
  pageSize: number;
  /** Pages per run before continuing as new, whatever the server suggests (a page is ~10 events). */
  pagesPerRun: number;
  parts: number;
  range?: KeyRange;
  /** The input of part `range`, for the child workflow that runs it. */
  partInput: (range: KeyRange) => PointInTimeRestoreInput | BulkCopyInput;
}

/** Either engine workflow, called by name for a part: both take one input and return a job result. */
type PartWorkflow = (input: PointInTimeRestoreInput | BulkCopyInput) => Promise<BulkJobResult>;

export async function pointInTimeRestore(
  input: PointInTimeRestoreInput,
  carried?: EngineState,
): Promise<BulkJobResult> {
  const req = parseWorkflowInput(PointInTimeRestoreInput, input, 'pointInTimeRestore');
  return runJob(
    {
      procedure: 'pointInTimeRestore',
      source: req.source,
      target: req.target,
      at: req.at,
      from: req.from,
      dryRun: req.dryRun,
      deleteKeysCreatedAfter: req.deleteKeysCreatedAfter ?? req.target === undefined,
      skipExisting: true,
      pageSize: req.pageSize,
      pagesPerRun: req.pagesPerRun,
      parts: req.parts,
      range: req.range,
      partInput: (range) => ({ ...input, parts: 1, range }),
    },
    req.concurrency,
    carried,
    (state) => continueAsNew<typeof pointInTimeRestore>(input, state),
  );
}

export async function bulkCopy(input: BulkCopyInput, carried?: EngineState): Promise<BulkJobResult> {
  const req = parseWorkflowInput(BulkCopyInput, input, 'bulkCopy');
  const startedAt = new Date().toISOString();
  return runJob(
    {
      procedure: 'bulkCopy',
      source: req.source,
      target: req.target,
      // "As it is now" is the moment the job started, the same in every run of it.
      at: req.at ?? carried?.startedAt ?? startedAt,
      dryRun: req.dryRun,
      deleteKeysCreatedAfter: false,
      skipExisting: req.skipExisting,
      pageSize: req.pageSize,
      pagesPerRun: req.pagesPerRun,
      parts: req.parts,
      range: req.range,
      // Every part copies the state at the same instant: the parent's start.
      partInput: (range) => ({ ...input, at: req.at ?? carried?.startedAt ?? startedAt, parts: 1, range }),
    },
    req.concurrency,
    carried,
    (state) => continueAsNew<typeof bulkCopy>(input, state),
  );
}

async function runJob(
  job: Job,
  initialConcurrency: number,
  carried: EngineState | undefined,
  next: (state: EngineState) => Promise<never>,
): Promise<BulkJobResult> {
  const state: EngineState = carried ?? {
    pageNumber: 0,
    planned: emptyCounts(),
    applied: emptyCounts(),
    failedCount: 0,
    firstFailed: [],
    reports: [],
    concurrency: initialConcurrency,
    paused: false,
    startedAt: new Date().toISOString(),
    steps: [],
    runs: 0,
    cursor: job.range?.afterKey,
  };
  state.runs += 1;
  const { source, target } = job;
  const describeTarget = target ? ` into ${target.region}/${target.bucket}/${target.prefix}` : ' in place';
  const log = new StepLog(
    `${job.procedure} of ${source.region}/${source.bucket}/${source.prefix}${describeTarget} to ${job.at}${job.dryRun ? ' (dry run)' : ''}`,
    state.steps,
  );
  let phase: Progress['phase'] = carried ? 'restoring' : 'checking';
  let listingDone = false;
  let pageScope: CancellationScope | undefined;
  // A split job: the parts running now, to pass pause, resume and concurrency on to.
  const runningParts = new Set<string>();
  let partsTotal = 0;
  let partsDone = 0;
  const toParts = async (send: (id: string) => Promise<void>) => {
    await Promise.all([...runningParts].map((id) => send(id).catch(() => undefined)));
  };

  setHandler(progressQuery, () => {
    const elapsed = (Date.now() - Date.parse(state.startedAt)) / 1000;
    const rate = elapsed > 0 ? state.planned.keys / elapsed : 0;
    const left =
      state.totalKeys !== undefined ? Math.max(0, state.totalKeys - state.planned.keys) : undefined;
    return {
      phase: state.paused ? 'paused' : phase,
      dryRun: job.dryRun,
      pages: state.pageNumber,
      planned: state.planned,
      applied: state.applied,
      failed: state.failedCount,
      paused: state.paused,
      concurrency: state.concurrency,
      keysPerSecond: rate,
      listingDone,
      totalKeys: state.totalKeys,
      etaSeconds: left !== undefined && rate > 0 ? left / rate : undefined,
      cursor: state.cursor,
      startedAt: state.startedAt,
      parts: partsTotal > 0 ? { total: partsTotal, done: partsDone, running: [...runningParts] } : undefined,
    };
  });
  setHandler(pauseSignal, () => {
    if (state.paused) return;
    state.paused = true;
    markPhase('paused');
    // Stop the running page now: its activity sees the cancellation at its next heartbeat.
    pageScope?.cancel();
    return toParts((id) => getExternalWorkflowHandle(id).signal(pauseSignal));
  });
  setHandler(resumeSignal, () => {
    if (!state.paused) return;
    state.paused = false;
    markPhase(job.dryRun ? 'plan' : 'restore');
    return toParts((id) => getExternalWorkflowHandle(id).signal(resumeSignal));
  });
  setHandler(concurrencySignal, (n) => {
    if (Number.isInteger(n) && n >= 1 && n <= 256) state.concurrency = n;
  });
  setHandler(
    setConcurrencyUpdate,
    async (n) => {
      const previous = state.concurrency;
      state.concurrency = n;
      await toParts((id) => getExternalWorkflowHandle(id).signal(concurrencySignal, n));
      return previous;
    },
    {
      validator: (n) => {
        if (!Number.isInteger(n) || n < 1 || n > 256)
          throw new Error('concurrency must be a whole number from 1 to 256');
      },
    },
  );

  markRun(job.procedure, `${source.region}/${source.bucket}/${source.prefix}`);
  if (!carried) {
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

  if (job.parts > 1 && !job.range) return runParts();

  // The count runs beside the pages and only feeds the ETA: its failure costs nothing but the ETA.
  if (state.totalKeys === undefined) {
    counting
      .countKeys({ ...source, ...job.range })
      .then((c) => {
        state.totalKeys = c.keys;
      })
      .catch(() => undefined);
  }

  phase = job.dryRun ? 'planning' : 'restoring';
  markPhase(job.dryRun ? 'plan' : 'restore');
  const pagesStepName = job.dryRun ? 'plan pages' : 'restore pages';
  let pagesThisRun = 0;
  let done = false;
  const pageNumbers = () => ({
    pages: state.pageNumber,
    keys: state.planned.keys,
    copy: state.planned.copy,
    removeMarkers: state.planned.removeMarkers,
    delete: state.planned.delete,
    unchanged: state.planned.unchanged,
    bytes: state.planned.bytes,
    applied: state.applied.keys,
    failed: state.failedCount,
  });
  // The Web UI's current details: a progress line under the title, and the pages step's numbers so far.
  const showProgress = () => {
    const elapsed = (Date.now() - Date.parse(state.startedAt)) / 1000;
    const rate = elapsed > 0 ? state.planned.keys / elapsed : 0;
    const total = state.totalKeys;
    const left = total !== undefined ? Math.max(0, total - state.planned.keys) : undefined;
    const eta = left !== undefined && rate > 0 ? `, ETA ${Math.ceil(left / rate)} s` : '';
    log.progress(
      `${state.paused ? 'paused' : phase}: page ${state.pageNumber}, ${state.planned.keys}${total !== undefined ? ` of ${total}` : ''} keys planned, ${state.applied.keys} applied, ${state.failedCount} failed, ${rate.toFixed(0)} keys/s${eta}`,
      pageNumbers(),
    );
  };
  const runPages = () =>
    log.run(
      `${pagesStepName} (run ${state.runs})`,
      async () => {
        while (!done) {
          if (state.paused) {
            showProgress();
            await condition(() => !state.paused);
          }
          if (workflowInfo().continueAsNewSuggested || pagesThisRun >= job.pagesPerRun) {
            await condition(allHandlersFinished);
            log.closeRunning(`continued as new after ${state.pageNumber} pages`);
            state.steps = log.steps;
            return next(state);
          }
          const scope = new CancellationScope();
          pageScope = scope;
          let result;
          try {
            result = await scope.run(() =>
              pages.restorePage({
                jobId: workflowInfo().workflowId,
                pageNumber: state.pageNumber,
                source,
                target,
                at: job.at,
                from: job.from,
                deleteKeysCreatedAfter: job.deleteKeysCreatedAfter,
                skipExisting: job.skipExisting,
                dryRun: job.dryRun,
                concurrency: state.concurrency,
                pageSize: job.pageSize,
                afterKey: state.cursor,
                untilKey: job.range?.untilKey,
              }),
            );
          } catch (err) {
            // Paused: the page stopped part-way; it runs again from its start after resume, and its
            // keys already done plan to nothing then.
            if (state.paused && (isCancellation(err) || isCancellation((err as { cause?: unknown }).cause)))
              continue;
            throw surfaceActivityFailure(err);
          } finally {
            pageScope = undefined;
          }
          state.pageNumber += 1;
          pagesThisRun += 1;
          state.planned = addCounts(state.planned, result.planned);
          state.applied = addCounts(state.applied, result.applied);
          state.failedCount += result.failed.length;
          for (const f of result.failed)
            if (state.firstFailed.length < MAX_FAILED_KEPT) state.firstFailed.push(f);
          state.cursor = result.nextAfterKey;
          done = result.done;
          showProgress();
        }
      },
      pageNumbers,
    );
  function buildResult(): BulkJobResult {
    const finishedAt = new Date().toISOString();
    return {
      workflowId: workflowInfo().workflowId,
      procedure: job.procedure,
      source,
      target,
      at: job.at,
      dryRun: job.dryRun,
      planned: state.planned,
      applied: state.applied,
      failedCount: state.failedCount,
      failed: state.firstFailed,
      pages: state.pageNumber,
      runs: state.runs,
      rtoSeconds: (Date.parse(finishedAt) - Date.parse(state.startedAt)) / 1000,
      steps: log.steps,
      startedAt: state.startedAt,
      finishedAt,
    };
  }
  /**
   * A split job: count the keys once and cut them into `parts` ranges of about equal size, then run
   * each range as a child workflow `<jobId>/part-<n>` (the same workflow, with `range` set), all at
   * once; pause, resume and concurrency are passed on to the parts. The counts are the parts' sums.
   */
  async function runParts(): Promise<BulkJobResult> {
    const jobId = workflowInfo().workflowId;
    const split = await log.run(
      'split key space',
      () => counting.countKeys({ ...source, parts: job.parts }),
      undefined,
      (r) => `${r.keys} keys in ${(r.boundaries?.length ?? 0) + 1} ranges`,
    );
    state.totalKeys = split.keys;
    const ranges = rangesFromBoundaries(split.boundaries ?? []);
    partsTotal = ranges.length;
    phase = job.dryRun ? 'planning' : 'restoring';
    markPhase(job.dryRun ? 'plan' : 'restore');
    const outcomes: PartOutcome[] = ranges.map((range, n) => ({
      workflowId: `${jobId}/part-${n}`,
      range,
      status: 'done',
    }));
    const runAll = () =>
      Promise.all(
        ranges.map(async (range, n) => {
          const outcome = outcomes[n];
          // A part started while the job is paused would run until its first page: wait instead.
          await condition(() => !state.paused);
          runningParts.add(outcome.workflowId);
          try {
            const r = await executeChild<PartWorkflow>(job.procedure, {
              workflowId: outcome.workflowId,
              args: [{ ...job.partInput(range), concurrency: state.concurrency }],
            });
            state.planned = addCounts(state.planned, r.planned);
            state.applied = addCounts(state.applied, r.applied);
            state.pageNumber += r.pages;
            state.failedCount += r.failedCount;
            for (const f of r.failed)
              if (state.firstFailed.length < MAX_FAILED_KEPT) state.firstFailed.push(f);
            Object.assign(outcome, {
              keys: r.planned.keys,
              applied: r.applied.keys,
              failedCount: r.failedCount,
            });
          } catch (err) {
            outcome.status = isCancellation(err) ? 'cancelled' : 'failed';
            outcome.error = (err as Error).message;
            throw err;
          } finally {
            runningParts.delete(outcome.workflowId);
            partsDone += 1;
          }
        }),
      );
    const partsStep = `${job.dryRun ? 'plan' : 'restore'} ${ranges.length} parts`;
    try {
      await log.run(partsStep, runAll, () => ({
        parts: ranges.length,
        keys: state.planned.keys,
        applied: state.applied.keys,
        failed: state.failedCount,
      }));
    } catch (err) {
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(async () => {
          phase = 'failed';
          markPhase('cancelled');
          const result = { ...buildResult(), cancelled: true, parts: outcomes };
          await checks.writeJobReport({ jobId: result.workflowId, report: result });
        });
      }
      throw err;
    }
    listingDone = true;
    return finish({ ...buildResult(), parts: outcomes });
  }

  async function finish(result: BulkJobResult): Promise<BulkJobResult> {
    const written = await log.run(
      'write report',
      () => checks.writeJobReport({ jobId: result.workflowId, report: result }),
      undefined,
      (r) => r.report,
    );
    result.reportsPrefix = written.prefix;
    result.report = written.report;
    result.steps = log.steps;
    phase = 'done';
    markPhase(state.failedCount > 0 ? 'done-with-failures' : 'done');
    await condition(allHandlersFinished);
    return result;
  }

  try {
    await runPages();
  } catch (err) {
    if (isCancellation(err)) {
      // Cancelled: the running page has stopped (the activity is awaited to the end of its
      // cancellation), so the counts are what was done. Leave that on record, then end as cancelled.
      await CancellationScope.nonCancellable(async () => {
        phase = 'failed';
        markPhase('cancelled');
        const result = { ...buildResult(), cancelled: true };
        await checks.writeJobReport({ jobId: result.workflowId, report: result });
      });
    }
    throw err;
  }

  listingDone = true;
  return finish(buildResult());
}
