// Undo of an in-place point-in-time restore: reads the restore's report and undo manifests from the
// reports location and puts each key it touched back as it was, one manifest page per activity.
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { ErrorType } from '../core/errors';
import {
  attemptOf,
  countUndo,
  emptyUndoCounts,
  firstRecordPerKey,
  parseUndoManifest,
  planUndoKey,
  UndoAction,
  UndoCounts,
  undoChangeKind,
  UndoRecord,
} from '../core/undo';
import { BlastRadius, emptyBlastRadius, tallyKey } from '../core/gate';
import { compareKeys, VersionEntry } from '../core/versions';
import { s3For } from './deps';
import { listReports, readReport, ReportsDeps, writeReport } from './reports';
import { Location } from './restore';
import { forEachLimited, listCompleteKeys } from './s3/list-keys';
import { copyVersion } from './s3/copy';
import { classifyS3Error, s3ErrorName } from './s3/errors';
import { listKeyVersions } from './s3/versions';

/** What an undo needs to know of the restore it undoes (from its report.json). */
export interface RestoreJobInfo {
  jobId: string;
  source: Location;
  at: string;
  startedAt: string;
  /** The job itself and, for a split job, its parts: each has its own undo manifests. */
  manifestJobIds: string[];
  cancelled: boolean;
}

export interface UndoPageInput {
  undoJobId: string;
  /** The restore job (or part) whose manifest page this is, and the page's folder name. */
  jobId: string;
  page: string;
  source: Location;
  restoreStartedAt: string;
  dryRun: boolean;
  concurrency: number;
  /** Records of the page already done (a page run again after a pause). */
  startIndex?: number;
}

export interface UndoKeyProblem {
  key: string;
  reason: string;
}

export interface UndoPageResult {
  planned: UndoCounts;
  applied: UndoCounts;
  conflicts: UndoKeyProblem[];
  failed: UndoKeyProblem[];
  /** All keys that failed after retries (`failed` lists the first of them). */
  failedCount: number;
  /** Records of the page done (in manifest order) when it returned: all of them unless stopped. */
  done: number;
  reports: string[];
  /** Stopped part-way by a pause or cancel: run the page again with `startIndex: done`. */
  stopped?: boolean;
}

interface UndoCheckpoint {
  /** Records done, in manifest order, before the first one not done; the counts are theirs. */
  done: number;
  planned: UndoCounts;
  applied: UndoCounts;
  conflicts: UndoKeyProblem[];
  failed: UndoKeyProblem[];
  failedCount: number;
}

const MAX_LISTED = 50;

function invalid(message: string, type: string = ErrorType.InvalidInput): never {
  throw ApplicationFailure.nonRetryable(message, type);
}

/** The undo records of one manifest page: each key's first record across the page's attempt files. */
async function readPageRecords(deps: ReportsDeps, jobId: string, page: string): Promise<UndoRecord[]> {
  const folder = `${jobId}/undo/${page}/`;
  const files = (await listReports(deps, folder)).names.sort((a, b) => attemptOf(a) - attemptOf(b));
  const attempts = await Promise.all(
    files.map(async (f) => parseUndoManifest((await readReport(deps, f)) ?? '', f)),
  );
  return firstRecordPerKey(attempts);
}

/** The versions of `keys` (and of the keys between them), by key: one contiguous range, listed together. */
async function listRange(
  s3: S3Client,
  source: Location,
  keys: string[],
): Promise<Map<string, VersionEntry[]>> {
  const out = new Map<string, VersionEntry[]>();
  if (keys.length === 0) return out;
  const sorted = [...keys].sort(compareKeys);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const { bucket, prefix } = source;
  try {
    // The first key on its own: a listing from a marker starts after it on AWS (at it on RGW).
    out.set(first, await listKeyVersions(s3, bucket, first));
    for (let after = first; ;) {
      const page = await listCompleteKeys(s3, bucket, prefix, after, 1000, last);
      for (const g of page.groups) out.set(g.key, g.entries);
      if (page.done || page.groups.length === 0) return out;
      after = page.groups[page.groups.length - 1].key;
    }
  } catch (err) {
    throw classifyS3Error(err, `${source.region}/${bucket}/${prefix}`);
  }
}

/** Manifest pages of a restore job (folder names, in order), at most `max` after `afterPage`. */
async function manifestPages(
  deps: ReportsDeps,
  jobId: string,
  afterPage: string | undefined,
  max: number,
): Promise<{ pages: string[]; more: boolean }> {
  const base = `${jobId}/undo/`;
  const { names, truncated } = await listReports(deps, base, {
    delimiter: true,
    startAfter: afterPage !== undefined ? `${base}${afterPage}/` : undefined,
    max,
  });
  return { pages: names.map((n) => n.slice(base.length, -1)), more: truncated };
}

