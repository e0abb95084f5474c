// The Ceph multisite provider on the real local stack: directional and two-way sync policies, and a
// primary outage with promotion, writes on the secondary, catch-up and failback. Each step is timed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createCephReplicationProvider } from '../../activities/replication/ceph';
import { parseSyncStatus } from '../../core/ceph-sync';
import type { BucketPair } from '../../core/replication';
import { cephZones } from '../../worker/clients';
import { projectRoot, stackDir } from '../../worker/config';
import { clients, config, createBucket, put, sleep, uniqueBucket, versionList } from '../helpers/s3';

const primary = clients.primary;
const secondary = clients.secondary;
const zones = cephZones(config);
const provider = createCephReplicationProvider({ zones, s3: clients });
const stack = join(projectRoot(), 'stack/stack.sh');
const radosgwAdmin = (...args: string[]) =>
  execFileSync('radosgw-admin', args, {
    env: { ...process.env, CEPH_CONF: zones.primary.confPath },
    encoding: 'utf8',
  });
const stackCmd = (...args: string[]) => execFileSync('bash', [stack, ...args], { stdio: 'inherit' });

/** Each step's duration, printed and written to .stack/logs/ceph-replication-timings.json for the notes. */
const timings: { step: string; seconds: number }[] = [];
async function timed<T>(step: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const out = await fn();
  timings.push({ step, seconds: Math.round((Date.now() - t0) / 100) / 10 });
  return out;
}

/** Polls `check` every 500 ms until it is true; fails naming `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for: ${what}`);
    await sleep(500);
  }
}

const exists = (s3: S3Client, bucket: string, key: string) =>
  s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );
const bucketExists = (s3: S3Client, bucket: string) =>
  s3.send(new HeadBucketCommand({ Bucket: bucket })).then(
    () => true,
    () => false,
  );
/** Version ids and kinds, without the IsLatest flag (compared across zones). */
const versionsOf = async (bucket: string, s3: S3Client) =>
  (await versionList(bucket, s3)).map((v) => v.split('|').slice(0, 3).join('|'));

const REPLICATION_MS = 240_000;
let bucket: string;
let pair: BucketPair;

beforeAll(async () => {
  // A run cut short can leave the secondary master or the primary's gateway down: start from the
  // stack's normal state (primary master), which promote() reaches idempotently.
  stackCmd('start-rgw', 'primary');
  const probe = {
    source: { region: 'primary', bucket: 'probe' },
    replica: { region: 'secondary', bucket: 'probe' },
  };
  await provider.promote(probe, 'primary');
  bucket = await createBucket(uniqueBucket('ceph-repl'));
  pair = { source: { region: 'primary', bucket }, replica: { region: 'secondary', bucket } };
  await until(
    'the bucket on the secondary (metadata sync)',
    () => bucketExists(secondary, bucket),
    REPLICATION_MS,
  );
}, 600_000);

afterAll(() => {
  const dir = join(stackDir(), 'logs');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ceph-replication-timings.json'), JSON.stringify(timings, null, 2));
  process.stdout.write(
    `ceph replication timings (s):\n${timings.map((t) => `  ${t.step}: ${t.seconds}`).join('\n')}\n`,
  );
});

describe('pairs that Ceph cannot carry', () => {
  it('refuses a pair whose buckets differ, and filters it cannot honour, without touching the policy', async () => {
    const bad = { source: { region: 'primary', bucket: 'a' }, replica: { region: 'secondary', bucket: 'b' } };
    await expect(provider.enable(bad, {})).rejects.toMatchObject({
      type: 'InvalidInput',
      nonRetryable: true,
    });
    await expect(provider.enable(pair, { prefix: 'logs/' })).rejects.toMatchObject({ type: 'InvalidInput' });
  });
});

