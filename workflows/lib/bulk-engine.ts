// The paged bulk engine behind pointInTimeRestore and bulkCopy: lease, checks, survey and blast-radius
// gate before the first write, then one activity per listing page (pausable, continued as new), or a
// split into parts run as child workflows.
import {
  ActivityCancellationType,
  allHandlersFinished,
  CancellationScope,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { RestoreActivities } from '../../activities/restore';
import type { SurveyResult } from '../../activities/survey';
import { rangesFromBoundaries } from '../../core/key-ranges';
import { addCounts, emptyCounts } from '../../core/pitr';
import { compactSteps } from '../../core/steps';
import {
  BulkJobResult,
  concurrencySignal,
  EngineState,
  Job,
  PartOutcome,
  PartWorkflow,
  pauseSignal,
  Progress,
  progressQuery,
  resumeSignal,
  setConcurrencyUpdate,
} from './bulk-job';
import { checkBuckets, checks, surveyAndGate } from './bulk-preflight';
import { Gate } from './gate';
import { checkJobStart } from './input';
import { showWaiting, withLease } from './lease';
import { markPhase, markRun } from './search-attributes';
import { StepLog, surfaceActivityFailure } from './steps';

const counting = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});
// A page heartbeats after every key: a lost worker is noticed within 20 s, and a pause reaches the
// activity at its next heartbeat. The workflow waits for the activity to have stopped.
const pages = proxyActivities<RestoreActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 20 },
});

const MAX_FAILED_KEPT = 50;

/** Sums copy-path counts (plain maths here: the workflow bundle must not import activity code). */
function addPaths<K extends string>(
  a: Record<K, number> | undefined,
  b: Partial<Record<K, number>> | undefined,
): Record<K, number> | undefined {
  if (!b) return a;
  const out = { ...(a ?? {}) } as Record<K, number>;
  for (const [k, v] of Object.entries(b) as [K, number][]) out[k] = (out[k] ?? 0) + v;
  return out;
}
/** A signal to a part is tried this many times, a second more apart each time (a part just started may not take it yet). */
const PART_SIGNAL_ATTEMPTS = 5;

