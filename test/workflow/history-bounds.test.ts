// Histories that stay bounded for any run length: every long loop driven with its smallest settings for
// many iterations on the real stack, and the events of every run of it counted (Temporal stops a
// workflow at 51,200 events): the bulk engine, the undo, the failback's wait and catch-up, the bucket lock.
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  Client,
  WithStartWorkflowOperation,
  WorkflowFailedError,
  WorkflowHandle,
  WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { awsReplicationDeps, createAwsReplicationProvider } from '../../activities/replication/aws';
import type { LifeboatConfig, RegionProfile } from '../../core/config';
import { AcquireOutcome, LeaseRequest, LOCK_UPDATES } from '../../core/leases';
import { FOLDED_STEP } from '../../core/steps';
import { createCloudWatchClients, createS3Clients } from '../../worker/clients';
import { readStackProfile } from '../../worker/config';
import { createWorker, LifeboatWorker } from '../../worker/worker';
import type { BucketLockState } from '../../workflows/bucket-lock';
import { leasesQuery } from '../../workflows/bucket-lock';
import type { BulkJobResult } from '../../workflows/point-in-time-restore';
import type { RegionFailbackResult } from '../../workflows/region-failback';
import type { UndoRestoreResult } from '../../workflows/undo-restore';
import { badDeploy } from '../helpers/jobs';
import { config as stackConfig, getBytes, uniqueBucket } from '../helpers/s3';
import { temporalEnv } from '../helpers/temporal';

process.env.LIFEBOAT_MOTO_KEY_ID = 'testing';
process.env.LIFEBOAT_MOTO_SECRET = 'testing';
const moto = readStackProfile().moto.endpoint;
const awsProfile = (region: string): RegionProfile => ({
  endpoint: moto,
  cloudwatchEndpoint: moto,
  region,
  forcePathStyle: true,
  platform: 'aws',
  replicationRoleArn: `arn:aws:iam::123456789012:role/lifeboat-${region}`,
  credentials: {
    source: 'environment',
    accessKeyIdVar: 'LIFEBOAT_MOTO_KEY_ID',
    secretAccessKeyVar: 'LIFEBOAT_MOTO_SECRET',
  },
});
// Besides the local stack: two AWS regions on moto (no replication metrics: a catch-up never ends on
// its own), and a region whose endpoint nothing listens on (a source that stays down).
const config: LifeboatConfig = {
  ...stackConfig,
  regions: {
    ...stackConfig.regions,
    'us-east': awsProfile('us-east-1'),
    'eu-west': awsProfile('eu-west-1'),
    down: { ...awsProfile('us-west-2'), endpoint: 'http://127.0.0.1:9' },
  },
};

const taskQueue = `test-history-bounds-${process.pid}`;
let env: TestWorkflowEnvironment;
let worker: LifeboatWorker;
let running: Promise<void>;

beforeAll(async () => {
  env = await temporalEnv();
  worker = await createWorker(config, { taskQueue });
  running = worker.run();
});

afterAll(async () => {
  worker.shutdown();
  await running;
  await env.teardown();
});

/** The number of events of each run of a workflow, first to last (continue-as-new followed). */
async function eventsPerRun(client: Client, workflowId: string, firstRunId: string): Promise<number[]> {
  const counts: number[] = [];
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    counts.push(events.length);
    runId =
      events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ??
      undefined;
  }
  return counts;
}

let seq = 0;
async function start(type: string, input: unknown): Promise<WorkflowHandleWithFirstExecutionRunId> {
  seq += 1;
  return env.client.workflow.start(type, {
    taskQueue,
    workflowId: `test-bounds-${type}-${process.pid}-${Date.now()}-${seq}`,
    args: [input],
  });
}

