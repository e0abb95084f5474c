// Listings of the bulk engine: complete keys after a marker (a key never cut in two, RGW's and AWS's
// marker semantics evened out), the target's objects over the same key range, and a bounded fan-out.
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { inRange } from '../../core/key-ranges';
import { groupByKey, TargetObject } from '../../core/pitr';
import { bareEtag, compareKeys, VersionEntry } from '../../core/versions';
import { listVersionsPage } from './list-versions';
import { activitySignal } from './signal';

export interface KeyGroup {
  key: string;
  entries: VersionEntry[];
}

export interface ListedKeys {
  groups: KeyGroup[];
  done: boolean;
}

/**
 * Lists complete keys after `afterKey`: about `pageSize` entries, never cutting a key's versions in
 * two (a key with more versions than a page is followed to its end). Entries of `afterKey` itself are
 * skipped here: given a KeyMarker alone, AWS starts after that key but Ceph RGW starts at it.
 */
export async function listCompleteKeys(
  s3: S3Client,
  bucket: string,
  prefix: string,
  afterKey: string | undefined,
  pageSize: number,
  untilKey?: string,
): Promise<ListedKeys> {
  const collected: VersionEntry[] = [];
  let keyMarker = afterKey;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await listVersionsPage(s3, {
      Bucket: bucket,
      Prefix: prefix,
      KeyMarker: keyMarker,
      VersionIdMarker: versionIdMarker,
      MaxKeys: pageSize,
    });
    const beyond = untilKey !== undefined && page.entries.some((e) => compareKeys(e.key, untilKey) > 0);
    collected.push(...page.entries.filter((e) => inRange(e.key, { afterKey, untilKey })));
    const groups = groupByKey(collected);
    // Past the end of the range: every key of the range has been seen whole.
    if (!page.isTruncated || beyond) return { groups, done: true };
    // Truncated: the last key may go on in the next page, so it waits for the next call.
    if (groups.length > 1) return { groups: groups.slice(0, -1), done: false };
    keyMarker = page.nextKeyMarker;
    versionIdMarker = page.nextVersionIdMarker;
  }
}

/**
 * The target's current objects for the target keys in (first, last], by key. `last` is known only
 * once the source page is listed: the first target page is requested at once, beside that listing.
 */
export async function listTargetRange(
  s3: S3Client,
  bucket: string,
  prefix: string,
  startAfter: string | undefined,
  lastKey: Promise<string | undefined>,
): Promise<Map<string, TargetObject>> {
  const out = new Map<string, TargetObject>();
  let token: string | undefined;
  const request = () =>
    s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        StartAfter: token ? undefined : startAfter,
        ContinuationToken: token,
        MaxKeys: 1000,
      }),
      { abortSignal: activitySignal() },
    );
  const first = request();
  const last = await lastKey.catch((err: unknown) => {
    first.catch(() => undefined); // the source listing failed: its error is the one reported
    throw err;
  });
  if (last === undefined) {
    await first.catch(() => undefined);
    return out;
  }
  for (let pending = first; ; pending = request()) {
    const page = await pending;
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined || (startAfter !== undefined && compareKeys(o.Key, startAfter) <= 0)) continue;
      if (compareKeys(o.Key, last) > 0) return out;
      out.set(o.Key, { etag: bareEtag(o.ETag), size: o.Size ?? 0 });
    }
    if (!page.IsTruncated) return out;
    token = page.NextContinuationToken;
  }
}

/** Runs `fn` over `items` with at most `limit` at once, in order of start; resolves when all settle. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}
