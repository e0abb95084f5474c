// Test helpers on the local stack's two Ceph zones: wait for replication, and stop it for one bucket.
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stackDir } from '../../worker/config';
import { clients, sleep, versionList } from './s3';

const run = promisify(execFile);

async function radosgwAdmin(...args: string[]): Promise<string> {
  const { stdout } = await run('radosgw-admin', args, {
    env: { ...process.env, CEPH_CONF: join(stackDir(), 'ceph/ceph.conf') },
  });
  return stdout;
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Waits until the bucket exists in the secondary zone (metadata sync, about a second). */
export async function waitForBucketOnSecondary(bucket: string): Promise<void> {
  await until(`bucket ${bucket} on secondary`, async () => {
    await clients.secondary.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  });
}

/** Waits until both zones list the same versions (same ids, same latest) for the bucket. */
export async function waitUntilReplicated(bucket: string): Promise<void> {
  await until(`bucket ${bucket} replicated`, async () => {
    const [a, b] = await Promise.all([
      versionList(bucket, clients.primary),
      versionList(bucket, clients.secondary),
    ]);
    return JSON.stringify(a) === JSON.stringify(b);
  });
}

/**
 * Stops multisite sync of one bucket, both ways. The flag is set on the master zone and reaches the
 * secondary by metadata sync (about 5 s): until then the secondary would still log its writes and the
 * primary fetch them, so this waits for the secondary to hold the flag.
 */
export async function disableBucketSync(bucket: string): Promise<void> {
  await radosgwAdmin('bucket', 'sync', 'disable', `--bucket=${bucket}`);
  const meta = JSON.parse(await radosgwAdmin('metadata', 'get', `bucket:${bucket}`)) as {
    data: { bucket: { bucket_id: string } };
  };
  const id = meta.data.bucket.bucket_id;
  const BUCKET_DATASYNC_DISABLED = 0x8;
  await until(`sync disabled for ${bucket} on secondary`, async () => {
    const inst = JSON.parse(
      await radosgwAdmin('metadata', 'get', `bucket.instance:${bucket}:${id}`, '--rgw-zone=secondary'),
    ) as { data: { bucket_info: { flags: number } } };
    return (inst.data.bucket_info.flags & BUCKET_DATASYNC_DISABLED) !== 0;
  });
  await sleep(1000);
}