describe('Ceph multisite replication (real gateways, in order)', () => {
  it('(a) enable: one-way primary -> secondary; lag reports caught up once the object is there', async () => {
    const state = await timed('enable (policy + commit + restart both gateways)', () =>
      provider.enable(pair, {}),
    );
    expect(state.direction).toBe('source-to-replica');
    expect(state.versioning.source).toBe('Enabled');
    expect(state.rules).toEqual([
      expect.objectContaining({
        id: 'lifeboat/lifeboat-pipe',
        enabled: true,
        fromRegion: 'primary',
        toRegion: 'secondary',
      }),
    ]);
    // Idempotent: a second enable changes nothing and restarts nothing.
    const again = await timed('enable again (no-op)', () => provider.enable(pair, {}));
    expect(again.notes).toContain('already source-to-replica: nothing changed');

    const t0 = Date.now();
    const v = await put(bucket, 'a/first', 'one', {}, primary);
    const lagRightAfter = await provider.lag(pair);
    await until('a/first on the secondary', () => exists(secondary, bucket, 'a/first'), REPLICATION_MS);
    timings.push({
      step: 'first object primary -> secondary after enable',
      seconds: (Date.now() - t0) / 1000,
    });
    expect(await versionsOf(bucket, secondary)).toEqual([`a/first|${v}|version`]);
    await timed('lag caught up', () =>
      until('lag() caught up', async () => (await provider.lag(pair)).caughtUp, 120_000),
    );
    const lag = await provider.lag(pair);
    expect(lag).toMatchObject({ platform: 'ceph', caughtUp: true, lagSeconds: 0, pendingOperations: 0 });
    // Seen behind on most runs (the write is in the source's log before the secondary applies it).
    process.stdout.write(`lag right after the write: ${JSON.stringify(lagRightAfter)}\n`);
    if (!lagRightAfter.caughtUp) expect(lagRightAfter.pendingOperations).toBeGreaterThan(0);

    // One way: an object written on the secondary does not reach the primary, and the primary's zone
    // says it does not sync from the secondary. A later primary write proves sync is running meanwhile.
    await put(bucket, 'a/on-secondary', 'x', {}, secondary);
    await put(bucket, 'a/second', 'two', {}, primary);
    await until('a/second on the secondary', () => exists(secondary, bucket, 'a/second'), REPLICATION_MS);
    // Nothing reaches the primary: its versions are the same before and after a window of 10 s (5x the
    // steady-state replication time seen), while the other direction has just been seen working.
    const primaryBefore = await versionsOf(bucket, primary);
    await sleep(10_000);
    expect(await versionsOf(bucket, primary)).toEqual(primaryBefore);
    expect(primaryBefore.some((v) => v.startsWith('a/on-secondary|'))).toBe(false);
    const onPrimary = parseSyncStatus(radosgwAdmin('sync', 'status', '--rgw-zone=primary'));
    expect(onPrimary.sources[0].state).toBe('not syncing from zone');
  }, 900_000);

  it('(b) reverse: both ways, a secondary write reaches the primary and a primary write the secondary', async () => {
    const state = await timed('reverse (policy both + commit + restart both)', () => provider.reverse(pair));
    expect(state.direction).toBe('both');
    const t0 = Date.now();
    await put(bucket, 'b/from-secondary', 's', {}, secondary);
    await put(bucket, 'b/from-primary', 'p', {}, primary);
    await until(
      'b/from-secondary on the primary',
      () => exists(primary, bucket, 'b/from-secondary'),
      REPLICATION_MS,
    );
    timings.push({
      step: 'first object secondary -> primary after reverse',
      seconds: (Date.now() - t0) / 1000,
    });
    await until(
      'b/from-primary on the secondary',
      () => exists(secondary, bucket, 'b/from-primary'),
      REPLICATION_MS,
    );
    await timed('lag caught up (both legs)', () =>
      until('lag() caught up', async () => (await provider.lag(pair)).caughtUp, 180_000),
    );
    // The object written on the secondary under the one-way policy (test a) reaches the primary too once
    // the flow opens: the secondary logged the write, and the primary's sync reads that log from where
    // it stood (observed on every run; it is what makes 'both' lose nothing written meanwhile).
    await until(
      'a/on-secondary on the primary',
      () => exists(primary, bucket, 'a/on-secondary'),
      REPLICATION_MS,
    );
  }, 900_000);

  it('(c) outage: kill the primary gateway, promote the secondary, write there, catch up, fail back', async () => {
    await timed('restore one-way before the drill', () => provider.restore(pair));
    const before: string[] = [];
    for (let i = 0; i < 5; i++) before.push(await put(bucket, `c/pre-${i}`, `pre ${i}`, {}, primary));
    await until(
      'pre-outage writes on the secondary',
      () => exists(secondary, bucket, 'c/pre-4'),
      REPLICATION_MS,
    );
    // A write just before the crash: replicated or not, it must not be lost.
    await put(bucket, 'c/last-before-crash', 'tail', {}, primary);
    await timed('kill-rgw primary (SIGKILL)', async () => stackCmd('kill-rgw', 'primary'));

    const steps = await timed('promote secondary (primary down)', () => provider.promote(pair, 'secondary'));
    process.stdout.write(`promote secondary:\n  ${steps.join('\n  ')}\n`);
    await timed('reverse while the primary is down', () => provider.reverse(pair));

    const outageBucket = uniqueBucket('ceph-outage');
    await timed('create a bucket on the promoted secondary', () =>
      secondary.send(new CreateBucketCommand({ Bucket: outageBucket })),
    );
    await put(outageBucket, 'made-during-outage', 'new bucket', {}, secondary);
    await put(bucket, 'c/during-outage', 'written on the secondary', {}, secondary);
    await put(bucket, 'c/pre-0', 'overwritten on the secondary', {}, secondary);
    await secondary.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'c/pre-1' }));

    await timed('start-rgw primary', async () => stackCmd('start-rgw', 'primary'));
    const rejoin = await timed('rejoin primary (period pull + restart)', () =>
      provider.rejoin(pair, 'primary'),
    );
    process.stdout.write(`rejoin primary:\n  ${rejoin.join('\n  ')}\n`);
    await timed('catch-up: both zones list the same versions', () =>
      until(
        'identical version lists on both zones',
        async () =>
          JSON.stringify(await versionsOf(bucket, primary)) ===
            JSON.stringify(await versionsOf(bucket, secondary)) &&
          (await exists(primary, bucket, 'c/last-before-crash')) &&
          (await exists(primary, outageBucket, 'made-during-outage')),
        300_000,
      ).catch(async (err: Error) => {
        // Say what Ceph reports, so a failure tells a stuck shard from a slow one.
        throw new Error(`${err.message}; lag: ${(await provider.lag(pair)).detail}`);
      }),
    );
    const onPrimary = await versionsOf(bucket, primary);
    expect(onPrimary).toEqual(await versionsOf(bucket, secondary));
    expect(onPrimary).toEqual(expect.arrayContaining([expect.stringMatching(/^c\/pre-1\|.*\|marker$/)]));
    expect(onPrimary.filter((v) => v.startsWith('c/pre-0|'))).toHaveLength(2);
    expect(await versionsOf(outageBucket, primary)).toEqual(await versionsOf(outageBucket, secondary));
    await timed('lag caught up after the outage', () =>
      until('lag() caught up', async () => (await provider.lag(pair)).caughtUp, 300_000),
    );

    const back = await timed('promote primary back (failback)', () => provider.promote(pair, 'primary'));
    process.stdout.write(`promote primary:\n  ${back.join('\n  ')}\n`);
    const zonegroup = JSON.parse(radosgwAdmin('zonegroup', 'get', '--rgw-zonegroup=lab')) as {
      master_zone: string;
      zones: { id: string; name: string }[];
    };
    expect(zonegroup.zones.find((z) => z.id === zonegroup.master_zone)?.name).toBe('primary');
    const afterBucket = uniqueBucket('ceph-failback');
    await primary.send(new CreateBucketCommand({ Bucket: afterBucket }));

    const restored = await timed('restore primary -> secondary', () => provider.restore(pair));
    expect(restored.direction).toBe('source-to-replica');
    const t0 = Date.now();
    await put(bucket, 'c/after-failback', 'again', {}, primary);
    await until(
      'c/after-failback on the secondary',
      () => exists(secondary, bucket, 'c/after-failback'),
      REPLICATION_MS,
    );
    timings.push({
      step: 'first object primary -> secondary after restore',
      seconds: (Date.now() - t0) / 1000,
    });
    expect(await versionsOf(bucket, secondary)).toEqual(await versionsOf(bucket, primary));
  }, 1_800_000);
});
