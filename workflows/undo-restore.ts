// undoRestore: puts back what an in-place point-in-time restore changed, key by key, from the undo
// manifests the restore wrote before touching each key. Keys changed by someone else since the restore
// are left alone and reported (conflicts). One activity per manifest page; continued as new when the
// history grows, carrying counters and a cursor.
import {
  ActivityCancellationType,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RestoreActivities } from '../activities/restore';
import type { ReportActivities } from '../activities/report-activities';
import type { RestoreJobInfo, UndoActivities, UndoKeyProblem, UndoPageResult } from '../activities/undo';
import { pauseSignal, resumeSignal, setConcurrencyUpdate } from './point-in-time-restore';
import { gateDecision, thresholdsOf } from '../core/gate';
import { compactSteps, Step } from '../core/steps';
import { addUndoCounts, emptyUndoCounts, UndoCounts, UndoRestoreInput } from '../core/undo';
import { Gate, GateRecord } from './lib/gate';
import { markPhase, markRun } from './lib/search-attributes';
import { parseWorkflowInput, refuseExtraInput } from './lib/input';
import { showWaiting, withLease } from './lib/lease';
import { StepLog } from './lib/steps';

export { UndoRestoreInput };

export interface UndoProgress {
  phase: 'waiting-for-lease' | 'checking' | 'surveying' | 'awaiting-approval' | 'undoing' | 'paused' | 'done';
  /** What the undo waits for (another job's lease on the restored range). */
  waitingFor?: string;
  dryRun: boolean;
  pages: number;
  planned: UndoCounts;
  applied: UndoCounts;
  conflicts: number;
  failed: number;
  paused: boolean;
  concurrency: number;
  startedAt: string;
}

export const undoProgressQuery = defineQuery<UndoProgress>('progress');

export interface UndoRestoreResult {
  workflowId: string;
  restoreJobId: string;
  source: RestoreJobInfo['source'];
  /** The restore's T, and when it started (its writes are the ones after this). */
  restoredTo: string;
  restoreStartedAt: string;
  dryRun: boolean;
  planned: UndoCounts;
  applied: UndoCounts;
  conflictCount: number;
  /** The first conflicts (all of them are in the conflict reports): keys changed since the restore. */
  conflicts: UndoKeyProblem[];
  failedCount: number;
  failed: UndoKeyProblem[];
  pages: number;
  runs: number;
  reportsPrefix?: string;
  report?: string;
  steps: Step[];
  startedAt: string;
  finishedAt: string;
  /** The undo was cancelled: the counts say what was done before it stopped (in its report only). */
  cancelled?: boolean;
  /** What the undo deletes, overwrites and brings back, and whether the blast-radius gate stopped it. */
  gate?: GateRecord;
}

/** What continue-as-new carries: the restore's facts, a cursor and counters. */
export interface UndoState {
  info?: RestoreJobInfo;
  /** Index into info.manifestJobIds, and the last page done of that job. */
  jobIndex: number;
  afterPage?: string;
  /** Records of the next page already done (it was stopped part-way by a pause). */
  startIndex?: number;
  paused: boolean;
  concurrency: number;
  pages: number;
  planned: UndoCounts;
  applied: UndoCounts;
  conflictCount: number;
  conflicts: UndoKeyProblem[];
  failedCount: number;
  failed: UndoKeyProblem[];
  steps: Step[];
  startedAt: string;
  runs: number;
  /** The blast-radius gate's counts and decision (taken once, before the first write). */
  gate?: GateRecord;
}

const MAX_KEPT = 50;

const checks = proxyActivities<UndoActivities & RestoreActivities & ReportActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
const surveys = proxyActivities<UndoActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 10 },
});
const pages = proxyActivities<UndoActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 20 },
});

