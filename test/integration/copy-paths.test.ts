// Server-side copies on real Ceph RGW through both request paths: the lean CopyObject of
// activities/s3/fast-copy.ts (path-style endpoints) and the AWS SDK (every other endpoint). Both keep
// bytes, metadata, content type and tags, for awkward key names, and fail the same way.
import { GetObjectTaggingCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { copyVersion } from '../../activities/s3/copy';
import { disableFastCopy, fastCopier, fastCopyObject, FastS3Error } from '../../activities/s3/fast-copy';
import { classifyS3Error } from '../../activities/s3/errors';
import { createS3Client } from '../../worker/clients';
import { config, createBucket, getBytes, primary, put, uniqueBucket } from '../helpers/s3';

const sdkOnly = createS3Client('primary', config.regions.primary);
disableFastCopy(sdkOnly);

const KEYS = [
  'plain.txt',
  'with space/and+plus%25.bin',
  'unicodé/ключ/日本.txt',
  'trailing/slash/',
  "quote'(paren)*star!.txt",
  'double//slash',
  'empty',
];

describe.each([
  ['lean CopyObject', primary],
  ['AWS SDK CopyObject', sdkOnly],
])('server-side copy through the %s', (_label, s3: S3Client) => {
  it('copies the pinned version with bytes, metadata, content type and tags, for awkward keys', async () => {
    const src = await createBucket(uniqueBucket('copy-src'));
    const dst = await createBucket(uniqueBucket('copy-dst'));
    for (const key of KEYS) {
      const body = key === 'empty' ? '' : `first ${key}`; // '' : a zero-byte object
      const v1 = await put(src, key, Buffer.from(body), {
        ContentType: 'text/x-lifeboat',
        Metadata: { owner: 'sre' },
        Tagging: 'team=dr&tier=gold',
      });
      await put(src, key, `later ${key}`); // the copy must take v1, not the current version
      await copyVersion(
        s3,
        s3,
        { bucket: src, key, versionId: v1, size: Buffer.byteLength(body) },
        { bucket: dst, key },
        true,
      );
      expect((await getBytes(dst, key)).toString()).toBe(body);
      const head = await primary.send(new HeadObjectCommand({ Bucket: dst, Key: key }));
      expect(head.ContentType).toBe('text/x-lifeboat');
      expect(head.Metadata).toEqual({ owner: 'sre' });
      const tags = await primary.send(new GetObjectTaggingCommand({ Bucket: dst, Key: key }));
      expect(tags.TagSet?.map((t) => `${t.Key}=${t.Value}`).sort()).toEqual(['team=dr', 'tier=gold']);
    }
  });

  it('reports a missing target bucket as NoSuchBucket, classified as non-retryable', async () => {
    const src = await createBucket(uniqueBucket('copy-src'));
    const v1 = await put(src, 'k', 'x');
    const err = await copyVersion(
      s3,
      s3,
      { bucket: src, key: 'k', versionId: v1, size: 1 },
      { bucket: uniqueBucket('no-such'), key: 'k' },
      true,
    ).catch((e: unknown) => e);
    expect((err as { name: string }).name).toBe('NoSuchBucket');
    expect((err as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(404);
    const classified = classifyS3Error(err, 'primary/x');
    expect(classified).toBeInstanceOf(ApplicationFailure);
    expect((classified as ApplicationFailure).type).toBe('NoSuchBucket');
  });

  it('reports a version that does not exist by S3 error code, copying nothing', async () => {
    const src = await createBucket(uniqueBucket('copy-src'));
    const dst = await createBucket(uniqueBucket('copy-dst'));
    await put(src, 'k', 'x');
    const err = await copyVersion(
      s3,
      s3,
      { bucket: src, key: 'k', versionId: 'not-a-version', size: 1 },
      { bucket: dst, key: 'k' },
      true,
    ).catch((e: unknown) => e);
    expect(['NoSuchVersion', 'NoSuchKey', 'InvalidArgument']).toContain((err as { name: string }).name);
    const missing = await primary
      .send(new HeadObjectCommand({ Bucket: dst, Key: 'k' }))
      .catch((e: unknown) => e);
    expect((missing as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(404);
  });
});

describe('the lean CopyObject path', () => {
  it('is used for a path-style endpoint and not for a client kept on the SDK or for AWS', async () => {
    expect(await fastCopier(primary)).toBeDefined();
    expect(fastCopier(sdkOnly)).toBeUndefined();
    const aws = new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    expect(await fastCopier(aws)).toBeUndefined();
  });

  it('rejects wrong credentials with the S3 error code, without retrying into a different answer', async () => {
    const wrong = createS3Client('primary', config.regions.primary);
    const { accessKeyId } = await primary.config.credentials();
    Object.assign(wrong.config, {
      credentials: async () => ({ accessKeyId, secretAccessKey: 'wrong-secret' }),
    });
    const src = await createBucket(uniqueBucket('copy-src'));
    const dst = await createBucket(uniqueBucket('copy-dst'));
    const v1 = await put(src, 'k', 'x');
    const err = await copyVersion(
      wrong,
      wrong,
      { bucket: src, key: 'k', versionId: v1, size: 1 },
      { bucket: dst, key: 'k' },
      true,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FastS3Error);
    expect((err as FastS3Error).name).toBe('SignatureDoesNotMatch');
    expect((classifyS3Error(err, 'primary/x') as ApplicationFailure).type).toBe('AccessDenied');
  });

  it('stops at once when its signal aborts', async () => {
    const src = await createBucket(uniqueBucket('copy-src'));
    const dst = await createBucket(uniqueBucket('copy-dst'));
    const v1 = await put(src, 'k', 'x');
    const ac = new AbortController();
    ac.abort();
    const fast = (await fastCopier(primary))!;
    const err = await fastCopyObject(fast, {
      bucket: dst,
      key: 'k',
      copySource: `${src}/k?versionId=${v1}`,
      signal: ac.signal,
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('AbortError');
  });
});
