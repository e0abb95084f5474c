// The benchmark's data: deterministic bodies (so every copy can be checked byte for byte and by ETag
// without keeping them), the source buckets, and the check of what a tool wrote.
import { PutObjectCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { forEachLimited, getRange, listObjects, listVersions, VersionListed } from './s3';

export const SMALL_BYTES = 4 * 1024;
export const LARGE_BYTES = 64 * 1024 * 1024;

export const smallKey = (i: number) =>
  `d${String(i % 100).padStart(2, '0')}/obj-${String(i).padStart(6, '0')}`;
export const largeKey = (i: number) => `large/blob-${String(i).padStart(4, '0')}.bin`;

/** 4 KiB: a SHA-256 of (run, key, generation) repeated. */
export function smallBody(runId: string, key: string, generation: number): Buffer {
  const block = createHash('sha256').update(`${runId}\n${key}\n${generation}`).digest();
  return Buffer.concat(Array.from({ length: SMALL_BYTES / block.length }, () => block));
}

export const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** 64 MiB objects share one random body; each starts with its own 32-byte stamp. */
export class LargeBodies {
  private readonly base = randomBytes(LARGE_BYTES);
  body(key: string): Buffer {
    const b = Buffer.from(this.base);
    this.stamp(key).copy(b, 0);
    return b;
  }
  /** The expected bytes of [start, end] (inclusive) of `key`. */
  range(key: string, start: number, end: number): Buffer {
    const out = Buffer.from(this.base.subarray(start, end + 1));
    const stamp = this.stamp(key);
    if (start < stamp.length) stamp.copy(out, 0, start, Math.min(stamp.length, end + 1));
    return out;
  }
  private stamp(key: string): Buffer {
    return createHash('sha256').update(key).digest();
  }
}

export async function putAll(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  body: (key: string) => Buffer,
  concurrency: number,
): Promise<void> {
  await forEachLimited(keys, concurrency, async (key) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body(key) }));
  });
}

export async function deleteAll(
  s3: S3Client,
  bucket: string,
  keys: readonly string[],
  concurrency: number,
): Promise<void> {
  await forEachLimited(keys, concurrency, async (key) => {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });
}

export interface Expected {
  size: number;
  /** Checked against the target's listing when given (single-part copies keep the MD5 ETag). */
  etag?: string;
}

export interface Verification {
  ok: boolean;
  objects: number;
  bytes: number;
  /** Objects whose bytes were read back and compared. */
  sampled: number;
  problems: string[];
}

/**
 * The target holds exactly the expected keys, with the expected sizes (and ETags where known), and a
 * sample of objects reads back the expected bytes (`expectedBytes` gives the range to read and its bytes).
 */
export async function verifyTarget(
  s3: S3Client,
  bucket: string,
  expected: ReadonlyMap<string, Expected>,
  sampleKeys: readonly string[],
  expectedBytes: (key: string) => { range?: string; bytes: Buffer }[],
): Promise<Verification> {
  const problems: string[] = [];
  const listed = await listObjects(s3, bucket);
  const seen = new Set<string>();
  let bytes = 0;
  for (const o of listed) {
    seen.add(o.key);
    bytes += o.size;
    const e = expected.get(o.key);
    if (!e) problems.push(`unexpected key ${o.key}`);
    else if (e.size !== o.size) problems.push(`${o.key}: size ${o.size}, expected ${e.size}`);
    else if (e.etag !== undefined && e.etag !== o.etag)
      problems.push(`${o.key}: ETag ${o.etag}, expected ${e.etag}`);
  }
  for (const k of expected.keys()) if (!seen.has(k)) problems.push(`missing key ${k}`);
  let sampled = 0;
  await forEachLimited(sampleKeys, 8, async (key) => {
    if (!seen.has(key)) return;
    for (const { range, bytes: want } of expectedBytes(key)) {
      const got = await getRange(s3, bucket, key, range);
      if (!got.equals(want)) problems.push(`${key}${range ? ` ${range}` : ''}: bytes differ`);
    }
    sampled += 1;
  });
  return {
    ok: problems.length === 0,
    objects: listed.length,
    bytes,
    sampled,
    problems: problems.slice(0, 10).concat(problems.length > 10 ? [`... ${problems.length - 10} more`] : []),
  };
}

/** An evenly spread sample of `n` keys. */
export function sampleOf<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  const step = items.length / n;
  return Array.from({ length: n }, (_, i) => items[Math.floor(i * step)]);
}

/**
 * The in-place restore's incident, by key index: rank r = (i + 7·⌊i/100⌋) mod 100; r < 10 overwritten
 * after T, r = 10 or 11 deleted after T. Exactly 10% and 2% of every 100 consecutive keys, and (at 10,000
 * keys) 10 and 2 keys in each of the 100 prefixes dNN/: a bad deploy that touched part of every prefix.
 */
export function inPlaceChange(i: number): 'overwrite' | 'delete' | undefined {
  const r = (i + 7 * Math.floor(i / 100)) % 100;
  return r < 10 ? 'overwrite' : r < 12 ? 'delete' : undefined;
}

/** What a restore in place did to the bucket's versions (from listings before and after it). */
export interface VersionChanges {
  /** New versions holding data (copies). */
  dataVersionsAdded: number;
  /** Versions holding data that were there before and are gone (must be 0). */
  dataVersionsRemoved: number;
  markersAdded: number;
  markersRemoved: number;
}

export interface InPlaceVerification extends Verification {
  versions?: VersionChanges;
}

/**
 * A restore in place: every key holds the bytes live at T (the key set and every key's size and ETag
 * from the listing; the bytes of `sampleKeys` read back), no version holding data was removed, and
 * delete markers were removed only from keys in `deletedAfterT`.
 */
export async function verifyInPlace(
  s3: S3Client,
  bucket: string,
  expected: ReadonlyMap<string, Expected>,
  sampleKeys: readonly string[],
  expectedBytes: (key: string) => { range?: string; bytes: Buffer }[],
  before: readonly VersionListed[],
  deletedAfterT: ReadonlySet<string>,
): Promise<InPlaceVerification> {
  const v = await verifyTarget(s3, bucket, expected, sampleKeys, expectedBytes);
  const after = await listVersions(s3, bucket);
  const id = (e: VersionListed) => `${e.key}\n${e.versionId}`;
  const afterIds = new Set(after.map(id));
  const beforeIds = new Set(before.map(id));
  const changes: VersionChanges = {
    dataVersionsAdded: 0,
    dataVersionsRemoved: 0,
    markersAdded: 0,
    markersRemoved: 0,
  };
  const problems = [...v.problems];
  for (const e of before) {
    if (afterIds.has(id(e))) continue;
    if (e.isDeleteMarker) {
      changes.markersRemoved += 1;
      if (!deletedAfterT.has(e.key))
        problems.push(`${e.key}: a delete marker of a key not deleted after T was removed`);
    } else {
      changes.dataVersionsRemoved += 1;
      if (changes.dataVersionsRemoved <= 3)
        problems.push(`${e.key}: version ${e.versionId} (data) was removed`);
    }
  }
  for (const e of after) {
    if (beforeIds.has(id(e))) continue;
    if (e.isDeleteMarker) changes.markersAdded += 1;
    else changes.dataVersionsAdded += 1;
  }
  if (changes.dataVersionsRemoved > 3)
    problems.push(`... ${changes.dataVersionsRemoved} data versions removed in all`);
  return { ...v, ok: problems.length === 0, problems: problems.slice(0, 10), versions: changes };
}
