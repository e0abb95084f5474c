// Reads of a key's version history: the versions and delete markers of exactly one key, newest first.
import { S3Client } from '@aws-sdk/client-s3';
import { newestFirst, VersionEntry } from '../../core/versions';
import { listVersionsPage } from './list-versions';

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
    const page = await listVersionsPage(s3, {
      Bucket: bucket,
      Prefix: key,
      KeyMarker: keyMarker,
      VersionIdMarker: versionIdMarker,
      MaxKeys: pageSize,
    });
    entries.push(...page.entries.filter((e) => e.key === key));
    // Keys sort after `key` once the listing has passed it: stop early rather than list the prefix.
    const passed = page.entries.some((e) => e.key > key);
    if (!page.isTruncated || passed) break;
    keyMarker = page.nextKeyMarker;
    versionIdMarker = page.nextVersionIdMarker;
  }
  return newestFirst(entries);
}
