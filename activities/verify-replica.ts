// verifyReplica's side effects: both sides' version listings merge-joined page by page, the source's
// replication status of keys behind, an optional deep check of bytes, and the source-down fallback.
import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import {
  addExample,
  compareKeys,
  countDiff,
  deepCheckable,
  DiffCounts,
  DiffExamples,
  earliest,
  emptyDiffCounts,
  inSample,
  KeyDiff,
  ListingMerger,
  ListingOrderError,
  Side,
  withDeepCheck,
  withReplicationStatus,
} from '../core/replica-diff';
import { s3For } from './deps';
import { ReportsDeps } from './reports';
import { classifyS3Error, s3ErrorName, s3Status } from './s3/errors';
import { listVersionsPage } from './s3/list-versions';
import { activitySignal } from './s3/signal';

export interface BucketRef {
  region: string;
  bucket: string;
}

export interface VerifyPageInput {
  source: BucketRef;
  replica: BucketRef;
  prefix: string;
  compareVersionIds: boolean;
  deepCheck: 'none' | 'sample' | 'all';
  sampleRate: number;
  examplesPerClass: number;
  /** Versions per listing request. */
  pageSize: number;
  /** Listing requests (both sides together, about two per source page) per call, then it returns. */
  pagesPerActivity: number;
  /** Keys up to and including this one are done (the workflow's cursor); undefined at the start. */
  afterKey?: string;
  /** HEADs and deep-check GET pairs in flight. */
  concurrency?: number;
}

/** What a call found; the workflow adds the calls up. */
export interface VerifyTally {
  counts: DiffCounts;
  /** The first keys of each class (capped at examplesPerClass). */
  examples: DiffExamples;
  /** The oldest source change the replica does not have, over the keys seen. */
  oldestMissingChange?: string;
  /** Versions and delete markers listed on each side. */
  versions: { source: number; replica: number };
  /** Source HEADs read for ReplicationStatus. */
  replicationStatusChecks: number;
  /** Keys whose bytes were hashed on both sides, and the bytes hashed (both sides). */
  deepChecked: number;
  bytesHashed: number;
}

export interface VerifyPageResult extends VerifyTally {
  nextAfterKey?: string;
  done: boolean;
}

/**
 * Heartbeated after each listing page: every key up to `doneUpTo` is counted in the tally. One key
 * serves as the cursor of both listings: keys are emitted in key order once complete on both sides,
 * so both restart after the last key counted (at most a page per side is listed again).
 */
export interface VerifyCheckpoint {
  afterKey?: string;
  doneUpTo?: string;
  tally: VerifyTally;
}

export const emptyTally = (): VerifyTally => ({
  counts: emptyDiffCounts(),
  examples: {},
  versions: { source: 0, replica: 0 },
  replicationStatusChecks: 0,
  deepChecked: 0,
  bytesHashed: 0,
});

export interface SideProbe {
  reachable: boolean;
  versioning?: string;
  /** Why it is unreachable, one sentence. */
  error?: string;
}

/** What is known of the replica alone (the source is down). */
export interface ReplicaAlone {
  keys: number;
  versions: number;
  deleteMarkers: number;
  /** Keys whose current entry is data, and their bytes. */
  currentObjects: number;
  currentBytes: number;
  /** The newest change the replica holds: everything the source did after it is surely missing. */
  newestChange?: string;
}

/** The last verification of the pair, as its report says. */
export interface LastVerification {
  /** s3:// location of the report. */
  report: string;
  finishedAt?: string;
  counts?: DiffCounts;
  rpoSeconds?: number;
  sourceReachable?: boolean;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** A network failure (nothing answered), not an answer from S3. */
export function isUnreachable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; cause?: unknown; errors?: unknown[] };
  if (e?.code && NETWORK_CODES.has(e.code)) return true;
  if (e?.name === 'TimeoutError') return true;
  // An error from another realm (e.g. under a test runner's VM) reaches us wrapped, its code only in the text.
  const message = (err as Error)?.message;
  if (typeof message === 'string' && [...NETWORK_CODES].some((c) => message.includes(`${c} `))) return true;
  if (Array.isArray(e?.errors) && e.errors.some(isUnreachable)) return true; // AggregateError (IPv4 + IPv6)
  return e?.cause !== undefined && e.cause !== err && isUnreachable(e.cause);
}

