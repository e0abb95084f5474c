// Test helpers on the real local stack: clients, fresh versioned buckets, bytes and version lists.
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { localStackConfig } from '../../worker/config';
import { createS3Clients } from '../../worker/clients';

export const config = localStackConfig();
export const clients: Record<string, S3Client> = createS3Clients(config);
export const primary = clients.primary;

let counter = 0;
/** A bucket name unique to this test run. */
export function uniqueBucket(label: string): string {
  counter += 1;
  return `${label}-${Date.now().toString(36)}-${process.pid}-${counter}`.toLowerCase().slice(0, 63);
}

export async function createBucket(
  bucket: string,
  versioning: 'Enabled' | 'Suspended' | 'off' = 'Enabled',
  s3 = primary,
): Promise<string> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  if (versioning !== 'off') {
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: versioning } }),
    );
  }
  return bucket;
}

export async function put(
  bucket: string,
  key: string,
  body: string | Uint8Array,
  extra: Partial<PutObjectCommandInput> = {},
  s3 = primary,
): Promise<string> {
  const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
  return out.VersionId ?? 'null';
}

export async function getBytes(
  bucket: string,
  key: string,
  versionId?: string,
  s3 = primary,
): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

export async function getObject(bucket: string, key: string, s3 = primary) {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = Buffer.from(await out.Body!.transformToByteArray());
  return { body, contentType: out.ContentType, metadata: out.Metadata, versionId: out.VersionId };
}

/** Every version and delete marker in the bucket as "key|versionId|kind", sorted: for before/after equality. */
export async function versionList(bucket: string, s3 = primary): Promise<string[]> {
  const out: string[] = [];
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, KeyMarker, VersionIdMarker }));
    for (const v of page.Versions ?? [])
      out.push(`${v.Key}|${v.VersionId}|version|${v.IsLatest ? 'latest' : ''}`);
    for (const m of page.DeleteMarkers ?? [])
      out.push(`${m.Key}|${m.VersionId}|marker|${m.IsLatest ? 'latest' : ''}`);
    if (!page.IsTruncated) break;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
  return out.sort();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
