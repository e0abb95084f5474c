// The benchmark's own S3 chores on the primary zone: buckets, bulk puts, listings, ranged reads and
// cleaning up everything it created (versions and delete markers included).
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/** Runs `fn` over `items` with at most `limit` at once. */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
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

export async function createBucket(s3: S3Client, bucket: string, versioned = false): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (versioned) {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
  }
}

export interface Listed {
  key: string;
  size: number;
  etag: string;
}

/** Every current object of the bucket, in key order. */
export async function listObjects(s3: S3Client, bucket: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: 1000 }),
    );
    for (const o of page.Contents ?? [])
      out.push({ key: o.Key ?? '', size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, '') });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

export async function getRange(s3: S3Client, bucket: string, key: string, range?: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

/** Deletes every version, delete marker and object of the bucket, then the bucket. Absent: nothing. */
export async function deleteBucket(s3: S3Client, bucket: string, attempt = 1): Promise<number> {
  let deleted = 0;
  for (;;) {
    let page;
    try {
      page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, MaxKeys: 1000 }));
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchBucket') return deleted;
      throw err;
    }
    const ids = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key!,
      VersionId: v.VersionId,
    }));
    if (ids.length === 0) break;
    const chunks: (typeof ids)[] = [];
    for (let i = 0; i < ids.length; i += 250) chunks.push(ids.slice(i, i + 250));
    await forEachLimited(chunks, 4, async (chunk) => {
      const out = await s3.send(
        new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk, Quiet: true } }),
      );
      const first = out.Errors?.[0];
      if (first) throw new Error(`${bucket}: ${first.Key}: ${first.Code ?? ''} ${first.Message ?? ''}`);
    });
    deleted += ids.length;
  }
  try {
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (err) {
    // RGW sometimes answers BucketNotEmpty right after the last objects went: list and try again.
    if ((err as { name?: string }).name !== 'BucketNotEmpty' || attempt >= 5) throw err;
    await new Promise((r) => setTimeout(r, 1000 * attempt));
    return deleted + (await deleteBucket(s3, bucket, attempt + 1));
  }
  return deleted;
}

/** The names of the buckets that start with `prefix`. */
export async function bucketsStartingWith(s3: S3Client, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListBucketsCommand({}));
  return (out.Buckets ?? []).map((b) => b.Name ?? '').filter((n) => n.startsWith(prefix));
}

export interface VersionListed {
  key: string;
  versionId: string;
  isDeleteMarker: boolean;
}

/** Every version and delete marker of the bucket (each once, should a page repeat its marker's entry). */
export async function listVersions(s3: S3Client, bucket: string): Promise<VersionListed[]> {
  const out: VersionListed[] = [];
  const seen = new Set<string>();
  const add = (e: VersionListed) => {
    const id = `${e.key}\n${e.versionId}`;
    if (seen.has(id)) return;
    seen.add(id);
    out.push(e);
  };
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
        MaxKeys: 1000,
      }),
    );
    for (const v of page.Versions ?? [])
      add({ key: v.Key ?? '', versionId: v.VersionId ?? 'null', isDeleteMarker: false });
    for (const m of page.DeleteMarkers ?? [])
      add({ key: m.Key ?? '', versionId: m.VersionId ?? 'null', isDeleteMarker: true });
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}