/** Seconds the source gets to answer the first request before it is reported unreachable. */
const SOURCE_PROBE_SECONDS = 10;

/** Runs `fn` over `items` with at most `limit` at once. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

/** Streams one version's bytes through sha256. */
async function sha256Of(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId: string,
): Promise<{ hash: string; bytes: number }> {
  const out = await s3.send(
    new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      VersionId: versionId === 'null' ? undefined : versionId,
    }),
    { abortSignal: activitySignal() },
  );
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of out.Body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { hash: hash.digest('hex'), bytes };
}

export function createVerifyReplicaActivities(deps: ReportsDeps) {
  return {
    /**
     * Is each side there? The replica must answer (it is what is being verified); the source may be
     * down, which is reported rather than retried: verifyReplica then says what it can without it.
     */
    probeReplicaPair: async (input: {
      source: BucketRef;
      replica: BucketRef;
    }): Promise<{ source: SideProbe; replica: SideProbe }> => {
      const versioningOf = async (ref: BucketRef, signal: AbortSignal | undefined) => {
        try {
          const out = await s3For(deps, ref.region).send(
            new GetBucketVersioningCommand({ Bucket: ref.bucket }),
            {
              abortSignal: signal,
            },
          );
          return out.Status ?? 'Unversioned';
        } catch (err) {
          throw classifyS3Error(err, `${ref.region}/${ref.bucket}`);
        }
      };
      const replicaVersioning = await versioningOf(input.replica, activitySignal()).catch((err: unknown) => {
        if (!isUnreachable(err)) throw err;
        // Retryable: without the replica there is nothing to verify, but it may come back.
        throw ApplicationFailure.create({
          message: `the replica ${input.replica.region}/${input.replica.bucket} is unreachable: ${(err as Error).message}`,
          type: 'Unreachable',
        });
      });
      const own = activitySignal();
      const timeout = AbortSignal.timeout(SOURCE_PROBE_SECONDS * 1000);
      try {
        const versioning = await versioningOf(input.source, own ? AbortSignal.any([own, timeout]) : timeout);
        return {
          source: { reachable: true, versioning },
          replica: { reachable: true, versioning: replicaVersioning },
        };
      } catch (err) {
        if (own?.aborted) throw err;
        if (!timeout.aborted && !isUnreachable(err)) throw err;
        const why = timeout.aborted
          ? `no answer within ${SOURCE_PROBE_SECONDS} s`
          : `${(err as { code?: string }).code ?? s3ErrorName(err) ?? 'network error'}: ${(err as Error).message}`;
        return {
          source: {
            reachable: false,
            error: `source ${input.source.region}/${input.source.bucket} is unreachable (${why})`,
          },
          replica: { reachable: true, versioning: replicaVersioning },
        };
      }
    },

    /**
     * One stretch of the verification: lists both sides from `afterKey` in step, merge-joins them and
     * classifies every complete key; returns after about `pagesPerActivity` listing requests at a key
     * boundary. Heartbeats after each page; a retry resumes after the last key counted.
     */
    verifyReplicaPages: async (input: VerifyPageInput): Promise<VerifyPageResult> => {
      const ctx = Context.current();
      const checkpoint = ctx.info.heartbeatDetails as VerifyCheckpoint | undefined;
      const resumed = checkpoint?.afterKey === input.afterKey ? checkpoint : undefined;
      const startAfter = resumed?.doneUpTo ?? input.afterKey;
      const tally = structuredClone(resumed?.tally ?? emptyTally());
      const refs: Record<Side, BucketRef> = { source: input.source, replica: input.replica };
      const clients: Record<Side, S3Client> = {
        source: s3For(deps, input.source.region),
        replica: s3For(deps, input.replica.region),
      };
      const cursors: Record<Side, { keyMarker?: string; versionIdMarker?: string }> = {
        source: { keyMarker: startAfter },
        replica: { keyMarker: startAfter },
      };
      const merger = new ListingMerger({ compareVersionIds: input.compareVersionIds });
      const concurrency = input.concurrency ?? 16;
      let requests = 0;
      /** The side being listed, to name it when it does not answer. */
      let listing: Side | undefined;
      let doneUpTo = startAfter;
      // Entries listed past the last counted key are still held by the merger; the next call lists
      // them again, so only the entries of counted keys are counted.
      const pushed: Record<Side, number> = { source: 0, replica: 0 };
      const counted = (): VerifyTally => ({
        ...tally,
        versions: {
          source: tally.versions.source + pushed.source - merger.pendingOf('source'),
          replica: tally.versions.replica + pushed.replica - merger.pendingOf('replica'),
        },
      });

      const refine = async (diffs: KeyDiff[]): Promise<KeyDiff[]> => {
        const out = [...diffs];
        await forEachLimited(out, concurrency, async (d, i) => {
          if (
            (d.class === 'missing-on-replica' || d.class === 'stale') &&
            d.source &&
            !d.source.isDeleteMarker
          ) {
            try {
              const head = await clients.source.send(
                new HeadObjectCommand({
                  Bucket: input.source.bucket,
                  Key: d.key,
                  VersionId: d.source.versionId === 'null' ? undefined : d.source.versionId,
                }),
                { abortSignal: activitySignal() },
              );
              tally.replicationStatusChecks += 1;
              out[i] = withReplicationStatus(d, head.ReplicationStatus);
            } catch (err) {
              if (s3Status(err) !== 404) throw err; // gone since the listing: the next run sees it
            }
            return;
          }
          const wanted =
            input.deepCheck === 'all' || (input.deepCheck === 'sample' && inSample(d.key, input.sampleRate));
          if (wanted && deepCheckable(d)) {
            let a, b;
            try {
              [a, b] = await Promise.all([
                sha256Of(clients.source, input.source.bucket, d.key, d.source!.versionId),
                sha256Of(clients.replica, input.replica.bucket, d.key, d.replica!.versionId),
              ]);
            } catch (err) {
              if (s3Status(err) === 404) return; // deleted since the listing: the next run sees it
              throw err;
            }
            tally.deepChecked += 1;
            tally.bytesHashed += a.bytes + b.bytes;
            out[i] = withDeepCheck(d, a.hash === b.hash && a.bytes === b.bytes);
          }
        });
        return out;
      };

      try {
        for (let side = merger.next(); side !== undefined; side = merger.next()) {
          // Stop at a key boundary once the budget is spent (a key longer than the budget is finished).
          if (requests >= input.pagesPerActivity && doneUpTo !== startAfter) break;
          const cursor = cursors[side];
          listing = side;
          const page = await listVersionsPage(clients[side], {
            Bucket: refs[side].bucket,
            Prefix: input.prefix,
            KeyMarker: cursor.keyMarker,
            VersionIdMarker: cursor.versionIdMarker,
            MaxKeys: input.pageSize,
          });
          listing = undefined;
          requests += 1;
          // Given a KeyMarker alone, AWS starts after that key but Ceph RGW starts at it.
          const entries = page.entries.filter(
            (e) => startAfter === undefined || compareKeys(e.key, startAfter) > 0,
          );
          pushed[side] += entries.length;
          const last = !page.isTruncated;
          cursor.keyMarker = page.nextKeyMarker;
          cursor.versionIdMarker = page.nextVersionIdMarker;
          const diffs = await refine(merger.push(side, entries, last));
          for (const d of diffs) {
            tally.counts = countDiff(tally.counts, d);
            tally.examples = addExample(tally.examples, d, input.examplesPerClass);
            tally.oldestMissingChange = earliest(tally.oldestMissingChange, d.behindSince);
          }
          if (diffs.length > 0) doneUpTo = diffs[diffs.length - 1].key;
          ctx.heartbeat({ afterKey: input.afterKey, doneUpTo, tally: counted() } satisfies VerifyCheckpoint);
        }
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        if (err instanceof ListingOrderError) {
          throw ApplicationFailure.nonRetryable(
            `${err.message}: this service does not list keys in UTF-8 byte order as S3 does`,
            'ListingOutOfOrder',
          );
        }
        if (isUnreachable(err)) {
          // Retryable: a blip passes; a source that stays down ends the page's retries, and the
          // workflow then reports what it has.
          throw ApplicationFailure.create({
            message: `cannot reach ${listing ? `the ${listing} ${refs[listing].region}/${refs[listing].bucket}` : `${input.source.region}/${input.source.bucket} or ${input.replica.region}/${input.replica.bucket}`}: ${(err as Error).message}`,
            type: 'Unreachable',
          });
        }
        throw classifyS3Error(
          err,
          `${input.source.region}/${input.source.bucket} or ${input.replica.region}/${input.replica.bucket}`,
        );
      }
      const done = merger.finished;
      return { ...counted(), nextAfterKey: done ? undefined : doneUpTo, done };
    },

    /** The source is down: what the replica holds, by itself. */
    summarizeReplicaAlone: async (input: { replica: BucketRef; prefix: string }): Promise<ReplicaAlone> => {
      const ctx = Context.current();
      type Checkpoint = {
        keyMarker?: string;
        versionIdMarker?: string;
        lastKey?: string;
        summary: ReplicaAlone;
      };
      const cp = ctx.info.heartbeatDetails as Checkpoint | undefined;
      const summary: ReplicaAlone = cp?.summary ?? {
        keys: 0,
        versions: 0,
        deleteMarkers: 0,
        currentObjects: 0,
        currentBytes: 0,
      };
      let { keyMarker, versionIdMarker, lastKey } = cp ?? {};
      const s3 = s3For(deps, input.replica.region);
      try {
        for (;;) {
          const page = await listVersionsPage(s3, {
            Bucket: input.replica.bucket,
            Prefix: input.prefix,
            KeyMarker: keyMarker,
            VersionIdMarker: versionIdMarker,
          });
          for (const e of page.entries) {
            if (e.key !== lastKey) summary.keys += 1;
            lastKey = e.key;
            if (e.isDeleteMarker) summary.deleteMarkers += 1;
            else summary.versions += 1;
            if (e.isLatest && !e.isDeleteMarker) {
              summary.currentObjects += 1;
              summary.currentBytes += e.size ?? 0;
            }
            if (
              summary.newestChange === undefined ||
              Date.parse(e.lastModified) > Date.parse(summary.newestChange)
            )
              summary.newestChange = e.lastModified;
          }
          if (!page.isTruncated) return summary;
          keyMarker = page.nextKeyMarker;
          versionIdMarker = page.nextVersionIdMarker;
          ctx.heartbeat({ keyMarker, versionIdMarker, lastKey, summary } satisfies Checkpoint);
        }
      } catch (err) {
        throw classifyS3Error(err, `${input.replica.region}/${input.replica.bucket}`);
      }
    },

    /** The last verification report of the pair, from the reports location; undefined when there is none. */
    readLastVerification: async (input: { relativeKey: string }): Promise<LastVerification | undefined> => {
      const loc = deps.reports;
      if (!loc) return undefined;
      const key = `${loc.prefix}${input.relativeKey}`;
      try {
        const out = await s3For(deps, loc.region).send(
          new GetObjectCommand({ Bucket: loc.bucket, Key: key }),
          {
            abortSignal: activitySignal(),
          },
        );
        const r = JSON.parse(await out.Body!.transformToString()) as Omit<LastVerification, 'report'> & {
          reportKey?: string;
        };
        return {
          // The run's own report; the copy kept as "latest" when it has no pointer to it.
          report: r.reportKey ?? `s3://${loc.bucket}/${key}`,
          finishedAt: r.finishedAt,
          counts: r.counts,
          rpoSeconds: r.rpoSeconds,
          sourceReachable: r.sourceReachable,
        };
      } catch (err) {
        const name = s3ErrorName(err);
        if (name === 'NoSuchKey' || name === 'NoSuchBucket' || s3Status(err) === 404) return undefined;
        if (isUnreachable(err)) return undefined; // the reports location may be in the region that is down
        throw err;
      }
    },
  };
}

export type VerifyReplicaActivities = ReturnType<typeof createVerifyReplicaActivities>;
