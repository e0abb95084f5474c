// The version-recovery activities on real Ceph RGW: exact-key listing, idempotent copy, marker-only deletes.
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { listKeyVersions } from '../../activities/s3/versions';
import { createVersionRecoveryActivities } from '../../activities/version-recovery';
import { clients, createBucket, getBytes, primary, put, uniqueBucket, versionList } from '../helpers/s3';

const acts = createVersionRecoveryActivities({ s3: clients });
const env = new MockActivityEnvironment();
/** Runs an activity inside a real activity context (heartbeats, cancellation signal). */
const call = <A, R>(fn: (a: A) => Promise<R>, arg: A): Promise<R> => env.run(fn, arg);

describe('listKeyVersions', () => {
  it('returns exactly the key, across listing pages, newest first, not keys that share its prefix', async () => {
    const bucket = await createBucket(uniqueBucket('act-list'));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await put(bucket, 'logs/app.log', `v${i}`));
    await put(bucket, 'logs/app.log.1', 'sibling');
    await put(bucket, 'logs/app.lo', 'shorter');
    const entries = await call(acts.listKeyVersions, { region: 'primary', bucket, key: 'logs/app.log' });
    expect(entries.map((e) => e.versionId)).toEqual([...ids].reverse());
    expect(entries.every((e) => e.key === 'logs/app.log')).toBe(true);
    expect(entries[0].isLatest).toBe(true);
    expect(entries[0].size).toBe(2);
    // Two entries a page: the key's versions span three pages and its siblings follow.
    const paged = await listKeyVersions(primary, bucket, 'logs/app.log', 2);
    expect(paged.map((e) => e.versionId)).toEqual([...ids].reverse());
  });
});

describe('copyVersionBack', () => {
  it('is safe to redo: a second call after a completed copy writes no new version', async () => {
    const bucket = await createBucket(uniqueBucket('act-copy'));
    const v1 = await put(bucket, 'k', 'original');
    await put(bucket, 'k', 'broken');
    const [source] = (await call(acts.listKeyVersions, { region: 'primary', bucket, key: 'k' })).filter(
      (e) => e.versionId === v1,
    );
    const ref = {
      region: 'primary',
      bucket,
      key: 'k',
      sourceVersionId: v1,
      sourceEtag: source.etag,
      sourceSize: source.size!,
    };
    const first = await call(acts.copyVersionBack, ref);
    const afterFirst = await versionList(bucket);
    const second = await call(acts.copyVersionBack, ref);
    expect(first.copied).toBe(true);
    expect(second).toEqual({ newVersionId: first.newVersionId, copied: false });
    expect(await versionList(bucket)).toEqual(afterFirst);
    expect((await getBytes(bucket, 'k')).toString()).toBe('original');
  });
});

describe('removeDeleteMarkers', () => {
  it('never deletes a version holding data, even when asked to', async () => {
    const bucket = await createBucket(uniqueBucket('act-markers'));
    const v1 = await put(bucket, 'k', 'data');
    const before = await versionList(bucket);
    const err = await call(acts.removeDeleteMarkers, {
      region: 'primary',
      bucket,
      key: 'k',
      markerVersionIds: [v1],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('NoDeleteMarker');
    expect(await versionList(bucket)).toEqual(before);
  });

  it('removes the markers it is given and treats already-removed ones as done', async () => {
    const bucket = await createBucket(uniqueBucket('act-markers2'));
    const v1 = await put(bucket, 'k', 'data');
    const del = await primary.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'k' }));
    const ref = { region: 'primary', bucket, key: 'k', markerVersionIds: [del.VersionId!] };
    expect(await call(acts.removeDeleteMarkers, ref)).toEqual({ removed: 1 });
    expect(await call(acts.removeDeleteMarkers, ref)).toEqual({ removed: 0 });
    expect(await versionList(bucket)).toEqual([`k|${v1}|version|latest`]);
  });
});

describe('checkBucketVersioning', () => {
  it('names the condition: no bucket, no versioning, suspended (allowed for reads only)', async () => {
    const missing = await call(acts.checkBucketVersioning, {
      region: 'primary',
      bucket: uniqueBucket('act-none'),
      forWrite: true,
    }).catch((e: unknown) => e as ApplicationFailure);
    expect(missing).toMatchObject({ type: 'NoSuchBucket', nonRetryable: true });
    const suspended = await createBucket(uniqueBucket('act-susp'), 'Suspended');
    expect(
      await call(acts.checkBucketVersioning, { region: 'primary', bucket: suspended, forWrite: false }),
    ).toEqual({
      status: 'Suspended',
    });
    const refused = await call(acts.checkBucketVersioning, {
      region: 'primary',
      bucket: suspended,
      forWrite: true,
    }).catch((e: unknown) => e as ApplicationFailure);
    expect(refused).toMatchObject({ type: 'VersioningNotEnabled', nonRetryable: true });
    const unknown = await call(acts.checkBucketVersioning, {
      region: 'mars',
      bucket: suspended,
      forWrite: false,
    }).catch((e: unknown) => e as ApplicationFailure);
    expect(unknown).toMatchObject({ type: 'UnknownRegion' });
  });
});
