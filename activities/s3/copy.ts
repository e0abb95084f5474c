// Copies one object version to a key, keeping bytes, metadata, content type, tags and storage class:
// server-side within one service, streamed GET to PUT across services, multipart above a threshold.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectCommandOutput,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  PutObjectCommand,
  S3Client,
  StorageClass,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { bareEtag } from '../../core/versions';
import { fastCopier, fastCopyObject } from './fast-copy';
import { activitySignal, heartbeat } from './signal';

/** S3's limit for a single CopyObject. Above it, UploadPartCopy. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;

export interface CopyOptions {
  /** Sizes above this use a multipart copy (default: S3's 5 GiB limit). */
  multipartThresholdBytes?: number;
  /** Part size of a multipart copy (S3 requires at least 5 MiB except for the last part). */
  partSizeBytes?: number;
}

export interface ObjectRef {
  bucket: string;
  key: string;
}

export interface SourceVersion extends ObjectRef {
  versionId: string;
  size: number;
  storageClass?: string;
}

/**
 * How a copy went: Lifeboat's lean signed CopyObject, the SDK's CopyObject, a GET streamed into a PUT
 * across services, or a multipart copy. Jobs report how many objects each path copied.
 */
export type CopyPath = 'lean' | 'sdk' | 'streamed' | 'multipart';

export const emptyCopyPaths = (): Record<CopyPath, number> => ({
  lean: 0,
  sdk: 0,
  streamed: 0,
  multipart: 0,
});

export function addCopyPaths(a: Record<CopyPath, number>, b: Partial<Record<CopyPath, number>> | undefined) {
  const out = { ...a };
  for (const k of Object.keys(out) as CopyPath[]) out[k] += b?.[k] ?? 0;
  return out;
}

export interface CopyResult {
  versionId: string;
  etag?: string;
  size: number;
}

/** The x-amz-copy-source value: bucket/key with the key URL-encoded, and the version. */
export function copySource(bucket: string, key: string, versionId: string): string {
  const encodedKey = key.split('/').map(encodeURIComponent).join('/');
  return `${bucket}/${encodedKey}?versionId=${encodeURIComponent(versionId)}`;
}

export async function headVersion(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<HeadObjectCommandOutput> {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }), {
    abortSignal: activitySignal(),
  });
}

/** CopyObject writes STANDARD unless told otherwise: name the source's class when it is another. */
function keepStorageClass(storageClass: string | undefined): StorageClass | undefined {
  return storageClass && storageClass !== 'STANDARD' ? (storageClass as StorageClass) : undefined;
}

async function tagString(s3: S3Client, source: SourceVersion): Promise<string | undefined> {
  const tagging = await s3.send(
    new GetObjectTaggingCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId }),
    { abortSignal: activitySignal() },
  );
  const s = (tagging.TagSet ?? [])
    .map((t) => `${encodeURIComponent(t.Key ?? '')}=${encodeURIComponent(t.Value ?? '')}`)
    .join('&');
  return s || undefined;
}

/** The headers a new object must be given to look like `source` (a multipart upload inherits nothing). */
function objectHeaders(
  head: HeadObjectCommandOutput | GetObjectCommandOutput,
  storageClass: string | undefined,
) {
  return {
    ContentType: head.ContentType,
    ContentEncoding: head.ContentEncoding,
    ContentDisposition: head.ContentDisposition,
    ContentLanguage: head.ContentLanguage,
    CacheControl: head.CacheControl,
    Expires: head.Expires,
    Metadata: head.Metadata,
    StorageClass: keepStorageClass(storageClass ?? head.StorageClass),
  };
}

/**
 * Copy `source` to `target`. `serverSide`: source and target are in the same service (one set of
 * credentials and endpoint), so the bytes never leave it; otherwise they are streamed through this
 * process, a part at a time, memory bounded by the part size.
 */
