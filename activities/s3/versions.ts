// Reads of a key's version history: the versions and delete markers of exactly one key, newest first.
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { bareEtag, newestFirst, VersionEntry } from '../../core/versions';
import { activitySignal } from './signal';

/** Every version and delete marker of exactly `key` (not of keys that merely start with it), newest first. */
export async function listKeyVersions(
  s3: S3Client,
  bucket: string,
  key: string,
  pageSize = 1000,
): Promise<VersionEntry[]> {
  const entries: VersionEntry[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: key,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
        MaxKeys: pageSize,
      }),
      { abortSignal: activitySignal() },
    );
    // Versions and markers come in two lists; the listing order within each is newest first per key.
    const merged: VersionEntry[] = [];
    for (const v of page.Versions ?? []) {
      if (v.Key !== key) continue;
      merged.push({
        key,
        versionId: v.VersionId ?? 'null',
        isDeleteMarker: false,
        isLatest: v.IsLatest === true,
        lastModified: (v.LastModified ?? new Date(0)).toISOString(),
        size: v.Size ?? 0,
        etag: bareEtag(v.ETag),
        storageClass: v.StorageClass,
      });
    }
    for (const m of page.DeleteMarkers ?? []) {
      if (m.Key !== key) continue;
      merged.push({
        key,
        versionId: m.VersionId ?? 'null',
        isDeleteMarker: true,
        isLatest: m.IsLatest === true,
        lastModified: (m.LastModified ?? new Date(0)).toISOString(),
      });
    }
    entries.push(...merged);
    // Keys sort after `key` once the listing has passed it: stop early rather than list the prefix.
    const passed = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].some(
      (v) => v.Key !== undefined && v.Key > key,
    );
    if (!page.IsTruncated || passed) break;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
  return newestFirst(entries);
}
