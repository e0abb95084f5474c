// Builds a bucket with a known history around a time T: every edge case a point-in-time restore
// must get right, and the bytes each key held at T.
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutBucketVersioningCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createBucket, primary, put, sleep } from './s3';

export interface History {
  bucket: string;
  at: string;
  /** Bytes live at T, or null when the key did not exist (or was deleted) at T. */
  expected: Map<string, Buffer | null>;
}

async function del(bucket: string, key: string): Promise<void> {
  await primary.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

async function putMultipart(bucket: string, key: string, body: Buffer): Promise<void> {
  const up = await primary.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const part = 5 * 1024 * 1024;
  const parts = [];
  for (let i = 0, n = 1; i < body.length; i += part, n++) {
    const out = await primary.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: up.UploadId,
        PartNumber: n,
        Body: body.subarray(i, i + part),
      }),
    );
    parts.push({ ETag: out.ETag, PartNumber: n });
  }
  await primary.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: up.UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

/** `extraKeys` plain keys make the listing span many pages. */
export async function buildHistory(bucket: string, extraKeys = 20): Promise<History> {
  const expected = new Map<string, Buffer | null>();
  const b = (s: string) => Buffer.from(s);
  // A null version: written before versioning was enabled.
  await createBucket(bucket, 'off');
  await put(bucket, 'legacy/null-version.txt', 'written before versioning');
  await primary.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );

  const before: [string, Buffer][] = [
    ['docs/a b.txt', b('spaces at T')],
    ['docs/ünïcödé/ファイル.txt', b('unicode at T')],
    ['docs/plus+sign.txt', b('plus at T')],
    ['docs/percent%20.txt', b('percent at T')],
    ['docs/trailing/', b('')],
    ['docs/zero-byte', b('')],
    ['same-second', b('same-second v1')],
    ['deleted-after-T', b('deleted after T')],
    ['undelete-then-overwrite', b('good at T')],
  ];
  for (const [k, v] of before) {
    await put(bucket, k, v);
    expected.set(k, v);
  }
  expected.set('legacy/null-version.txt', b('written before versioning'));
  const big = randomBytes(11 * 1024 * 1024);
  await putMultipart(bucket, 'big/multipart.bin', big);
  expected.set('big/multipart.bin', big);
  // Many versions of one key: more than a listing page of the tests.
  for (let i = 0; i < 12; i++) await put(bucket, 'many-versions', `version ${i}`);
  expected.set('many-versions', b('version 11'));
  // Absent at T: deleted before T, and a key that only ever had a delete marker.
  await put(bucket, 'gone-before-T', 'short-lived');
  await del(bucket, 'gone-before-T');
  expected.set('gone-before-T', null);
  await del(bucket, 'marker-only');
  expected.set('marker-only', null);
  for (let i = 0; i < extraKeys; i++) {
    const k = `bulk/item-${String(i).padStart(4, '0')}`;
    await put(bucket, k, `item ${i} at T`);
    expected.set(k, b(`item ${i} at T`));
  }

  await sleep(1100);
  const at = new Date().toISOString();
  await sleep(1100);

  // The incident.
  await put(bucket, 'docs/a b.txt', 'overwritten');
  await put(bucket, 'docs/ünïcödé/ファイル.txt', 'overwritten');
  await del(bucket, 'docs/plus+sign.txt');
  await put(bucket, 'docs/percent%20.txt', 'overwritten');
  await del(bucket, 'docs/percent%20.txt');
  await put(bucket, 'docs/trailing/', 'not empty any more');
  await del(bucket, 'docs/zero-byte');
  for (let i = 2; i <= 4; i++) await put(bucket, 'same-second', `same-second v${i}`);
  await del(bucket, 'deleted-after-T');
  await del(bucket, 'undelete-then-overwrite');
  await put(bucket, 'undelete-then-overwrite', 'bad');
  await del(bucket, 'undelete-then-overwrite');
  await put(bucket, 'legacy/null-version.txt', 'overwrote the null version');
  await put(bucket, 'big/multipart.bin', 'small now');
  await put(bucket, 'many-versions', 'version 12, after T');
  await put(bucket, 'gone-before-T', 'back after T');
  await put(bucket, 'created-after-T/new.txt', 'new');
  expected.set('created-after-T/new.txt', null);
  for (let i = 0; i < extraKeys; i += 3) {
    const k = `bulk/item-${String(i).padStart(4, '0')}`;
    if (i % 2 === 0) await put(bucket, k, `item ${i} corrupted`);
    else await del(bucket, k);
  }
  return { bucket, at, expected };
}
