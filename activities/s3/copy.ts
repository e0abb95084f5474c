// Server-side copy of one object version onto the current version of a key, keeping metadata and tags.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { bareEtag } from '../../core/versions';
import { activitySignal, heartbeat } from './signal';

/** S3's limit for a single CopyObject. Above it, UploadPartCopy. */
export const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;

export interface CopyOptions {
  /** Sizes above this use a multipart copy (default: S3's 5 GiB limit). */
  multipartThresholdBytes?: number;
  /** Part size of a multipart copy (S3 requires at least 5 MiB except for the last part). */
  partSizeBytes?: number;
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

/**
 * Copy `sourceVersionId` of `key` onto the key itself, making its bytes, metadata, content type and
 * tags current again. Some services (Ceph RGW) return no version id from CopyObject and an empty ETag
 * from CompleteMultipartUpload, so the new version is read back with HEAD.
 */
export async function copyVersionInPlace(
  s3: S3Client,
  bucket: string,
  key: string,
  sourceVersionId: string,
  sourceSize: number,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const threshold = options.multipartThresholdBytes ?? MAX_SINGLE_COPY_BYTES;
  const signal = activitySignal();
  if (sourceSize <= threshold) {
    const out = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        CopySource: copySource(bucket, key, sourceVersionId),
        MetadataDirective: 'COPY',
        TaggingDirective: 'COPY',
      }),
      { abortSignal: signal },
    );
    if (out.VersionId)
      return { versionId: out.VersionId, etag: bareEtag(out.CopyObjectResult?.ETag), size: sourceSize };
  } else {
    await multipartCopy(
      s3,
      bucket,
      key,
      sourceVersionId,
      sourceSize,
      options.partSizeBytes ?? 512 * 1024 ** 2,
    );
  }
  const head = await headVersion(s3, bucket, key);
  return { versionId: head.VersionId ?? 'null', etag: bareEtag(head.ETag), size: head.ContentLength ?? 0 };
}

async function multipartCopy(
  s3: S3Client,
  bucket: string,
  key: string,
  sourceVersionId: string,
  size: number,
  partSize: number,
): Promise<void> {
  const signal = activitySignal();
  // A multipart upload does not inherit anything from its source: carry metadata and tags over by hand.
  const head = await headVersion(s3, bucket, key, sourceVersionId);
  const tagging = await s3.send(
    new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: sourceVersionId }),
    {
      abortSignal: signal,
    },
  );
  const tagString = (tagging.TagSet ?? [])
    .map((t) => `${encodeURIComponent(t.Key ?? '')}=${encodeURIComponent(t.Value ?? '')}`)
    .join('&');
  const upload = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: head.ContentType,
      ContentEncoding: head.ContentEncoding,
      ContentDisposition: head.ContentDisposition,
      ContentLanguage: head.ContentLanguage,
      CacheControl: head.CacheControl,
      Expires: head.Expires,
      Metadata: head.Metadata,
      StorageClass: head.StorageClass,
      Tagging: tagString || undefined,
    }),
    { abortSignal: signal },
  );
  const uploadId = upload.UploadId;
  try {
    const parts: { ETag?: string; PartNumber: number }[] = [];
    for (let start = 0, n = 1; start < size; start += partSize, n++) {
      const end = Math.min(start + partSize, size) - 1;
      const part = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: n,
          CopySource: copySource(bucket, key, sourceVersionId),
          CopySourceRange: `bytes=${start}-${end}`,
        }),
        { abortSignal: signal },
      );
      parts.push({ ETag: part.CopyPartResult?.ETag, PartNumber: n });
      heartbeat({ part: n });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: signal },
    );
  } catch (err) {
    // Leave no orphaned parts behind (they are billed and invisible in listings).
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }))
      .catch(() => undefined);
    throw err;
  }
}
