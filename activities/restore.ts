// The bulk engine's unit of work: one listing page of a point-in-time restore (or bulk copy), planned
// and applied with bounded concurrency, checkpointed by heartbeat, safe to redo from any point.
import { DeleteObjectCommand, GetBucketVersioningCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { ErrorType } from '../core/errors';
import {
  addCounts,
  countAction,
  emptyCounts,
  PitrPlanOptions,
  PlanCounts,
  planKeyInPlace,
  planKeyToTarget,
  RestoreAction,
  TargetObject,
  targetKey,
  doneByEarlierAttempt,
} from '../core/pitr';
import { attemptOf, firstRecordPerKey, parseUndoManifest, UndoRecord } from '../core/undo';
import { inRange, KeyRange, KeySampler } from '../core/key-ranges';
import { bareEtag, compareKeys } from '../core/versions';
import { s3For } from './deps';
import { listReports, readReport, ReportsDeps, writeReport } from './reports';
import { addCopyPaths, copyVersion, CopyPath, emptyCopyPaths } from './s3/copy';
import { classifyS3Error, s3ErrorName } from './s3/errors';
import { listVersionsPage } from './s3/list-versions';
import { activitySignal } from './s3/signal';
import { forEachLimited, listCompleteKeys, listTargetRange, ListedKeys } from './s3/list-keys';

export interface Location {
  region: string;
  bucket: string;
  prefix: string;
}

export interface RestorePageInput {
  jobId: string;
  pageNumber: number;
  source: Location;
  /** Omitted: in place. */
  target?: Location;
  at: string;
  from?: string;
  deleteKeysCreatedAfter: boolean;
  /** Into another bucket: skip keys whose target has the same ETag and size. */
  skipExisting: boolean;
  dryRun: boolean;
  concurrency: number;
  pageSize: number;
  /** Start after this key (the workflow's cursor); undefined for the first page. */
  afterKey?: string;
  /** The last key of this job's range (a part of a split job); undefined: to the end of the prefix. */
  untilKey?: string;
}

export interface FailedKey {
  key: string;
  action: RestoreAction['action'];
  error: string;
}

export interface RestorePageResult {
  /** Where the next page starts; undefined when the listing is done. */
  nextAfterKey?: string;
  done: boolean;
  /** What the plan said for the keys of this page. */
  planned: PlanCounts;
  /** What was carried out (equal to planned minus failures; zero on a dry run). */
  applied: PlanCounts;
  failed: FailedKey[];
  /** Reports written for this page (plan on a dry run; undo manifest and failures otherwise). */
  reports: string[];
  /** Stopped part-way by a pause or cancel: `nextAfterKey` is the last key done, counts are exact. */
  stopped?: boolean;
  /** Objects copied by each copy path (lean signed request, SDK, streamed, multipart). */
  copiedBy: Record<CopyPath, number>;
}

/** The checkpoint heartbeated after each key: every key up to `doneUpTo` (in listing order) is done. */
export interface RestoreCheckpoint {
  afterKey?: string;
  doneUpTo?: string;
  planned: PlanCounts;
  applied: PlanCounts;
  failed: FailedKey[];
  copiedBy?: Record<CopyPath, number>;
}

/** How often the page's checkpoint is given to Temporal while keys finish (see advance()). */
const HEARTBEAT_EVERY_MS = 200;

/** The failure list kept in results and heartbeats is capped; the full list goes to the report. */
const MAX_FAILED_IN_RESULT = 50;

/**
 * Read-ahead of source listings: while a page copies, the listing of the page after it is fetched, so
 * the next page's activity starts copying at once instead of waiting for a listing. Sound because a
 * page's listing only has to be taken after the job started (bulkCopy copies the state at its start;
 * a restore to T reads versions no later than T), and a page writes no key of the pages after it.
 * Kept per job, taken at most once, dropped after READ_AHEAD_TTL_MS (a pause) and on error; a page
 * run on another worker simply lists for itself.
 */
class ReadAhead {
  private readonly entries = new Map<string, { at: number; listing: Promise<ListedKeys> }>();

  put(key: string, listing: Promise<ListedKeys>): void {
    const now = Date.now();
    for (const [k, e] of this.entries) if (now - e.at > READ_AHEAD_TTL_MS) this.entries.delete(k);
    while (this.entries.size >= READ_AHEAD_MAX) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { at: now, listing });
    listing.catch(() => this.entries.delete(key));
  }

  take(key: string): Promise<ListedKeys> | undefined {
    const e = this.entries.get(key);
    this.entries.delete(key);
    return e && Date.now() - e.at <= READ_AHEAD_TTL_MS ? e.listing : undefined;
  }
}

