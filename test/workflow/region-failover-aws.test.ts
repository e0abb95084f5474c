// regionFailover and regionFailback on the AWS platform, against moto's S3 API in two regions, on the
// real Temporal dev server: the approval gate (approve, reject, time out), the active-region record,
// reverse replication and its restoration, and a failback that brings the outage's writes home.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetBucketReplicationCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LifeboatWorker as Worker } from '../../worker/worker';
import { createAwsReplicationProvider, awsReplicationDeps } from '../../activities/replication/aws';
import type { LifeboatConfig, RegionProfile } from '../../core/config';
import { DEFAULT_RECORD_KEY } from '../../core/failover';
import type { BucketPair } from '../../core/replication';
import { createCloudWatchClients, createS3Clients } from '../../worker/clients';
import { readStackProfile } from '../../worker/config';
import { createWorker } from '../../worker/worker';
import type { RegionFailbackResult } from '../../workflows/region-failback';
import {
  approveUpdate,
  gateQuery,
  RegionFailoverInput,
  RegionFailoverResult,
  rejectUpdate,
} from '../../workflows/region-failover';
import { config as stackConfig, uniqueBucket } from '../helpers/s3';
import { temporalEnv } from '../helpers/temporal';

process.env.LIFEBOAT_MOTO_KEY_ID = 'testing';
process.env.LIFEBOAT_MOTO_SECRET = 'testing';
const moto = readStackProfile().moto.endpoint;
const profile = (region: string): RegionProfile => ({
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
// The worker signs its webhook calls with this secret (named by the configuration, never an input).
process.env.LIFEBOAT_TEST_WEBHOOK_SECRET = 'test-webhook-secret';
const config: LifeboatConfig = {
  ...stackConfig,
  regions: { ...stackConfig.regions, 'us-east': profile('us-east-1'), 'eu-west': profile('eu-west-1') },
  webhook: { secretVar: 'LIFEBOAT_TEST_WEBHOOK_SECRET' },
};
const s3: Record<string, S3Client> = createS3Clients(config);
const provider = createAwsReplicationProvider(
  awsReplicationDeps(config, s3, createCloudWatchClients(config)),
);

const taskQueue = `test-failover-aws-${process.pid}`;
let env: TestWorkflowEnvironment;
let worker: Worker;
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

async function newPair(label: string): Promise<BucketPair> {
  const make = async (region: 'us-east' | 'eu-west', suffix: string) => {
    const bucket = uniqueBucket(`${label}-${suffix}`);
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
    source: { region: 'us-east', bucket: await make('us-east', 'src') },
    replica: { region: 'eu-west', bucket: await make('eu-west', 'dst') },
  };
  await provider.enable(pair, {});
  // moto stores replication rules but does not replicate: the test writes both sides, as CRR would.
  for (let i = 0; i < 5; i++) {
    for (const side of [pair.source, pair.replica])
      await s3[side.region].send(
        new PutObjectCommand({ Bucket: side.bucket, Key: `data/${i}.txt`, Body: `object ${i}` }),
      );
  }
  return pair;
}

async function text(side: { region: string; bucket: string }, key: string): Promise<string | null> {
  try {
    const out = await s3[side.region].send(new GetObjectCommand({ Bucket: side.bucket, Key: key }));
    return await out.Body!.transformToString();
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
    throw err;
  }
}

async function recordOf(side: { region: string; bucket: string }) {
  const body = await text(side, DEFAULT_RECORD_KEY);
  return body === null ? null : (JSON.parse(body) as { active: { region: string }; generation: number });
}

let seq = 0;
async function start(input: RegionFailoverInput) {
  seq += 1;
  return env.client.workflow.start('regionFailover', {
    taskQueue,
    workflowId: `test-failover-${process.pid}-${Date.now()}-${seq}`,
    args: [input],
  });
}

async function waitForGate(handle: Awaited<ReturnType<typeof start>>) {
  for (let i = 0; i < 300; i++) {
    const gate = await handle.query(gateQuery).catch(() => undefined);
    if (gate?.waiting) return gate;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the failover never reached its approval gate');
}

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
}

describe('regionFailover on AWS (moto)', () => {
  it('a dry run assesses and changes nothing', async () => {
    const pair = await newPair('fo-dry');
    const handle = await start({ ...pair, dryRun: true, compareVersionIds: false });
    const r = (await handle.result()) as RegionFailoverResult;
    expect(r.dryRun).toBe(true);
    expect(r.source.healthy).toBe(true);
    expect(r.verification?.keysBehind).toBe(0);
    expect(r.readiness.go).toBe(true);
    expect(await recordOf(pair.replica)).toBeNull();
    expect(await provider.describe(pair)).toMatchObject({ direction: 'source-to-replica' });
  });

  it('waits at the gate; a rejection fails it cleanly with nothing changed', async () => {
    const pair = await newPair('fo-reject');
    const handle = await start({ ...pair });
    const gate = await waitForGate(handle);
    expect(gate.readiness?.findings.join(' ')).toMatch(/the source answers/);
    // Still waiting a moment later: the gate blocks.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await handle.query(gateQuery)).waiting).toBe(true);
    await handle.executeUpdate(rejectUpdate, { args: [{ by: 'oncall', comment: 'primary is back' }] });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('FailoverRejected');
    expect(failure.message).toMatch(/rejected by oncall: primary is back; nothing was changed/);
    expect(await recordOf(pair.replica)).toBeNull();
    expect(await provider.describe(pair)).toMatchObject({ direction: 'source-to-replica' });
  });

  it('refuses a bad input at once, naming the field, with nothing changed', async () => {
    const pair = await newPair('fo-bad');
    const failure = await failureOf(start({ ...pair, replica: pair.source }).then((h) => h.result()));
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toMatch(/field "replica": is the source itself/);
    expect(await recordOf(pair.source)).toBeNull();
  });

  it('fails cleanly when nobody approves in time', async () => {
    const pair = await newPair('fo-timeout');
    const handle = await start({ ...pair, approvalTimeoutSeconds: 2 });
    const failure = await failureOf(handle.result());
    expect(failure.type).toBe('ApprovalTimedOut');
    expect(await recordOf(pair.replica)).toBeNull();
  });

  it('approved: switches direct access, reverses replication; failback brings the outage writes home', async () => {
    const pair = await newPair('fo-approve');
    // The operator's webhook: a real HTTP server on loopback that keeps what it is told.
    const told: { type: string; record: { active: { region: string } } }[] = [];
    const signatures: boolean[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        told.push(JSON.parse(body) as (typeof told)[number]);
        // What a receiver does: recompute the HMAC over "<timestamp>.<body>" with the shared secret.
        const expected = createHmac('sha256', 'test-webhook-secret')
          .update(`${String(req.headers['x-lifeboat-timestamp'])}.${body}`)
          .digest('hex');
        signatures.push(req.headers['x-lifeboat-signature'] === `sha256=${expected}`);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const webhookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/lifeboat`;
    const handle = await start({ ...pair, reason: 'drill', compareVersionIds: false, webhookUrl });
    await waitForGate(handle);
    await handle.executeUpdate(approveUpdate, { args: [{ by: 'oncall' }] });
    const r = (await handle.result()) as RegionFailoverResult;
    expect(r.approval).toMatchObject({ approved: true, by: 'oncall', auto: false });
    expect(r.rtoSeconds).toBeGreaterThan(0);
    expect(r.rtoWithoutApprovalSeconds).toBeLessThanOrEqual(r.rtoSeconds!);
    for (const side of [pair.source, pair.replica])
      expect(await recordOf(side)).toMatchObject({ active: { region: 'eu-west' }, generation: 1 });
    // The replica now replicates to the source.
    const back = await s3['eu-west'].send(new GetBucketReplicationCommand({ Bucket: pair.replica.bucket }));
    expect(back.ReplicationConfiguration?.Rules?.map((x) => x.ID)).toContain('lifeboat-eu-west-to-us-east');
    expect(r.reverseReplication).toBe('replica-to-source');
    expect(told).toEqual([expect.objectContaining({ type: 'lifeboat.failover' })]);
    expect(told[0].record.active.region).toBe('eu-west');
    expect(signatures).toEqual([true]);
    // The secret is in no input nor result: the history carries the URL without credentials only.
    expect(JSON.stringify(await handle.fetchHistory())).not.toContain('test-webhook-secret');
    hook.close();

    // The outage: writes and a delete on the replica; one write on the source that never replicated.
    const rep = pair.replica;
    await s3[rep.region].send(
      new PutObjectCommand({ Bucket: rep.bucket, Key: 'data/1.txt', Body: 'changed' }),
    );
    await s3[rep.region].send(new PutObjectCommand({ Bucket: rep.bucket, Key: 'new.txt', Body: 'new' }));
    await s3[rep.region].send(new DeleteObjectCommand({ Bucket: rep.bucket, Key: 'data/2.txt' }));
    await s3['us-east'].send(
      new PutObjectCommand({ Bucket: pair.source.bucket, Key: 'only-on-source.txt', Body: 'keep me' }),
    );

    const fb = await env.client.workflow.start('regionFailback', {
      taskQueue,
      workflowId: `test-failback-${process.pid}-${Date.now()}`,
      args: [{ ...pair, probeIntervalSeconds: 1, catchUpTimeoutSeconds: 0, compareVersionIds: false }],
    });
    const b = (await fb.result()) as RegionFailbackResult;
    expect(b.transfer).toMatchObject({ copied: 2, deleted: 1, failed: 0 });
    expect(b.verification.keysBehind).toBe(0);
    expect(await text(pair.source, 'data/1.txt')).toBe('changed');
    expect(await text(pair.source, 'new.txt')).toBe('new');
    expect(await text(pair.source, 'data/2.txt')).toBeNull();
    expect(await text(pair.source, 'only-on-source.txt')).toBe('keep me');
    expect(await text(pair.source, 'data/3.txt')).toBe('object 3');
    for (const side of [pair.source, pair.replica])
      expect(await recordOf(side)).toMatchObject({ active: { region: 'us-east' }, generation: 2 });
    expect(b.replication).toBe('source-to-replica');
    expect(await provider.describe(pair)).toMatchObject({ direction: 'source-to-replica' });
  });
});
