// `lifeboat replica verify` as an operator runs it: a worker process, the table or --json, exit codes.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { waitForBucketOnSecondary, waitUntilReplicated } from '../helpers/multisite';
import { createBucket, put, uniqueBucket } from '../helpers/s3';
import { CLI, WorkerProcess, writeTestConfig } from '../helpers/worker-process';

const configPath = writeTestConfig(`e2e-replica-${process.pid}-${Date.now().toString(36)}`);
const worker = new WorkerProcess(configPath);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function lifeboat(...args: string[]): Promise<Run> {
  return lifeboatWith(configPath, ...args);
}

function lifeboatWith(config: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--config', config, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  await worker.start();
});

afterAll(async () => {
  await worker.stop();
});

describe('lifeboat replica verify', () => {
  it('exits 0 with "In sync" when the secondary zone has every version, with a deep check', async () => {
    const bucket = await createBucket(uniqueBucket('cli-verify-ms'));
    await waitForBucketOnSecondary(bucket);
    for (let i = 0; i < 4; i++) await put(bucket, `doc/${i}.txt`, `text ${i}`);
    await waitUntilReplicated(bucket);
    // The replica comes from the configuration: the bucket is protected, with its replica in secondary.
    const withProtected = join(dirname(configPath), 'protected.yaml');
    const cfg = parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    cfg.protectedBuckets = { docs: { region: 'primary', bucket, replica: { region: 'secondary', bucket } } };
    writeFileSync(withProtected, stringify(cfg));
    const run = await lifeboatWith(withProtected, 'replica', 'verify', '--bucket', bucket, '--deep', 'all');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^In sync: primary\/.* -> secondary\//);
    expect(run.stdout).toMatch(/in-sync\s+4/);
    expect(run.stdout).toMatch(/RPO estimate: 0 s/);
    expect(run.stdout).toMatch(/deep-checked 4 key\(s\)/);
    expect(run.stderr).toMatch(/started verify\/primary\//);
  });

  it('exits 1 when the replica differs, listing the first keys of each class (table and --json)', async () => {
    const src = await createBucket(uniqueBucket('cli-verify-src'));
    const dst = await createBucket(uniqueBucket('cli-verify-dst'));
    await put(src, 'a.txt', 'same');
    await put(dst, 'a.txt', 'same');
    await put(src, 'b.txt', 'only on the source');
    await put(dst, 'c.txt', 'only on the copy');
    const args = [
      '--bucket',
      src,
      '--replica-region',
      'primary',
      '--replica-bucket',
      dst,
      '--no-compare-version-ids',
    ];
    const human = await lifeboat('replica', 'verify', ...args);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^2 difference\(s\)/);
    expect(human.stdout).toMatch(/missing-on-replica\s+1\s+b\.txt/);
    expect(human.stdout).toMatch(/extra-on-replica\s+1\s+c\.txt/);
    expect(human.stdout).toMatch(/report: s3:\/\/lifeboat-reports\//);

    const json = await lifeboat('--json', 'replica', 'verify', ...args, '--id', `cli-verify-json-${src}`);
    expect(json.code).toBe(1);
    const r = JSON.parse(json.stdout) as {
      counts: Record<string, number>;
      rpoSeconds: number;
      sourceReachable: boolean;
    };
    expect(r.counts).toMatchObject({ keys: 3, 'in-sync': 1, 'missing-on-replica': 1, 'extra-on-replica': 1 });
    expect(r.sourceReachable).toBe(true);
    expect(r.rpoSeconds).toBeGreaterThan(0);
  });

  it('exits 2 on bad input without starting anything, naming what is wrong', async () => {
    const same = await lifeboat('replica', 'verify', '--bucket', 'docs', '--replica-region', 'primary');
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/field "replica": is the source itself/);
    const region = await lifeboat('replica', 'verify', '--bucket', 'docs', '--replica-region', 'mars');
    expect(region.code).toBe(2);
    expect(region.stderr).toMatch(/region "mars" is not in the configuration/);
    const none = await lifeboat('replica', 'verify', '--bucket', 'docs');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--replica-region is needed/);
    const deep = await lifeboat(
      'replica',
      'verify',
      '--bucket',
      'docs',
      '--replica-region',
      'secondary',
      '--deep',
      'most',
    );
    expect(deep.code).toBe(2);
  });
});

