// Undo of an in-place point-in-time restore: reads the restore's report and undo manifests from the
// reports location and puts each key it touched back as it was, one manifest page per activity.
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
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
} from '../core/undo';
import { compareKeys, VersionEntry } from '../core/versions';
import { s3For } from './deps';
import { listReports, readReport, ReportsDeps, writeReport } from './reports';
import { forEachLimited, listCompleteKeys, Location } from './restore';
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
  reports: string[];
}

interface UndoCheckpoint {
  /** Records done, in manifest order, before the first one not done. */
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
    }): Promise<{ pages: string[]; more: boolean }> => {
      const base = `${input.jobId}/undo/`;
      const { names, truncated } = await listReports(deps, base, {
        delimiter: true,
        startAfter: input.afterPage !== undefined ? `${base}${input.afterPage}/` : undefined,
        max: input.max,
      });
      return { pages: names.map((n) => n.slice(base.length, -1)), more: truncated };
    },

    undoPage: async (input: UndoPageInput): Promise<UndoPageResult> => {
      const ctx = Context.current();
      const s3 = s3For(deps, input.source.region);
      const folder = `${input.jobId}/undo/${input.page}/`;
      const files = (await listReports(deps, folder)).names.sort((a, b) => attemptOf(a) - attemptOf(b));
      const attempts = await Promise.all(
        files.map(async (f) => parseUndoManifest((await readReport(deps, f)) ?? '', f)),
      );
      const records = firstRecordPerKey(attempts);

      // A dry run starts its page over (it changed nothing, and its plan file lists the whole page).
      const resumed = input.dryRun ? undefined : (ctx.info.heartbeatDetails as UndoCheckpoint | undefined);
      let planned = resumed?.planned ?? emptyUndoCounts();
      let applied = resumed?.applied ?? emptyUndoCounts();
      const conflicts = [...(resumed?.conflicts ?? [])];
      const failed = [...(resumed?.failed ?? [])];
      const allConflicts: UndoKeyProblem[] = [];
      const allFailed: UndoKeyProblem[] = [];
      const failedBefore = resumed?.failedCount ?? 0;
      const plans: (UndoAction | null)[] = [];
      const todo = records.slice(resumed?.done ?? 0);
      const finished = new Array<boolean>(todo.length).fill(false);
      let watermark = -1;
      let lastBeat = 0;
      const beat = (force = false) => {
        while (watermark + 1 < finished.length && finished[watermark + 1]) watermark++;
        const now = Date.now();
        if (!force && now - lastBeat < 200) return;
        lastBeat = now;
        ctx.heartbeat({
          done: (resumed?.done ?? 0) + watermark + 1,
          planned,
          applied,
          conflicts: conflicts.slice(0, MAX_LISTED),
          failed: failed.slice(0, MAX_LISTED),
          failedCount: failedBefore + allFailed.length,
        } satisfies UndoCheckpoint);
      };

      // The page's keys are one contiguous range of the restore's listing: listed together, a request
      // per 1,000 versions instead of one per key.
      const versions = await listRange(todo.map((r) => r.key));
      await forEachLimited(todo, input.concurrency, async (record, i) => {
        if (ctx.cancellationSignal.aborted) return;
        try {
          const entries = versions.get(record.key) ?? [];
          const plan = planUndoKey(record, entries, input.restoreStartedAt);
          plans[i] = plan;
          planned = countUndo(planned, plan);
          if (plan?.action === 'conflict') {
            const c = { key: record.key, reason: plan.reason };
            allConflicts.push(c);
            if (conflicts.length < MAX_LISTED) conflicts.push(c);
          } else if (plan && !input.dryRun) {
            await apply(plan);
            applied = countUndo(applied, plan);
          }
        } catch (err) {
          if (ctx.cancellationSignal.aborted) return;
          const name = s3ErrorName(err);
          const message = err instanceof Error ? err.message : String(err);
          const f = {
            key: record.key,
            reason: name && !message.startsWith(name) ? `${name}: ${message}` : message,
          };
          allFailed.push(f);
          if (failed.length < MAX_LISTED) failed.push(f);
        }
        finished[i] = true;
        beat();
      });
      beat(true);
      if (ctx.cancellationSignal.aborted) {
        // Cancelled: what was done is in the checkpoint; a later attempt goes on from it.
        throw new CancelledFailure('undo page cancelled');
      }

      const reports: string[] = [];
      const write = async (kind: string, lines: unknown[]) => {
        if (lines.length === 0) return;
        reports.push(
          await writeReport(
            deps,
            `${input.undoJobId}/${kind}/${input.jobId.replace(/\//g, '_')}-${input.page}-attempt-${ctx.info.attempt}.jsonl`,
            lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
            'application/x-ndjson',
          ),
        );
      };
      if (input.dryRun)
        await write(
          'plan',
          plans.filter((p) => p !== null && p !== undefined),
        );
      await write('conflicts', allConflicts);
      await write('failed', allFailed);
      return { planned, applied, conflicts, failed, failedCount: failedBefore + allFailed.length, reports };

      /** The versions of `keys` (and of the keys between them), by key. */
      async function listRange(keys: string[]): Promise<Map<string, VersionEntry[]>> {
        const out = new Map<string, VersionEntry[]>();
        if (keys.length === 0) return out;
        const sorted = [...keys].sort(compareKeys);
        const first = sorted[0];
        const last = sorted[sorted.length - 1];
        const { bucket, prefix } = input.source;
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
          throw classifyS3Error(err, `${input.source.region}/${bucket}/${prefix}`);
        }
      }

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