export async function runJob(
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
  // The step log a run carries is bounded (checks and gates, a fold, the latest runs), whatever the run count.
  const log = new StepLog(
    `${job.procedure} of ${source.region}/${source.bucket}/${source.prefix}${describeTarget} to ${job.at}${job.dryRun ? ' (dry run)' : ''}`,
    compactSteps(state.steps),
  );
  // Runs started before leases, the survey and the gate replay as they ran.
  const safe = patched('lease-survey-gate');
  let phase: Progress['phase'] = carried ? 'restoring' : 'checking';
  let waitingFor: string | undefined;
  let listingDone = false;
  let pageScope: CancellationScope | undefined;
  const gate = new Gate();
  // A split job: the parts running now, to pass pause, resume and concurrency on to.
  const runningParts = new Set<string>();
  let partsTotal = 0;
  let partsDone = 0;
  const undelivered: string[] = [];
  /** Sends to every running part; a send that fails is tried again, then reported, never dropped silently. */
  const toParts = async (what: string, send: (id: string) => Promise<void>) => {
    await Promise.all(
      [...runningParts].map(async (id) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await send(id);
            return;
          } catch (err) {
            if (!safe) return;
            // A part that has just ended needs no signal.
            if (!runningParts.has(id)) return;
            if (attempt >= PART_SIGNAL_ATTEMPTS) {
              const why = `${what} not delivered to ${id} after ${attempt} attempts: ${(err as Error).message}`;
              if (undelivered.length < MAX_FAILED_KEPT) undelivered.push(why);
              log.skip(`signal ${what} to part`, why);
              return;
            }
            await sleep(attempt * 1000);
          }
        }
      }),
    );
  };

  setHandler(progressQuery, () => {
    const elapsed = (Date.now() - Date.parse(state.startedAt)) / 1000;
    const rate = elapsed > 0 ? state.planned.keys / elapsed : 0;
    const left =
      state.totalKeys !== undefined ? Math.max(0, state.totalKeys - state.planned.keys) : undefined;
    return {
      phase: state.paused ? 'paused' : phase,
      waitingFor,
      gate: gate.state.radius ? gate.state : undefined,
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
    return toParts('pause', (id) => getExternalWorkflowHandle(id).signal(pauseSignal));
  });
  setHandler(resumeSignal, () => {
    if (!state.paused) return;
    state.paused = false;
    markPhase(job.dryRun ? 'plan' : 'restore');
    return toParts('resume', (id) => getExternalWorkflowHandle(id).signal(resumeSignal));
  });
  setHandler(concurrencySignal, (n) => {
    if (Number.isInteger(n) && n >= 1 && n <= 256) state.concurrency = n;
  });
  setHandler(
    setConcurrencyUpdate,
    async (n) => {
      const previous = state.concurrency;
      state.concurrency = n;
      await toParts('concurrency', (id) => getExternalWorkflowHandle(id).signal(concurrencySignal, n));
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
  // Refused before anything is read or held: an `at` in the future; a part started by hand.
  if (safe && !carried) checkJobStart(job.procedure, { at: job.atGiven, range: job.range });

  const body = async (): Promise<BulkJobResult> => {
    phase = carried ? 'restoring' : 'checking';
    if (!carried) await checkBuckets(log, job);
    let survey: SurveyResult | undefined;
    if (safe && !carried && !job.range) {
      phase = 'surveying';
      const before = await surveyAndGate(log, gate, job, {
        surveyed: (s) => {
          state.totalKeys = s.radius.keysInScope;
        },
        waiting: (waiting) => {
          phase = waiting ? 'awaiting-approval' : 'restoring';
        },
      });
      survey = before.survey;
      state.gate = before.gate;
    }
    if (job.parts > 1 && !job.range) return runParts(survey?.boundaries);
    return runPagesAndFinish();
  };

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
      gate: state.gate,
      undelivered: undelivered.length > 0 ? undelivered : undefined,
      copiedBy: state.copiedBy,
    };
  }

  async function runPagesAndFinish(): Promise<BulkJobResult> {
    // Runs started before the survey counted the keys beside the pages, for the ETA only.
    if (!safe && state.totalKeys === undefined) {
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
              state.steps = compactSteps(log.steps);
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
            state.copiedBy = addPaths(state.copiedBy, result.copiedBy);
            for (const f of result.failed)
              if (state.firstFailed.length < MAX_FAILED_KEPT) state.firstFailed.push(f);
            state.cursor = result.nextAfterKey;
            done = result.done;
            showProgress();
          }
        },
        pageNumbers,
      );
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

  /**
   * A split job: cut the keys into `parts` ranges of about equal size (from the survey's boundaries;
   * runs started before the survey count them here), then run each range as a child workflow
   * `<jobId>/part-<n>` (the same workflow, with `range` set), all at once; pause, resume and
   * concurrency are passed on to the parts. The counts are the parts' sums.
   */
  async function runParts(boundaries?: string[]): Promise<BulkJobResult> {
    const jobId = workflowInfo().workflowId;
    if (boundaries === undefined) {
      const split = await log.run(
        'split key space',
        () => counting.countKeys({ ...source, parts: job.parts }),
        undefined,
        (r) => `${r.keys} keys in ${(r.boundaries?.length ?? 0) + 1} ranges`,
      );
      state.totalKeys = split.keys;
      boundaries = split.boundaries ?? [];
    }
    const ranges = rangesFromBoundaries(boundaries);
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
            state.copiedBy = addPaths(state.copiedBy, r.copiedBy);
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

  // A job that writes holds the lease on its target range from before its first read of the plan
  // until it ends; the parts of a split job share their parent's, and a dry run writes nothing.
  const writeTo = target ?? source;
  if (safe && !job.dryRun && !job.range)
    return withLease(
      log,
      {
        region: writeTo.region,
        bucket: writeTo.bucket,
        range: { prefix: writeTo.prefix },
        procedure: job.procedure,
        wait: job.safety.waitForLease,
        ttlSeconds: job.safety.leaseTtlSeconds,
        onWaiting: showWaiting(log, (w) => {
          waitingFor = w;
          if (w) phase = 'waiting-for-lease';
        }),
      },
      body,
    );
  return body();
}