it('the bulk engine: 20 runs of 2 pages, every run under 80 events, the carried step log folded', async () => {
  const f = await badDeploy('bounds-engine', 40, 0);
  const h = await start('pointInTimeRestore', {
    source: { bucket: f.bucket },
    at: f.at,
    pageSize: 2,
    pagesPerRun: 2,
    autoApprove: true,
  });
  const r = (await h.result()) as BulkJobResult;
  expect(r.applied.copy).toBe(40);
  for (const k of f.siteKeys) expect((await getBytes(f.bucket, k)).toString()).toBe(`good-${k}`);
  const runs = await eventsPerRun(env.client, h.workflowId, h.firstExecutionRunId);
  process.stderr.write(`[bounds] ${expect.getState().currentTestName}: events per run ${runs.join(' ')}\n`);
  expect(runs.length).toBe(r.runs);
  expect(runs.length).toBeGreaterThanOrEqual(15);
  expect(Math.max(...runs)).toBeLessThan(80);
  // Later runs are no longer than the early ones: nothing in the state grows with the run count.
  expect(Math.max(...runs.slice(-5))).toBeLessThanOrEqual(Math.max(...runs.slice(1, 6)) + 2);
  // At most 24 carried (checks and gates, a fold, the latest runs), plus this run's lease, pages and report.
  expect(r.steps.length).toBeLessThanOrEqual(27);
  expect(r.steps.find((s) => s.name === FOLDED_STEP)?.numbers?.steps).toBeGreaterThan(5);
  // The survey (the key count, the gate) ran once for the job, in its first run, not in every run.
  const surveys: number[] = [];
  let runId: string | undefined = h.firstExecutionRunId;
  while (runId) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await env.client.workflow
      .getHandle(h.workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    surveys.push(
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'surveyJob').length,
    );
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  expect(surveys[0]).toBe(1);
  expect(surveys.slice(1).every((n) => n === 0)).toBe(true);
});

it('the undo: 40 manifest pages at 2 a run, every run under 80 events', async () => {
  const f = await badDeploy('bounds-undo', 40, 0);
  const restore = await start('pointInTimeRestore', {
    source: { bucket: f.bucket },
    at: f.at,
    pageSize: 2,
    autoApprove: true,
  });
  await restore.result();
  const h = await start('undoRestore', { jobId: restore.workflowId, pagesPerRun: 2, autoApprove: true });
  const u = (await h.result()) as UndoRestoreResult;
  expect(u.applied.copy).toBe(40);
  const runs = await eventsPerRun(env.client, h.workflowId, h.firstExecutionRunId);
  process.stderr.write(`[bounds] ${expect.getState().currentTestName}: events per run ${runs.join(' ')}\n`);
  expect(runs.length).toBeGreaterThanOrEqual(15);
  expect(Math.max(...runs)).toBeLessThan(80);
  expect(Math.max(...runs.slice(-5))).toBeLessThanOrEqual(Math.max(...runs.slice(1, 6)) + 2);
});

it("the failback's wait for a source that stays down: 3 probes a run, every run under 60 events", async () => {
  const h = await start('regionFailback', {
    source: { region: 'down', bucket: 'gone-bucket' },
    replica: { region: 'primary', bucket: 'gone-bucket' },
    probeIntervalSeconds: 1,
    probeTimeoutSeconds: 1,
    probesPerRun: 3,
    maxWaitSeconds: 15,
  });
  const err = await h.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(((err as WorkflowFailedError).cause as ApplicationFailure).type).toBe('SourceUnavailable');
  const runs = await eventsPerRun(env.client, h.workflowId, h.firstExecutionRunId);
  process.stderr.write(`[bounds] ${expect.getState().currentTestName}: events per run ${runs.join(' ')}\n`);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  expect(Math.max(...runs)).toBeLessThan(60);
}, 120_000);

