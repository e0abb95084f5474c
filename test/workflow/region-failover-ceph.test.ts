// The outage drill on the local stack, as the issue asks: objects written, the primary zone's radosgw
// SIGKILLed, regionFailover (auto-approved) onto the secondary zone, writes and deletes there, the
// primary restarted, regionFailback: the primary ends with exactly the secondary's state, and
// replication runs primary -> secondary again. Real Temporal, real Ceph multisite.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LifeboatWorker as Worker } from '../../worker/worker';
import { createCephReplicationProvider } from '../../activities/replication/ceph';
import { DEFAULT_RECORD_KEY } from '../../core/failover';
import type { BucketPair } from '../../core/replication';
import { cephZones } from '../../worker/clients';
import { projectRoot } from '../../worker/config';
import type { RegionFailbackResult } from '../../workflows/region-failback';
import type { RegionFailoverResult } from '../../workflows/region-failover';
import { waitForBucketOnSecondary, waitUntilReplicated } from '../helpers/multisite';
import {
  clients,
  config,
  createBucket,
  getBytes,
  put,
  sleep,
  uniqueBucket,
  versionList,
} from '../helpers/s3';
import { temporalEnv, testWorker } from '../helpers/temporal';
import { CLI, writeTestConfig } from '../helpers/worker-process';

const primary = clients.primary;
const secondary = clients.secondary;
const provider = createCephReplicationProvider({ zones: cephZones(config), s3: clients });
const stack = (...args: string[]) =>
  execFileSync('bash', [join(projectRoot(), 'stack/stack.sh'), ...args], { stdio: 'inherit' });

const taskQueue = `test-failover-ceph-${process.pid}`;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(500);
  }
}

const exists = (s3: S3Client, bucket: string, key: string) =>
  s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );

/** Each key's current version id (and kind) as one zone lists it: the state applications see. */
async function currentState(bucket: string, s3: S3Client): Promise<string[]> {
  return (await versionList(bucket, s3)).filter((v) => v.endsWith('|latest')).sort();
}

beforeAll(async () => {
  // Whatever an earlier run left: the primary's gateway up and its zone the master.
  stack('start-rgw', 'primary');
  const probe = {
    source: { region: 'primary', bucket: 'probe' },
    replica: { region: 'secondary', bucket: 'probe' },
  };
  await provider.promote(probe, 'primary');
  env = await temporalEnv();
  worker = await testWorker(taskQueue);
  running = worker.run();
}, 600_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
  // Leave the stack as the other tests expect it, even when a step above failed.
  spawnSync('bash', [join(projectRoot(), 'stack/stack.sh'), 'start-rgw', 'primary'], { stdio: 'inherit' });
  const probe = {
    source: { region: 'primary', bucket: 'probe' },
    replica: { region: 'secondary', bucket: 'probe' },
  };
  await provider.promote(probe, 'primary').catch(() => undefined);
}, 600_000);