const READ_AHEAD_TTL_MS = 60_000;
const READ_AHEAD_MAX = 16;

function readAheadKey(input: RestorePageInput, afterKey: string | undefined): string {
  const { region, bucket, prefix } = input.source;
  return JSON.stringify([
    input.jobId,
    region,
    bucket,
    prefix,
    afterKey ?? null,
    input.pageSize,
    input.untilKey ?? null,
  ]);
}

export function createRestoreActivities(deps: ReportsDeps) {
  const readAhead = new ReadAhead();
  return {
    /** The bucket exists; with `requireVersioning`, versioning is Enabled. Returns the status. */
    checkRestoreBucket: async (ref: {
      region: string;
      bucket: string;
      requireVersioning: boolean;
      why: string;
    }): Promise<{ versioning: string }> => {
      const where = `${ref.region}/${ref.bucket}`;
      try {
        const out = await s3For(deps, ref.region).send(
          new GetBucketVersioningCommand({ Bucket: ref.bucket }),
          {
            abortSignal: activitySignal(),
          },
        );
        const status = out.Status ?? 'Unversioned';
        if (ref.requireVersioning && status !== 'Enabled') {
          throw ApplicationFailure.nonRetryable(
            `versioning is ${status.toLowerCase()} on ${where}: ${ref.why}`,
            ErrorType.VersioningNotEnabled,
          );
        }
        return { versioning: status };
      } catch (err) {
        throw classifyS3Error(err, where);
      }
    },

    /**
     * Counts the keys (with any version or marker) under a prefix, within a key range if given, for
     * the progress ETA: one request per 1,000 versions, against one or more per key for the restore
     * itself. Runs beside the pages. With `parts`, also returns the boundaries that split the keys
     * into that many ranges of about equal size (memory: a bounded sample of keys, not the listing).
     */
    countKeys: async (
      ref: Location & KeyRange & { parts?: number },
    ): Promise<{ keys: number; versions: number; boundaries?: string[] }> => {
      const s3 = s3For(deps, ref.region);
      const ctx = Context.current();
      const sampler = new KeySampler();
      let versions = 0;
      let keyMarker: string | undefined = ref.afterKey;
      let versionIdMarker: string | undefined;
      const done = () => ({
        keys: sampler.keys,
        versions,
        boundaries: ref.parts !== undefined ? sampler.boundaries(ref.parts) : undefined,
      });
      try {
        for (;;) {
          const page = await listVersionsPage(s3, {
            Bucket: ref.bucket,
            Prefix: ref.prefix,
            KeyMarker: keyMarker,
            VersionIdMarker: versionIdMarker,
          });
          for (const e of page.entries) {
            if (ref.untilKey !== undefined && compareKeys(e.key, ref.untilKey) > 0) return done();
            // RGW starts a listing AT its KeyMarker (AWS: after it).
            if (!inRange(e.key, ref)) continue;
            versions++;
            sampler.add(e.key);
          }
          ctx.heartbeat({ keys: sampler.keys, versions });
          if (!page.isTruncated) return done();
          keyMarker = page.nextKeyMarker;
          versionIdMarker = page.nextVersionIdMarker;
        }
      } catch (err) {
        throw classifyS3Error(err, `${ref.region}/${ref.bucket}/${ref.prefix}`);
      }
    },

    restorePage: async (input: RestorePageInput): Promise<RestorePageResult> => {
      const ctx = Context.current();
      const checkpoint = ctx.info.heartbeatDetails as RestoreCheckpoint | undefined;
      // Resume where the last attempt's heartbeat left off: keys up to doneUpTo are done.
      const resumed = checkpoint?.afterKey === input.afterKey ? checkpoint : undefined;
      const startAfter = resumed?.doneUpTo ?? input.afterKey;
      const sourceS3 = s3For(deps, input.source.region);
      const target = input.target;
      const targetS3 = target ? s3For(deps, target.region) : sourceS3;
      const serverSide = !target || target.region === input.source.region;
      const options: PitrPlanOptions = {
        at: input.at,
        from: input.from,
        deleteKeysCreatedAfter: input.deleteKeysCreatedAfter,
        skipExisting: input.skipExisting,
      };
      const where = `${input.source.region}/${input.source.bucket}/${input.source.prefix}`;

      let listed: ListedKeys;
      let targetObjects = new Map<string, TargetObject>();
      try {
        const list = (after: string | undefined) =>
          listCompleteKeys(
            sourceS3,
            input.source.bucket,
            input.source.prefix,
            after,
            input.pageSize,
            input.untilKey,
          );
        const listing = readAhead.take(readAheadKey(input, startAfter)) ?? list(startAfter);
        // As soon as this page's keys are known, the next page's listing starts.
        void listing.then(
          ({ groups, done }) => {
            if (done || groups.length === 0) return;
            const last = groups[groups.length - 1].key;
            readAhead.put(readAheadKey(input, last), list(last));
          },
          () => undefined,
        );
        if (target) {
          const map = (k: string) => targetKey(k, input.source.prefix, target.prefix);
          const lastKey = listing.then(({ groups }) =>
            groups.length > 0 ? map(groups[groups.length - 1].key) : undefined,
          );
          [listed, targetObjects] = await Promise.all([
            listing,
            listTargetRange(
              targetS3,
              target.bucket,
              target.prefix,
              startAfter !== undefined ? map(startAfter) : undefined,
              lastKey,
            ),
          ]);
        } else {
          listed = await listing;
        }
      } catch (err) {
        throw classifyS3Error(err, where);
      }

      const plans = listed.groups.map((g) =>
        target
          ? planKeyToTarget(
              g.key,
              g.entries,
              targetObjects.get(targetKey(g.key, input.source.prefix, target.prefix)),
              options,
            )
          : planKeyInPlace(g.key, g.entries, options),
      );
      const lastKey = listed.groups.length > 0 ? listed.groups[listed.groups.length - 1].key : startAfter;
      const nextAfterKey = listed.done ? undefined : lastKey;
      const pageName = `page-${String(input.pageNumber).padStart(6, '0')}`;
      // A retry after a lost worker: keys that plan to nothing now but that an earlier attempt of this
      // page recorded and then changed were done by that attempt. Counted as its actions (not run again),
      // so the job's counts stay exact across a SIGKILLed worker.
      const earlier =
        !input.dryRun && ctx.info.attempt > 1
          ? await earlierRecords(deps, `${input.jobId}/undo/${pageName}/`, ctx.info.attempt)
          : new Map<string, UndoRecord>();
      const doneBefore = listed.groups.map((g, i) => {
        const record = plans[i] === null ? earlier.get(g.key) : undefined;
        if (!record) return null;
        const t = target
          ? targetObjects.get(targetKey(g.key, input.source.prefix, target.prefix))
          : undefined;
        return doneByEarlierAttempt(g.key, record, g.entries, t, input.at, !target);
      });
      const counted = plans.map((p, i) => p ?? doneBefore[i]);
      const pagePlanned = counted.reduce<PlanCounts>((c, p) => countAction(c, p), emptyCounts());
      const planned = addCounts(resumed?.planned ?? emptyCounts(), pagePlanned);
      const actions = plans.filter((p): p is RestoreAction => p !== null);
      const reports: string[] = [];

      if (input.dryRun) {
        if (actions.length > 0) {
          reports.push(
            await writeReport(
              deps,
              `${input.jobId}/plan/${pageName}.jsonl`,
              actions.map((a) => JSON.stringify(a)).join('\n') + '\n',
              'application/x-ndjson',
            ),
          );
        }
        return {
          nextAfterKey,
          done: listed.done,
          planned,
          applied: emptyCounts(),
          failed: [],
          reports,
          copiedBy: emptyCopyPaths(),
        };
      }

      // Write-ahead undo manifest: what each key was before it is touched. A retry writes its own
      // attempt's file; keys already done plan to nothing then, so each key's first record is the truth.
      if (actions.length > 0) {
        reports.push(
          await writeReport(
            deps,
            `${input.jobId}/undo/${pageName}/attempt-${ctx.info.attempt}.jsonl`,
            actions
              .map((a) => JSON.stringify({ key: a.key, action: a.action, previous: a.previous }))
              .join('\n') + '\n',
            'application/x-ndjson',
          ),
        );
      }

      // `applied`: every action finished (the stopped page's answer); `appliedDone`: those up to the
      // watermark (the checkpoint), so a retry counts each key once, whichever attempt did it.
      let applied = resumed?.applied ?? emptyCounts();
      const appliedFlag = new Array<boolean>(listed.groups.length).fill(false);
      doneBefore.forEach((d, i) => {
        if (!d) return;
        applied = countAction(applied, d);
        appliedFlag[i] = true;
      });
      let appliedDone = resumed?.applied ?? emptyCounts();
      let copiedBy = addCopyPaths(emptyCopyPaths(), resumed?.copiedBy);
      const failed: FailedKey[] = [...(resumed?.failed ?? [])];
      const allFailed: FailedKey[] = [];
      // Keys finish out of order; the checkpoint only advances over a contiguous run of finished keys.
      const finished = new Array<boolean>(listed.groups.length).fill(false);
      const indexOfKey = new Map(listed.groups.map((g, i) => [g.key, i]));
      let watermark = -1;
      // Planned counts of the keys up to the watermark: what a resumed attempt will not list again.
      let plannedDone = resumed?.planned ?? emptyCounts();
      // The checkpoint moves after every key; it is handed to Temporal at most every HEARTBEAT_EVERY_MS
      // (and always at the end), which loses nothing: Temporal sends the latest to the server at most
      // every 0.8 × heartbeat timeout anyway, and each call costs a serialization and a native call.
      let lastBeat = 0;
      const advance = (force = false) => {
        while (watermark + 1 < finished.length && finished[watermark + 1]) {
          watermark++;
          plannedDone = countAction(plannedDone, counted[watermark]);
          if (appliedFlag[watermark]) appliedDone = countAction(appliedDone, counted[watermark]);
        }
        const now = Date.now();
        if (!force && now - lastBeat < HEARTBEAT_EVERY_MS) return;
        lastBeat = now;
        ctx.heartbeat({
          afterKey: input.afterKey,
          doneUpTo: watermark >= 0 ? listed.groups[watermark].key : startAfter,
          planned: plannedDone,
          applied: appliedDone,
          failed: failed.slice(0, MAX_FAILED_IN_RESULT),
          copiedBy,
        } satisfies RestoreCheckpoint);
      };
      plans.forEach((p, i) => {
        if (p === null) finished[i] = true;
      });

      const interrupted: RestoreAction[] = [];
      await forEachLimited(actions, input.concurrency, async (action) => {
        if (ctx.cancellationSignal.aborted) return; // paused or cancelled: start nothing new
        try {
          await applyAction(action);
          applied = countAction(applied, action);
          appliedFlag[indexOfKey.get(action.key)!] = true;
        } catch (err) {
          if (ctx.cancellationSignal.aborted) {
            interrupted.push(action); // aborted mid-request: whether it took effect is checked below
            return;
          }
          const f = { key: action.key, action: action.action, error: describe(err) };
          allFailed.push(f);
          if (failed.length < MAX_FAILED_IN_RESULT) failed.push(f);
        }
        finished[indexOfKey.get(action.key)!] = true;
        advance();
      });
      const stopped = ctx.cancellationSignal.aborted;
      if (stopped) {
        // Stopped by a pause or cancel: settle the requests that were cut off (did they take effect?),
        // so the counts returned are exactly what was written, then hand back the position reached.
        for (const action of interrupted) {
          if (await tookEffect(action).catch(() => false)) {
            applied = countAction(applied, action);
            appliedFlag[indexOfKey.get(action.key)!] = true;
            finished[indexOfKey.get(action.key)!] = true;
          }
        }
      }
      advance(true);
      if (allFailed.length > 0) {
        reports.push(
          await writeReport(
            deps,
            `${input.jobId}/failed/${pageName}-attempt-${ctx.info.attempt}.jsonl`,
            allFailed.map((f) => JSON.stringify(f)).join('\n') + '\n',
            'application/x-ndjson',
          ),
        );
      }
      if (stopped) {
        return {
          nextAfterKey: watermark >= 0 ? listed.groups[watermark].key : startAfter,
          done: false,
          planned: plannedDone,
          applied,
          failed,
          reports,
          stopped: true,
          copiedBy,
        };
      }
      return { nextAfterKey, done: listed.done, planned, applied, failed, reports, copiedBy };

      /** After an aborted request: is the key now as the action meant it to be? (No abort signal here.) */
      async function tookEffect(action: RestoreAction): Promise<boolean> {
        const dest = target ?? input.source;
        const destKey = target ? targetKey(action.key, input.source.prefix, target.prefix) : action.key;
        const head = await targetS3
          .send(new HeadObjectCommand({ Bucket: dest.bucket, Key: destKey }))
          .catch((err: unknown) => {
            if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
              return undefined;
            throw err;
          });
        switch (action.action) {
          case 'copy':
            return (
              head !== undefined && bareEtag(head.ETag) === action.etag && head.ContentLength === action.size
            );
          case 'remove-markers':
            return head?.VersionId === action.restoresVersionId;
          case 'delete':
            return head === undefined;
        }
      }

      // Single requests (a CopyObject, a DeleteObject) are let finish when the job is paused or
      // cancelled, so their effect is known; only multipart and streamed copies are cut off.
      async function applyAction(action: RestoreAction): Promise<void> {
        const src = input.source;
        const dest = target ?? src;
        const destKey = target ? targetKey(action.key, src.prefix, target.prefix) : action.key;
        switch (action.action) {
          case 'copy': {
            const entry = listed.groups[indexOfKey.get(action.key)!].entries.find(
              (e) => e.versionId === action.sourceVersionId,
            );
            const path = await copyVersion(
              sourceS3,
              targetS3,
              {
                bucket: src.bucket,
                key: action.key,
                versionId: action.sourceVersionId,
                size: action.size,
                storageClass: entry?.storageClass,
              },
              { bucket: dest.bucket, key: destKey },
              serverSide,
              deps,
            );
            copiedBy = addCopyPaths(copiedBy, { [path]: 1 });
            return;
          }
          case 'remove-markers':
            for (const id of action.markerVersionIds) {
              await sourceS3.send(
                new DeleteObjectCommand({ Bucket: src.bucket, Key: action.key, VersionId: id }),
              );
            }
            return;
          case 'delete':
            // No version id: a delete marker on a versioned bucket, never a permanent delete.
            await targetS3.send(new DeleteObjectCommand({ Bucket: dest.bucket, Key: destKey }));
            return;
        }
      }
    },
  };
}

/** The first record per key of a page's undo manifests written by attempts before `attempt`. */
async function earlierRecords(
  deps: ReportsDeps,
  folder: string,
  attempt: number,
): Promise<Map<string, UndoRecord>> {
  const files = (await listReports(deps, folder)).names
    .filter((f) => attemptOf(f) < attempt)
    .sort((a, b) => attemptOf(a) - attemptOf(b));
  const attempts = await Promise.all(
    files.map(async (f) => parseUndoManifest((await readReport(deps, f)) ?? '', f)),
  );
  return new Map(firstRecordPerKey(attempts).map((r) => [r.key, r]));
}

function describe(err: unknown): string {
  const name = s3ErrorName(err);
  const message = err instanceof Error ? err.message : String(err);
  return name && !message.startsWith(name) ? `${name}: ${message}` : message;
}

export type RestoreActivities = ReturnType<typeof createRestoreActivities>;