it("the failback's catch-up that does not end on its own: 3 polls a run, every run under 80 events, then it transfers", async () => {
  const s3: Record<string, S3Client> = createS3Clients(config);
  const make = async (region: 'us-east' | 'eu-west') => {
    const bucket = uniqueBucket(`bounds-${region}`);
    await s3[region].send(
      new CreateBucketCommand({
        Bucket: bucket,
        CreateBucketConfiguration: region === 'eu-west' ? { LocationConstraint: 'eu-west-1' } : undefined,
      }),
    );
    await s3[region].send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    return bucket;
  };
  const pair = {
    source: { region: 'us-east', bucket: await make('us-east') },
    replica: { region: 'eu-west', bucket: await make('eu-west') },
  };
  await createAwsReplicationProvider(awsReplicationDeps(config, s3, createCloudWatchClients(config))).enable(
    pair,
    {},
  );
  await s3['eu-west'].send(
    new PutObjectCommand({
      Bucket: pair.replica.bucket,
      Key: 'outage.txt',
      Body: 'written during the outage',
    }),
  );
  const h = await start('regionFailback', {
    ...pair,
    probeIntervalSeconds: 1,
    catchUpTimeoutSeconds: 12,
    catchUpPollSeconds: 1,
    catchUpPollsPerRun: 3,
    compareVersionIds: false,
  });
  const r = (await h.result()) as RegionFailbackResult;
  expect(r.catchUp.caughtUp).toBe(false);
  expect(r.catchUp.seconds).toBeGreaterThanOrEqual(12);
  expect(r.transfer?.copied).toBe(1);
  const runs = await eventsPerRun(env.client, h.workflowId, h.firstExecutionRunId);
  process.stderr.write(`[bounds] ${expect.getState().currentTestName}: events per run ${runs.join(' ')}\n`);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  // The last run holds the verification, the transfer and the switch back: bounded too.
  expect(Math.max(...runs.slice(0, -1))).toBeLessThan(80);
  expect(runs[runs.length - 1]).toBeLessThan(200);
}, 180_000);

it('the bucket lock: 40 grants and releases continue as new every ~60 events; a lease held survives each run', async () => {
  const bucket = uniqueBucket('bounds-lock');
  const lockId = `lock/primary/${bucket}`;
  const ask = (req: LeaseRequest) =>
    env.client.workflow.executeUpdateWithStart<(i: unknown) => Promise<void>, AcquireOutcome, [LeaseRequest]>(
      LOCK_UPDATES.acquire,
      {
        args: [req],
        startWorkflowOperation: new WithStartWorkflowOperation('bucketLock', {
          workflowId: lockId,
          taskQueue: config.temporal.lockTaskQueue,
          workflowIdConflictPolicy: 'USE_EXISTING',
          args: [{ region: 'primary', bucket, maxEventsPerRun: 60 }],
        }),
      },
    );
  const lease = { procedure: 'test', ttlSeconds: 600, wait: false };
  // One long-running holder keeps its lease on keep/ throughout.
  expect((await ask({ holder: 'keeper', range: { prefix: 'keep/' }, ...lease })).granted).toBe(true);
  for (let i = 0; i < 40; i++) {
    const holder = `job-${i}`;
    expect((await ask({ holder, range: { prefix: `p${i}/` }, ...lease })).granted).toBe(true);
    await env.client.workflow.getHandle(lockId).executeUpdate(LOCK_UPDATES.release, { args: [{ holder }] });
  }
  const state: BucketLockState = await env.client.workflow.getHandle(lockId).query(leasesQuery);
  expect(state.leases.map((l) => l.holder)).toEqual(['keeper']);
  expect(state.events.length).toBeLessThanOrEqual(50);
  const runs: number[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = '${lockId}'` }))
    runs.push(((await env.client.workflow.getHandle(lockId, w.runId).fetchHistory()).events ?? []).length);
  process.stderr.write(`[bounds] lock: events per run ${runs.join(' ')}\n`);
  expect(runs.length).toBeGreaterThanOrEqual(3);
  expect(Math.max(...runs)).toBeLessThan(90);
  await env.client.workflow
    .getHandle(lockId)
    .executeUpdate(LOCK_UPDATES.release, { args: [{ holder: 'keeper' }] });
});