it('outage drill: failover to the secondary zone, writes there, failback with nothing lost', async () => {
  const bucket = await createBucket(uniqueBucket('drill'));
  const pair: BucketPair = {
    source: { region: 'primary', bucket },
    replica: { region: 'secondary', bucket },
  };
  await waitForBucketOnSecondary(bucket);
  await provider.enable(pair, {});
  for (let i = 0; i < 20; i++) await put(bucket, `data/${String(i).padStart(2, '0')}.txt`, `before ${i}`);
  await until(
    'the 20 objects on the secondary',
    async () => (await currentState(bucket, secondary)).length === 20,
    240_000,
  );
  await waitUntilReplicated(bucket);
  // `lifeboat replica status` reports the direction Lifeboat set up and the lag from the sync status.
  const status = spawnSync(
    process.execPath,
    [CLI, '--config', writeTestConfig(taskQueue), '--json', 'replica', 'status', '--bucket', bucket],
    { encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
  );
  expect(status.status).toBe(0);
  const [row] = JSON.parse(status.stdout) as {
    state: { platform: string; direction: string };
    lag: { platform: string; caughtUp: boolean; lagSeconds: number | null; detail: string };
  }[];
  expect(row.state).toMatchObject({ platform: 'ceph', direction: 'source-to-replica' });
  expect(row.lag.platform).toBe('ceph');
  expect(row.lag.detail).toMatch(/sync status/);

  // What every key must read after failback: null for deleted. Filled as the drill writes.
  const expected = new Map<string, string | null>();
  for (let i = 0; i < 20; i++) expected.set(`data/${String(i).padStart(2, '0')}.txt`, `before ${i}`);
  // A write just before the outage, not waited for: it may never reach the secondary (the RPO).
  await put(bucket, 'data/last-second.txt', 'written just before the outage');
  expected.set('data/last-second.txt', 'written just before the outage');

  // The outage.
  stack('kill-rgw', 'primary');
  const fo = await env.client.workflow.start('regionFailover', {
    taskQueue,
    workflowId: `test-drill-failover-${process.pid}-${Date.now()}`,
    args: [{ ...pair, autoApprove: true, probeTimeoutSeconds: 3, reason: 'drill' }],
  });
  const r = (await fo.result()) as RegionFailoverResult;
  expect(r.source.healthy).toBe(false);
  expect(r.verification?.sourceReachable).toBe(false);
  expect(r.approval).toMatchObject({ approved: true, auto: true });
  expect(r.rtoSeconds).toBeGreaterThan(0);
  expect(r.promotion!.join(' ')).toMatch(/made zone secondary master/);
  expect(r.reverseReplication).toBeDefined();
  const record = JSON.parse(
    (await getBytes(bucket, DEFAULT_RECORD_KEY, undefined, secondary)).toString(),
  ) as {
    active: { region: string };
  };
  expect(record.active.region).toBe('secondary');
  // The secondary serves every object written before the outage, and takes writes, deletes, buckets.
  for (let i = 0; i < 20; i++)
    expect(
      (await getBytes(bucket, `data/${String(i).padStart(2, '0')}.txt`, undefined, secondary)).toString(),
    ).toBe(`before ${i}`);
  for (let i = 0; i < 5; i++) {
    await put(bucket, `outage/${i}.txt`, `during ${i}`, {}, secondary);
    expected.set(`outage/${i}.txt`, `during ${i}`);
  }
  await put(bucket, 'data/03.txt', 'changed during the outage', {}, secondary);
  expected.set('data/03.txt', 'changed during the outage');
  await secondary.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'data/04.txt' }));
  expected.set('data/04.txt', null);
  const other = uniqueBucket('drill-new');
  await secondary.send(new CreateBucketCommand({ Bucket: other }));

  // The primary returns; failback brings it up to date and switches back.
  stack('start-rgw', 'primary');
  const fb = await env.client.workflow.start('regionFailback', {
    taskQueue,
    workflowId: `test-drill-failback-${process.pid}-${Date.now()}`,
    args: [{ ...pair, probeIntervalSeconds: 2, catchUpTimeoutSeconds: 300 }],
  });
  const b = (await fb.result()) as RegionFailbackResult;
  expect(b.verification.keysBehind).toBe(0);
  expect(b.active.region).toBe('primary');
  // The secondary's state is on the primary: its keys with the same current versions (ids kept).
  const onSecondary = (await currentState(bucket, secondary)).filter(
    (v) => !v.startsWith(DEFAULT_RECORD_KEY),
  );
  const onPrimary = (await currentState(bucket, primary)).filter((v) => !v.startsWith(DEFAULT_RECORD_KEY));
  for (const v of onSecondary) expect(onPrimary).toContain(v);
  // Every key's bytes on the primary as the drill left them: the outage's writes and delete, the
  // write made just before the outage (kept: failback never removes what only the source has).
  const read = async (key: string) =>
    (await exists(primary, bucket, key)) ? (await getBytes(bucket, key)).toString() : null;
  const actual = new Map<string, string | null>();
  for (const key of expected.keys()) actual.set(key, await read(key));
  expect(actual).toEqual(expected);
  // And no key the drill did not write (the active-region record aside).
  const listed = (await currentState(bucket, primary))
    .filter((v) => v.endsWith('|version|latest'))
    .map((v) => v.split('|')[0])
    .filter((k) => k !== DEFAULT_RECORD_KEY)
    .sort();
  expect(listed).toEqual(
    [...expected]
      .filter(([, v]) => v !== null)
      .map(([k]) => k)
      .sort(),
  );
  // The bucket created on the secondary during the outage exists on the primary too (metadata sync).
  await until(
    'the bucket created during the outage on the primary',
    () => primary.send(new HeadBucketCommand({ Bucket: other })).then(() => true),
    240_000,
  );
  const back = JSON.parse((await getBytes(bucket, DEFAULT_RECORD_KEY)).toString()) as {
    active: { region: string };
  };
  expect(back.active.region).toBe('primary');

  // Replication runs primary -> secondary again.
  await put(bucket, 'after/failback.txt', 'home again');
  await until(
    'a new object on the secondary',
    () => exists(secondary, bucket, 'after/failback.txt'),
    240_000,
  );
  process.stdout.write(
    `drill: failover RTO ${r.rtoSeconds!.toFixed(1)} s; failback ${b.failbackSeconds.toFixed(1)} s after the primary answered (catch-up ${b.catchUp.seconds.toFixed(1)} s, transfer ${b.transfer ? 'yes' : 'not needed'})\n`,
  );
}, 900_000);