export async function copyVersion(
  sourceS3: S3Client,
  targetS3: S3Client,
  source: SourceVersion,
  target: ObjectRef,
  serverSide: boolean,
  options: CopyOptions = {},
): Promise<CopyPath> {
  const threshold = options.multipartThresholdBytes ?? MAX_SINGLE_COPY_BYTES;
  const partSize = options.partSizeBytes ?? 512 * 1024 ** 2;
  const signal = activitySignal();
  if (serverSide && source.size <= threshold) {
    // One request: a pause or cancel lets it finish (no abort signal) rather than cut it off, so
    // whether it took effect is never in doubt; the multipart and streamed copies below stop at once.
    const fast = await fastCopier(targetS3);
    if (fast) {
      const storageClass = keepStorageClass(source.storageClass);
      await fastCopyObject(fast, {
        bucket: target.bucket,
        key: target.key,
        copySource: copySource(source.bucket, source.key, source.versionId),
        headers: {
          'x-amz-metadata-directive': 'COPY',
          'x-amz-tagging-directive': 'COPY',
          ...(storageClass ? { 'x-amz-storage-class': storageClass } : {}),
        },
      });
      return 'lean';
    }
    await targetS3.send(
      new CopyObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        CopySource: copySource(source.bucket, source.key, source.versionId),
        MetadataDirective: 'COPY',
        TaggingDirective: 'COPY',
        StorageClass: keepStorageClass(source.storageClass),
      }),
    );
    return 'sdk';
  }
  if (!serverSide && source.size <= threshold) {
    const get = await sourceS3.send(
      new GetObjectCommand({ Bucket: source.bucket, Key: source.key, VersionId: source.versionId }),
      { abortSignal: signal },
    );
    const tags = get.TagCount ? await tagString(sourceS3, source) : undefined;
    await targetS3.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        Body: get.Body,
        ContentLength: get.ContentLength,
        Tagging: tags,
        ...objectHeaders(get, source.storageClass),
      }),
      { abortSignal: signal },
    );
    return 'streamed';
  }
  await multipartCopy(sourceS3, targetS3, source, target, serverSide, partSize);
  return 'multipart';
}

async function multipartCopy(
  sourceS3: S3Client,
  targetS3: S3Client,
  source: SourceVersion,
  target: ObjectRef,
  serverSide: boolean,
  partSize: number,
): Promise<void> {
  const signal = activitySignal();
  const head = await headVersion(sourceS3, source.bucket, source.key, source.versionId);
  const upload = await targetS3.send(
    new CreateMultipartUploadCommand({
      Bucket: target.bucket,
      Key: target.key,
      Tagging: await tagString(sourceS3, source),
      ...objectHeaders(head, source.storageClass),
    }),
    { abortSignal: signal },
  );
  const uploadId = upload.UploadId;
  try {
    const parts: { ETag?: string; PartNumber: number }[] = [];
    for (let start = 0, n = 1; start < source.size; start += partSize, n++) {
      const end = Math.min(start + partSize, source.size) - 1;
      const range = `bytes=${start}-${end}`;
      if (serverSide) {
        const part = await targetS3.send(
          new UploadPartCopyCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            PartNumber: n,
            CopySource: copySource(source.bucket, source.key, source.versionId),
            CopySourceRange: range,
          }),
          { abortSignal: signal },
        );
        parts.push({ ETag: part.CopyPartResult?.ETag, PartNumber: n });
      } else {
        const get = await sourceS3.send(
          new GetObjectCommand({
            Bucket: source.bucket,
            Key: source.key,
            VersionId: source.versionId,
            Range: range,
          }),
          { abortSignal: signal },
        );
        const part = await targetS3.send(
          new UploadPartCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: uploadId,
            PartNumber: n,
            Body: get.Body,
            ContentLength: end - start + 1,
          }),
          { abortSignal: signal },
        );
        parts.push({ ETag: part.ETag, PartNumber: n });
      }
      heartbeat();
    }
    await targetS3.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.bucket,
        Key: target.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: signal },
    );
  } catch (err) {
    // Leave no orphaned parts behind (they are billed and invisible in listings).
    await targetS3
      .send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }))
      .catch(() => undefined);
    throw err;
  }
}

/**
 * Copy `sourceVersionId` of `key` onto the key itself, making it current again. Some services (Ceph
 * RGW) return no version id from CopyObject and an empty ETag from CompleteMultipartUpload, so the
 * new version is read back with HEAD.
 */
export async function copyVersionInPlace(
  s3: S3Client,
  bucket: string,
  key: string,
  sourceVersionId: string,
  sourceSize: number,
  options: CopyOptions = {},
  storageClass?: string,
): Promise<CopyResult> {
  await copyVersion(
    s3,
    s3,
    { bucket, key, versionId: sourceVersionId, size: sourceSize, storageClass },
    { bucket, key },
    true,
    options,
  );
  const head = await headVersion(s3, bucket, key);
  return { versionId: head.VersionId ?? 'null', etag: bareEtag(head.ETag), size: head.ContentLength ?? 0 };
}