describe('lifeboat replica status', () => {
  it('shows direction, lag and backlog of an AWS pair (moto), and the active side from the record', async () => {
    const { CreateBucketCommand, PutBucketVersioningCommand, PutObjectCommand } =
      await import('@aws-sdk/client-s3');
    const { PutMetricDataCommand } = await import('@aws-sdk/client-cloudwatch');
    const { createS3Client, createCloudWatchClient } = await import('../../worker/clients');
    const { createAwsReplicationProvider } = await import('../../activities/replication/aws');
    const { readStackProfile } = await import('../../worker/config');
    const moto = readStackProfile().moto.endpoint;
    process.env.LIFEBOAT_MOTO_KEY_ID = 'testing';
    process.env.LIFEBOAT_MOTO_SECRET = 'testing';
    const profile = (region: string) => ({
      endpoint: moto,
      cloudwatchEndpoint: moto,
      region,
      forcePathStyle: true,
      platform: 'aws' as const,
      replicationRoleArn: `arn:aws:iam::123456789012:role/lifeboat-${region}`,
      credentials: {
        source: 'environment' as const,
        accessKeyIdVar: 'LIFEBOAT_MOTO_KEY_ID',
        secretAccessKeyVar: 'LIFEBOAT_MOTO_SECRET',
        sessionTokenVar: undefined,
      },
    });
    const east = profile('us-east-1');
    const west = profile('eu-west-1');
    const s3 = { 'us-east': createS3Client('us-east', east), 'eu-west': createS3Client('eu-west', west) };
    const cw = createCloudWatchClient('us-east', east);
    const pair = {
      source: { region: 'us-east', bucket: uniqueBucket('status-src') },
      replica: { region: 'eu-west', bucket: uniqueBucket('status-dst') },
    };
    for (const side of [pair.source, pair.replica]) {
      const s = s3[side.region as 'us-east' | 'eu-west'];
      await s.send(
        new CreateBucketCommand({
          Bucket: side.bucket,
          CreateBucketConfiguration:
            side.region === 'eu-west' ? { LocationConstraint: 'eu-west-1' } : undefined,
        }),
      );
      await s.send(
        new PutBucketVersioningCommand({
          Bucket: side.bucket,
          VersioningConfiguration: { Status: 'Enabled' },
        }),
      );
    }
    await createAwsReplicationProvider({
      s3,
      cloudwatch: { 'us-east': cw, 'eu-west': createCloudWatchClient('eu-west', west) },
      regionCodes: { 'us-east': 'us-east-1', 'eu-west': 'eu-west-1' },
      replicationRoleArns: { 'us-east': east.replicationRoleArn, 'eu-west': west.replicationRoleArn },
    }).enable(pair, { replicationTimeControl: true });
    const dims = [
      { Name: 'SourceBucket', Value: pair.source.bucket },
      { Name: 'DestinationBucket', Value: pair.replica.bucket },
      { Name: 'RuleId', Value: 'lifeboat-us-east-to-eu-west' },
    ];
    // A minute old, as S3 publishes them (moto drops a datapoint in the same second as the query's end).
    const minuteAgo = new Date(Date.now() - 60_000);
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/S3',
        MetricData: [
          {
            MetricName: 'ReplicationLatency',
            Dimensions: dims,
            Value: 42,
            Unit: 'Seconds',
            Timestamp: minuteAgo,
          },
          {
            MetricName: 'OperationsPendingReplication',
            Dimensions: dims,
            Value: 7,
            Unit: 'Count',
            Timestamp: minuteAgo,
          },
          {
            MetricName: 'BytesPendingReplication',
            Dimensions: dims,
            Value: 4096,
            Unit: 'Bytes',
            Timestamp: minuteAgo,
          },
        ],
      }),
    );
    // The active side, as a failover would have written it.
    await s3['eu-west'].send(
      new PutObjectCommand({
        Bucket: pair.replica.bucket,
        Key: '.lifeboat/active-region.json',
        Body: JSON.stringify({
          pair,
          active: pair.replica,
          since: new Date().toISOString(),
          by: 'test',
          generation: 1,
        }),
      }),
    );
    const cfgPath = join(dirname(configPath), 'aws-status.yaml');
    const cfg = parse(readFileSync(configPath, 'utf8')) as { regions: Record<string, unknown> };
    cfg.regions['us-east'] = east;
    cfg.regions['eu-west'] = west;
    writeFileSync(cfgPath, stringify(cfg));
    const args = ['replica', 'status', '--bucket', pair.source.bucket, '--source-region', 'us-east'];
    const more = ['--replica-region', 'eu-west', '--replica-bucket', pair.replica.bucket];
    const run = await lifeboatWith(cfgPath, '--json', ...args, ...more);
    expect(run.code).toBe(0);
    const [row] = JSON.parse(run.stdout) as {
      active: string;
      state: { direction: string };
      lag: { lagSeconds: number; pendingOperations: number; pendingBytes: number; caughtUp: boolean };
    }[];
    expect(row.state.direction).toBe('source-to-replica');
    expect(row.lag).toMatchObject({
      lagSeconds: 42,
      pendingOperations: 7,
      pendingBytes: 4096,
      caughtUp: false,
    });
    expect(row.active).toBe(`eu-west/${pair.replica.bucket}`);
    const human = await lifeboatWith(cfgPath, ...args, ...more);
    expect(human.stdout).toMatch(/source-to-replica\s+no\s+42\s+7\s+4096/);
  });
});

describe('lifeboat failover', () => {
  it('--dry-run probes, verifies and assesses without switching; approve refuses a run not at its gate', async () => {
    const bucket = await createBucket(uniqueBucket('cli-failover'));
    await waitForBucketOnSecondary(bucket);
    for (let i = 0; i < 3; i++) await put(bucket, `k/${i}`, `v${i}`);
    await waitUntilReplicated(bucket);
    const run = await lifeboat('--json', 'failover', bucket, '--dry-run', '--rpo-objective', '900');
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as {
      workflowId: string;
      dryRun: boolean;
      source: { healthy: boolean };
      verification: { keysBehind: number };
      readiness: { go: boolean; findings: string[] };
      steps: { name: string; outcome: string }[];
    };
    expect(r).toMatchObject({ dryRun: true, source: { healthy: true }, verification: { keysBehind: 0 } });
    expect(r.workflowId).toBe(`failover/primary/${bucket}/dry-run`);
    expect(r.readiness.findings.join('; ')).toMatch(/within the 900 s objective/);
    expect(r.steps.filter((s) => s.outcome === 'skipped').map((s) => s.name)).toEqual([
      'approval',
      'promote replica',
      'switch direct access',
      'reverse replication',
    ]);
    const human = await lifeboat('failover', 'gate', r.workflowId);
    expect(human.stdout).toMatch(/not waiting/);
    const approve = await lifeboat('failover', 'approve', r.workflowId);
    expect(approve.code).toBe(2);
    expect(approve.stderr).toMatch(/is not waiting for approval/);
  });
});
