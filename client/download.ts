// Writes one version's exact bytes to a local file, checked against the size and (single-part) ETag;
// or signs a short-lived URL for it, here on the operator's machine (never in a workflow's history).
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { bareEtag } from '../core/versions';

export interface DownloadResult {
  path: string;
  bytes: number;
  md5: string;
  etag?: string;
  contentType?: string;
}

export async function downloadVersion(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId: string,
  path: string,
): Promise<DownloadResult> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  const md5 = createHash('md5');
  let bytes = 0;
  const tmp = `${path}.lifeboat-partial`;
  try {
    await pipeline(
      out.Body as Readable,
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          md5.update(chunk);
          bytes += chunk.length;
          cb(null, chunk);
        },
      }),
      createWriteStream(tmp),
    );
    const digest = md5.digest('hex');
    const etag = bareEtag(out.ETag);
    if (out.ContentLength !== undefined && bytes !== out.ContentLength) {
      throw new Error(`download of ${key} was cut short: ${bytes} of ${out.ContentLength} bytes`);
    }
    // A multipart ETag ("...-N") is not an MD5 of the bytes; a single-part one is.
    if (etag && !etag.includes('-') && etag !== digest) {
      throw new Error(`download of ${key} is corrupt: MD5 ${digest} differs from the ETag ${etag}`);
    }
    await rename(tmp, path);
    return { path, bytes, md5: digest, etag, contentType: out.ContentType };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * A GET URL for one version, valid `seconds`. It is a bearer credential: signed by the CLI from the
 * version id the workflow returned, so it is printed once and stored nowhere.
 */
export async function presignVersion(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId: string,
  seconds: number,
): Promise<string> {
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }), {
    expiresIn: seconds,
  });
}