export async function undoRestore(
  input: UndoRestoreInput,
  carried?: UndoState,
  ...extra: unknown[]
): Promise<UndoRestoreResult> {
  refuseExtraInput('undoRestore', carried, extra);
  const req = parseWorkflowInput(UndoRestoreInput, input, 'undoRestore');
  const state: UndoState = carried ?? {
    jobIndex: 0,
    pages: 0,
    planned: emptyUndoCounts(),
    applied: emptyUndoCounts(),
    conflictCount: 0,
    conflicts: [],
    failedCount: 0,
    failed: [],
    steps: [],
    startedAt: new Date().toISOString(),
    runs: 0,
    paused: false,
    concurrency: req.concurrency,
  };
  state.runs += 1;
  const log = new StepLog(
    `undo of restore ${req.jobId}${req.dryRun ? ' (dry run)' : ''}`,
    compactSteps(state.steps),
  );
  // Runs started before leases, the survey and the gate replay as they ran.
  const safe = patched('lease-survey-gate');
  let phase: UndoProgress['phase'] = carried ? 'undoing' : 'checking';
  let waitingFor: string | undefined;
  const gate = new Gate();
  setHandler(undoProgressQuery, () => ({
    phase: state.paused ? 'paused' : phase,
    waitingFor,
    paused: state.paused,
    concurrency: state.concurrency,
    dryRun: req.dryRun,
    pages: state.pages,
    planned: state.planned,
    applied: state.applied,
    conflicts: state.conflictCount,
    failed: state.failedCount,
    startedAt: state.startedAt,
  }));
  let pageScope: CancellationScope | undefined;
  setHandler(pauseSignal, () => {
    if (state.paused) return;
    state.paused = true;
    markPhase('paused');
    pageScope?.cancel(); // the running page stops within a heartbeat, its counts exact
  });
  setHandler(resumeSignal, () => {
    if (!state.paused) return;
    state.paused = false;
    markPhase(req.dryRun ? 'plan' : 'undo');
  });
  setHandler(
    setConcurrencyUpdate,
    (n) => {
      const previous = state.concurrency;
      state.concurrency = n;
      return Promise.resolve(previous);
    },
    {
      validator: (n) => {
        if (!Number.isInteger(n) || n < 1 || n > 256)
          throw new Error('concurrency must be a whole number from 1 to 256');
      },
    },
  );
  markRun('undoRestore', req.jobId);

  if (!state.info) {
    markPhase('check');
    const info = await log.run(
      "read the restore's report",
      () => checks.readRestoreJob({ jobId: req.jobId }),
      (i) => ({ manifests: i.manifestJobIds.length }),
      (i) =>
        `${i.source.region}/${i.source.bucket}/${i.source.prefix} restored to ${i.at}, started ${i.startedAt}`,
    );
    await log.run('check versioning', () =>
      checks.checkRestoreBucket({
        region: info.source.region,
        bucket: info.source.bucket,
        requireVersioning: true,
        why: 'an undo adds versions and delete markers, which only a versioned bucket keeps',
      }),
    );
    state.info = info;
  }
  const info = state.info;

  /** Before the first write: the whole undo planned and counted, and the blast-radius gate passed. */
  const surveyAndGate = async () => {
    phase = 'surveying';
    markPhase('survey');
    const survey = await log.run(
      'survey',
      () =>
        surveys.surveyUndo({
          manifestJobIds: info.manifestJobIds,
          source: info.source,
          restoreStartedAt: info.startedAt,
        }),
      (r) => ({
        keys: r.radius.keysInScope,
        deletes: r.radius.deletes,
        overwrites: r.radius.overwrites,
        creates: r.radius.creates,
        conflicts: r.planned.conflicts,
      }),
    );
    if (req.dryRun) {
      const verdict = gateDecision(survey.radius, thresholdsOf(req));
      state.gate = { radius: survey.radius, stopped: verdict.stop, reasons: verdict.reasons };
      log.skip(
        'blast-radius gate',
        verdict.stop
          ? `dry run: the real undo would stop for approval: ${verdict.reasons.join('; ')}`
          : `dry run: the real undo would pass (${verdict.summary})`,
      );
      return;
    }
    state.gate = await gate.pass(log, {
      radius: survey.radius,
      thresholds: thresholdsOf(req),
      autoApprove: req.autoApprove,
      timeoutSeconds: req.approvalTimeoutSeconds,
      what: 'undo',
      onWaiting: (w) => {
        phase = w ? 'awaiting-approval' : 'undoing';
      },
    });
  };

  const body = async (): Promise<UndoRestoreResult> => {
    if (safe && !carried) await surveyAndGate();
    phase = 'undoing';
    markPhase(req.dryRun ? 'plan' : 'undo');

    let pagesThisRun = 0;
    const showProgress = () =>
      log.progress(
        `${state.paused ? 'paused' : req.dryRun ? 'planning' : 'undoing'}: page ${state.pages}, ${state.planned.keys} keys seen, ${state.applied.keys} put back, ${state.conflictCount} conflicts, ${state.failedCount} failed`,
        pageNumbers(),
      );
    const pageNumbers = () => ({
      pages: state.pages,
      keys: state.planned.keys,
      applied: state.applied.keys,
      conflicts: state.conflictCount,
      failed: state.failedCount,
    });
    const buildResult = (): UndoRestoreResult => ({
      workflowId: workflowInfo().workflowId,
      restoreJobId: info.jobId,
      source: info.source,
      restoredTo: info.at,
      restoreStartedAt: info.startedAt,
      dryRun: req.dryRun,
      planned: state.planned,
      applied: state.applied,
      conflictCount: state.conflictCount,
      conflicts: state.conflicts,
      failedCount: state.failedCount,
      failed: state.failed,
      pages: state.pages,
      runs: state.runs,
      steps: log.steps,
      startedAt: state.startedAt,
      finishedAt: new Date().toISOString(),
      gate: state.gate,
    });
    try {
      await log.run(
        `${req.dryRun ? 'plan' : 'undo'} pages (run ${state.runs})`,
        async () => {
          while (state.jobIndex < info.manifestJobIds.length) {
            const jobId = info.manifestJobIds[state.jobIndex];
            const listed = await checks.listUndoPages({ jobId, afterPage: state.afterPage, max: 100 });
            for (const page of listed.pages) {
              if (pagesThisRun >= req.pagesPerRun || workflowInfo().continueAsNewSuggested) {
                await condition(allHandlersFinished);
                log.closeRunning(`continued as new after ${state.pages} pages`);
                return continueAsNew<typeof undoRestore>(input, { ...state, steps: compactSteps(log.steps) });
              }
              // A page runs until it is done; a pause stops it part-way and it goes on from there.
              for (;;) {
                if (state.paused) {
                  showProgress();
                  await condition(() => !state.paused);
                }
                const scope = new CancellationScope();
                pageScope = scope;
                let r: UndoPageResult;
                try {
                  r = await scope.run(() =>
                    pages.undoPage({
                      undoJobId: workflowInfo().workflowId,
                      jobId,
                      page,
                      source: info.source,
                      restoreStartedAt: info.startedAt,
                      dryRun: req.dryRun,
                      concurrency: state.concurrency,
                      startIndex: state.startIndex,
                    }),
                  );
                } catch (err) {
                  // Paused before the page had listed: it runs again from where it was.
                  if (
                    state.paused &&
                    (isCancellation(err) || isCancellation((err as { cause?: unknown }).cause))
                  )
                    continue;
                  throw err;
                } finally {
                  pageScope = undefined;
                }
                state.planned = addUndoCounts(state.planned, r.planned);
                state.applied = addUndoCounts(state.applied, r.applied);
                state.conflictCount += r.planned.conflicts;
                state.failedCount += r.failedCount;
                state.conflicts.push(...r.conflicts.slice(0, Math.max(0, MAX_KEPT - state.conflicts.length)));
                state.failed.push(...r.failed.slice(0, Math.max(0, MAX_KEPT - state.failed.length)));
                state.startIndex = r.stopped ? r.done : undefined;
                showProgress();
                if (!r.stopped) break;
              }
              state.afterPage = page;
              state.pages += 1;
              pagesThisRun += 1;
              showProgress();
            }
            if (!listed.more) {
              state.jobIndex += 1;
              state.afterPage = undefined;
            }
          }
        },
        pageNumbers,
      );
    } catch (err) {
      if (isCancellation(err)) {
        // Cancelled: the running page has stopped with exact counts. Leave them on record, then end
        // as cancelled; running the undo again finishes it (keys put back already are left alone).
        await CancellationScope.nonCancellable(async () => {
          markPhase('cancelled');
          await checks.writeJobReport({
            jobId: workflowInfo().workflowId,
            report: { ...buildResult(), cancelled: true },
          });
        });
      }
      throw err;
    }

    const result = buildResult();
    const written = await log.run(
      'write report',
      () => checks.writeJobReport({ jobId: result.workflowId, report: result }),
      undefined,
      (w) => w.report,
    );
    result.reportsPrefix = written.prefix;
    result.report = written.report;
    result.steps = log.steps;
    result.finishedAt = new Date().toISOString();
    phase = 'done';
    markPhase(
      state.failedCount > 0 ? 'done-with-failures' : state.conflictCount > 0 ? 'done-with-conflicts' : 'done',
    );
    return result;
  };
  // The undo writes to the restored range: it holds the lease on it, as the restore did.
  if (safe && !req.dryRun)
    return withLease(
      log,
      {
        region: info.source.region,
        bucket: info.source.bucket,
        range: { prefix: info.source.prefix },
        procedure: 'undoRestore',
        wait: req.waitForLease,
        ttlSeconds: req.leaseTtlSeconds,
        onWaiting: showWaiting(log, (w) => {
          waitingFor = w;
          if (w) phase = 'waiting-for-lease';
        }),
      },
      body,
    );
  return body();
}
