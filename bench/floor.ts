// The raw floor: the S3 calls of a bucket-to-bucket copy, issued with no orchestration, `--concurrency`
// in flight, copying while it lists, with Lifeboat's own S3 client (AWS SDK v3 for listings, its lean
// CopyObject path of activities/s3/fast-copy.ts for copies, keep-alive agents). Two forms:
// - plain: ListObjectsV2, then one CopyObject of each current object (the least a copy needs);
// - --versions (the calls Lifeboat makes): ListObjectVersions, then one CopyObject per key of the
//   version live at --at (default: now), with ?versionId= and Lifeboat's metadata and tagging directives.
// Prints one JSON line: {"copied":N,"pages":P,"failed":F}.
//   node floor.js --src BUCKET --dst BUCKET [--concurrency 32] [--versions] [--at ISO-TIME]
import { CopyObjectCommand, ListObjectsV2Command, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { parseArgs } from 'node:util';
import { fastCopier, fastCopyObject } from '../activities/s3/fast-copy';
import { createS3Client } from '../worker/clients';
import { localStackConfig } from '../worker/config';

interface Copy {
  key: string;
  versionId?: string;
}

async function main() {
  const { values } = parseArgs({
    options: {
      src: { type: 'string' },
      dst: { type: 'string' },
      concurrency: { type: 'string', default: '32' },
      at: { type: 'string' },
      versions: { type: 'boolean', default: false },
    },
  });
  const src = values.src!;
  const dst = values.dst!;
  const concurrency = Number(values.concurrency);
  const at = values.at ? Date.parse(values.at) : values.versions ? Date.now() : undefined;
  const s3 = createS3Client('primary', localStackConfig().regions.primary);
  // Lifeboat's CopyObject path: the lean request where the endpoint allows it, else the SDK.
  const fast = await fastCopier(s3);

  const queue: Copy[] = [];
  const waiters: (() => void)[] = [];
  let listingDone = false;
  const push = (c: Copy) => {
    queue.push(c);
    waiters.shift()?.();
  };
  let pages = 0;
  let copied = 0;
  let failed = 0;

  const encode = (key: string) => key.split('/').map(encodeURIComponent).join('/');
  const worker = async () => {
    for (;;) {
      const item = queue.shift();
      if (!item) {
        if (listingDone) return;
        await new Promise<void>((r) => waiters.push(r));
        continue;
      }
      const version = item.versionId ? `?versionId=${encodeURIComponent(item.versionId)}` : '';
      try {
        if (fast) {
          await fastCopyObject(fast, {
            bucket: dst,
            key: item.key,
            copySource: `${src}/${encode(item.key)}${version}`,
            headers: item.versionId
              ? { 'x-amz-metadata-directive': 'COPY', 'x-amz-tagging-directive': 'COPY' }
              : undefined,
          });
        } else {
          await s3.send(
            new CopyObjectCommand({
              Bucket: dst,
              Key: item.key,
              CopySource: `${src}/${encode(item.key)}${version}`,
              ...(item.versionId ? { MetadataDirective: 'COPY', TaggingDirective: 'COPY' } : {}),
            }),
          );
        }
        copied += 1;
      } catch (err) {
        failed += 1;
        if (failed <= 5) console.error(`${item.key}: ${(err as Error).message}`);
      }
    }
  };
  // Copies start as soon as the first page is listed.
  const workers = Array.from({ length: concurrency }, worker);

  if (at === undefined) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: src, ContinuationToken: token }));
      pages += 1;
      for (const o of page.Contents ?? []) push({ key: o.Key! });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } else {
    // The version live at `at` for each key: the newest entry not after it, when it is not a marker.
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    let current: { key: string; chosen?: Copy; decided: boolean } | undefined;
    const consider = (key: string, versionId: string, isMarker: boolean, modified: number) => {
      if (!current || current.key !== key) {
        if (current?.chosen) push(current.chosen);
        current = { key, decided: false };
      }
      if (current.decided || modified > at) return;
      current.decided = true;
      if (!isMarker) current.chosen = { key, versionId };
    };
    for (;;) {
      const page = await s3.send(
        new ListObjectVersionsCommand({
          Bucket: src,
          KeyMarker: keyMarker,
          VersionIdMarker: versionIdMarker,
        }),
      );
      pages += 1;
      const entries = [
        ...(page.Versions ?? []).map((v) => ({ v, marker: false })),
        ...(page.DeleteMarkers ?? []).map((v) => ({ v, marker: true })),
      ].sort(
        (a, b) =>
          (a.v.Key! < b.v.Key! ? -1 : a.v.Key! > b.v.Key! ? 1 : 0) ||
          b.v.LastModified!.getTime() - a.v.LastModified!.getTime(),
      );
      for (const { v, marker } of entries) consider(v.Key!, v.VersionId!, marker, v.LastModified!.getTime());
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
    if (current?.chosen) push(current.chosen);
  }
  listingDone = true;
  for (const w of waiters.splice(0)) w();
  await Promise.all(workers);
  console.log(JSON.stringify({ copied, pages, failed }));
  process.exitCode = failed > 0 ? 1 : 0;
}

main().catch((err: Error) => {
  console.error(`floor: ${err.message}`);
  process.exit(1);
});