export function createUndoActivities(deps: ReportsDeps) {
  return {
    /** The restore's report: an in-place point-in-time restore that ran (not a dry run) can be undone. */
    readRestoreJob: async (input: { jobId: string }): Promise<RestoreJobInfo> => {
      const text = await readReport(deps, `${input.jobId}/report.json`);
      if (text === undefined) {
        invalid(
          `no report of job "${input.jobId}" in the reports location: the id is wrong, or the job has not ` +
            'finished (wait for it, or cancel it: a cancelled job writes its report too)',
          'NoSuchRestoreReport',
        );
      }
      const r = JSON.parse(text) as {
        procedure?: string;
        source?: Location;
        target?: Location;
        at?: string;
        dryRun?: boolean;
        startedAt?: string;
        cancelled?: boolean;
        parts?: { workflowId: string }[];
      };
      if (r.procedure !== 'pointInTimeRestore')
        invalid(`job "${input.jobId}" is a ${r.procedure ?? 'unknown job'}, not a point-in-time restore`);
      if (r.dryRun)
        invalid(`job "${input.jobId}" was a dry run: it changed nothing, there is nothing to undo`);
      if (r.target)
        invalid(
          `job "${input.jobId}" restored into ${r.target.region}/${r.target.bucket}/${r.target.prefix}, not in ` +
            'place: undo covers in-place restores (the source was not changed; the target holds only restored copies)',
        );
      if (!r.source || !r.startedAt || !r.at) invalid(`the report of job "${input.jobId}" is incomplete`);
      return {
        jobId: input.jobId,
        source: r.source,
        at: r.at,
        startedAt: r.startedAt,
        manifestJobIds: [input.jobId, ...(r.parts ?? []).map((p) => p.workflowId)],
        cancelled: r.cancelled ?? false,
      };
    },

    /** The restore job's undo manifest pages (folder names, in order), at most `max` after `afterPage`. */
    listUndoPages: async (input: {
      jobId: string;
      afterPage?: string;
      max: number;
    }): Promise<{ pages: string[]; more: boolean }> =>
      manifestPages(deps, input.jobId, input.afterPage, input.max),

    /**
     * The whole undo planned before its first write, key by key as the pages will plan it: what it
     * would delete (markers added), overwrite (copies back over current data) and bring back, for
     * the blast-radius gate. Memory: one manifest page at a time.
     */
    surveyUndo: async (input: {
      manifestJobIds: string[];
      source: Location;
      restoreStartedAt: string;
    }): Promise<{ radius: BlastRadius; planned: UndoCounts }> => {
      const ctx = Context.current();
      const s3 = s3For(deps, input.source.region);
      let radius = emptyBlastRadius();
      let planned = emptyUndoCounts();
      for (const jobId of input.manifestJobIds) {
        let afterPage: string | undefined;
        for (;;) {
          const listed = await manifestPages(deps, jobId, afterPage, 100);
          for (const page of listed.pages) {
            const records = await readPageRecords(deps, jobId, page);
            const versions = await listRange(
              s3,
              input.source,
              records.map((r) => r.key),
            );
            for (const record of records) {
              const plan = planUndoKey(record, versions.get(record.key) ?? [], input.restoreStartedAt);
              planned = countUndo(planned, plan);
              radius = tallyKey(radius, record.key, undoChangeKind(plan));
            }
            ctx.heartbeat({ jobId, page, keys: radius.keysInScope });
            afterPage = page;
          }
          if (!listed.more) break;
        }
      }
      return { radius, planned };
    },

    undoPage: async (input: UndoPageInput): Promise<UndoPageResult> => {
      const ctx = Context.current();
      const s3 = s3For(deps, input.source.region);
      const records = await readPageRecords(deps, input.jobId, input.page);

      // Where this attempt starts: a retry from its last checkpoint; a page run again after a pause
      // from where it stopped (`startIndex`). A dry run's retry starts over (it changed nothing).
      const resumed = input.dryRun ? undefined : (ctx.info.heartbeatDetails as UndoCheckpoint | undefined);
      const from = resumed?.done ?? input.startIndex ?? 0;
      const todo = records.slice(from);
      // Each key's outcome; the counts cover the keys up to the watermark (all of them done, in
      // manifest order), so a checkpoint or a stop never counts a key that will be done again.
      const outcomes: { plan: UndoAction | null; applied: boolean; failed?: UndoKeyProblem }[] = [];
      let done: UndoCheckpoint = resumed ?? {
        done: from,
        planned: emptyUndoCounts(),
        applied: emptyUndoCounts(),
        conflicts: [],
        failed: [],
        failedCount: 0,
      };
      const allConflicts: UndoKeyProblem[] = [];
      const allFailed: UndoKeyProblem[] = [];
      let watermark = -1;
      let lastBeat = 0;
      const advance = (force = false) => {
        while (watermark + 1 < todo.length && outcomes[watermark + 1] !== undefined) {
          watermark++;
          const o = outcomes[watermark];
          const key = todo[watermark].key;
          const next: UndoCheckpoint = {
            done: from + watermark + 1,
            planned: countUndo(done.planned, o.plan),
            applied: o.applied ? countUndo(done.applied, o.plan) : done.applied,
            conflicts: done.conflicts,
            failed: done.failed,
            failedCount: done.failedCount + (o.failed ? 1 : 0),
          };
          if (o.plan?.action === 'conflict') {
            allConflicts.push({ key, reason: o.plan.reason });
            if (next.conflicts.length < MAX_LISTED)
              next.conflicts = [...next.conflicts, allConflicts.at(-1)!];
          }
          if (o.failed) {
            allFailed.push(o.failed);
            if (next.failed.length < MAX_LISTED) next.failed = [...next.failed, o.failed];
          }
          done = next;
        }
        const now = Date.now();
        if (!force && now - lastBeat < 200) return;
        lastBeat = now;
        ctx.heartbeat(done);
      };

      // The page's keys are one contiguous range of the restore's listing: listed together, a request
      // per 1,000 versions instead of one per key.
      const versions = await listRange(
        s3,
        input.source,
        todo.map((r) => r.key),
      ).catch((err: unknown) => {
        if (ctx.cancellationSignal.aborted) throw new CancelledFailure('stopped while listing');
        throw err;
      });
      await forEachLimited(todo, input.concurrency, async (record, i) => {
        if (ctx.cancellationSignal.aborted) return; // paused or cancelled: start nothing new
        let plan: UndoAction | null = null;
        try {
          plan = planUndoKey(record, versions.get(record.key) ?? [], input.restoreStartedAt);
          // One request each, not cut off by a pause: whether it took effect is never in doubt.
          const act = plan !== null && plan.action !== 'conflict' && !input.dryRun;
          if (act) await apply(plan!);
          outcomes[i] = { plan, applied: act };
        } catch (err) {
          const name = s3ErrorName(err);
          const message = err instanceof Error ? err.message : String(err);
          const reason = name && !message.startsWith(name) ? `${name}: ${message}` : message;
          outcomes[i] = { plan, applied: false, failed: { key: record.key, reason } };
        }
        advance();
      });
      advance(true);

      const reports: string[] = [];
      const write = async (kind: string, lines: unknown[]) => {
        if (lines.length === 0) return;
        const name = `${input.jobId.replace(/\//g, '_')}-${input.page}${from > 0 ? `-from-${from}` : ''}-attempt-${ctx.info.attempt}`;
        reports.push(
          await writeReport(
            deps,
            `${input.undoJobId}/${kind}/${name}.jsonl`,
            lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
            'application/x-ndjson',
          ),
        );
      };
      if (input.dryRun)
        await write(
          'plan',
          outcomes.slice(0, watermark + 1).flatMap((o) => (o.plan ? [o.plan] : [])),
        );
      await write('conflicts', allConflicts);
      await write('failed', allFailed);
      const result = { ...done, reports };
      // Stopped by a pause (or cancel) part-way: the workflow runs the page again from `done`.
      if (ctx.cancellationSignal.aborted && done.done < records.length) return { ...result, stopped: true };
      return result;

      async function apply(plan: UndoAction): Promise<void> {
        const { bucket } = input.source;
        switch (plan.action) {
          case 'copy':
            await copyVersion(
              s3,
              s3,
              { bucket, key: plan.key, versionId: plan.sourceVersionId, size: plan.size },
              { bucket, key: plan.key },
              true,
              deps,
            );
            return;
          case 'remove-markers':
            for (const id of plan.markerVersionIds)
              await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: plan.key, VersionId: id }));
            return;
          case 'add-marker':
            // No version id: a delete marker on a versioned bucket, never a permanent delete.
            await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: plan.key }));
            return;
          case 'conflict':
            return;
        }
      }
    },
  };
}

export type UndoActivities = ReturnType<typeof createUndoActivities>;
