// The AWS replication provider against moto (S3 replication configurations, CloudWatch metrics) and, for
// the refusal of PutBucketReplication, against Ceph RGW: what the servers store and return.
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  CreateBucketCommand,
  GetBucketReplicationCommand,
  GetBucketVersioningCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  ReplicationRule,
  S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  AWS_PROMOTE_NOTE,
  AwsReplicationDeps,
  createAwsReplicationProvider,
} from '../../activities/replication/aws';
import type { RegionProfile } from '../../core/config';
import type { BucketPair } from '../../core/replication';
import { readStackProfile, stackDir } from '../../worker/config';
import { createCloudWatchClient, createS3Client } from '../../worker/clients';
import { clients as cephClients, createBucket as createCephBucket, uniqueBucket } from '../helpers/s3';

// Lab keys for moto, read by the region profiles' `environment` credentials source.
process.env.LIFEBOAT_MOTO_KEY_ID = 'testing';
process.env.LIFEBOAT_MOTO_SECRET = 'testing';
const moto = readStackProfile().moto.endpoint;
const profile = (region: string, endpoint = moto): RegionProfile => ({
  endpoint,
  cloudwatchEndpoint: endpoint,
  region,
  forcePathStyle: true,
  platform: 'aws',
  credentials: {
    source: 'environment',
    accessKeyIdVar: 'LIFEBOAT_MOTO_KEY_ID',
    secretAccessKeyVar: 'LIFEBOAT_MOTO_SECRET',
  },
});
const profiles = { 'us-east': profile('us-east-1'), 'eu-west': profile('eu-west-1') };
const s3: Record<string, S3Client> = {
  'us-east': createS3Client('us-east', profiles['us-east']),
  'eu-west': createS3Client('eu-west', profiles['eu-west']),
};
const cloudwatch: Record<string, CloudWatchClient> = {
  'us-east': createCloudWatchClient('us-east', profiles['us-east']),
  'eu-west': createCloudWatchClient('eu-west', profiles['eu-west']),
};
const roles = {
  'us-east': 'arn:aws:iam::123456789012:role/lifeboat-us-east',
  'eu-west': 'arn:aws:iam::123456789012:role/lifeboat-eu-west',
};
const deps: AwsReplicationDeps = {
  s3,
  cloudwatch,
  regionCodes: { 'us-east': 'us-east-1', 'eu-west': 'eu-west-1' },
  replicationRoleArns: roles,
};
const provider = createAwsReplicationProvider(deps);
const opsRole = 'arn:aws:iam::123456789012:role/ops';
const FWD = 'lifeboat-us-east-to-eu-west';
const BACK = 'lifeboat-eu-west-to-us-east';

/** The bodies of the PutBucketReplication requests the provider sent, as they went over the wire. */
const sentReplicationXml: string[] = [];
for (const client of Object.values(s3)) {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutBucketReplicationCommand') {
        sentReplicationXml.push(String((args.request as { body?: unknown }).body));
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordReplicationXml' },
  );
}

const extra: { destroy(): void }[] = [];
afterAll(() => {
  for (const c of [...Object.values(s3), ...Object.values(cloudwatch), ...extra]) c.destroy();
});

async function newBucket(region: 'us-east' | 'eu-west', label: string, versioned = false): Promise<string> {
  const bucket = uniqueBucket(label);
  await s3[region].send(
    new CreateBucketCommand({
      Bucket: bucket,
      CreateBucketConfiguration: region === 'eu-west' ? { LocationConstraint: 'eu-west-1' } : undefined,
    }),
  );
  if (versioned) {
    await s3[region].send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
  }
  return bucket;
}

async function newPair(label: string, sourceVersioned = false): Promise<BucketPair> {
  return {
    source: { region: 'us-east', bucket: await newBucket('us-east', `${label}-src`, sourceVersioned) },
    replica: { region: 'eu-west', bucket: await newBucket('eu-west', `${label}-dst`) },
  };
}

/** GetBucketReplication through a plain client; null when the bucket has no configuration. */
async function replicationOf(region: 'us-east' | 'eu-west', bucket: string) {
  try {
    return (await s3[region].send(new GetBucketReplicationCommand({ Bucket: bucket })))
      .ReplicationConfiguration!;
  } catch (err) {
    if ((err as Error).name === 'ReplicationConfigurationNotFoundError') return null;
    throw err;
  }
}

const versioningOf = async (region: 'us-east' | 'eu-west', bucket: string) =>
  (await s3[region].send(new GetBucketVersioningCommand({ Bucket: bucket }))).Status;

const foreignRule: ReplicationRule = {
  ID: 'ops-archive',
  Priority: 3,
  Status: 'Enabled',
  Filter: { Prefix: '' },
  DeleteMarkerReplication: { Status: 'Disabled' },
  Destination: { Bucket: 'arn:aws:s3:::ops-archive-bucket', StorageClass: 'GLACIER' },
};

/** The operator's own rule, written before Lifeboat touches the bucket (S3 requires versioning for it). */
async function putForeignRule(region: 'us-east' | 'eu-west', bucket: string): Promise<void> {
  await s3[region].send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  await s3[region].send(
    new PutBucketReplicationCommand({
      Bucket: bucket,
      ReplicationConfiguration: { Role: opsRole, Rules: [foreignRule] },
    }),
  );
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

const rtcOptions = { prefix: 'docs/', storageClass: 'STANDARD_IA', replicationTimeControl: true };

describe('enable and describe', () => {
  it("turns versioning on both sides and writes the rule next to the operator's", async () => {
    const pair = await newPair('aws-enable');
    await putForeignRule('us-east', pair.source.bucket);
    expect(await versioningOf('eu-west', pair.replica.bucket)).toBeUndefined();
    sentReplicationXml.length = 0;

    const state = await provider.enable(pair, {
      ...rtcOptions,
      tags: { tier: 'gold' },
      deleteMarkerReplication: false,
    });

    expect(await versioningOf('us-east', pair.source.bucket)).toBe('Enabled');
    expect(await versioningOf('eu-west', pair.replica.bucket)).toBe('Enabled');
    const config = await replicationOf('us-east', pair.source.bucket);
    // The operator's role stays: their rule depends on it.
    expect(config?.Role).toBe(opsRole);
    expect(config?.Rules?.map((r) => r.ID)).toEqual(['ops-archive', FWD]);
    const [foreign, ours] = config!.Rules!;
    expect(foreign).toMatchObject({
      ID: 'ops-archive',
      Priority: 3,
      Status: 'Enabled',
      Destination: foreignRule.Destination,
    });
    expect(ours).toMatchObject({
      ID: FWD,
      Priority: 4,
      Status: 'Enabled',
      Destination: {
        Bucket: `arn:aws:s3:::${pair.replica.bucket}`,
        StorageClass: 'STANDARD_IA',
        ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
        Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
      },
    });
    // moto answers every rule with Filter {Prefix: ""} and delete markers Disabled whatever was stored
    // (docs/local-stack.md): the filter is checked on the request that reached it.
    expect(sentReplicationXml).toHaveLength(1);
    expect(sentReplicationXml[0]).toContain(
      '<Filter><And><Prefix>docs/</Prefix><Tag><Key>tier</Key><Value>gold</Value></Tag></And></Filter>',
    );
    expect(sentReplicationXml[0]).toContain(
      '<DeleteMarkerReplication><Status>Disabled</Status></DeleteMarkerReplication>',
    );

    expect(state).toMatchObject({
      platform: 'aws',
      direction: 'source-to-replica',
      versioning: { source: 'Enabled', replica: 'Enabled' },
      rules: [
        {
          id: FWD,
          enabled: true,
          fromRegion: 'us-east',
          toRegion: 'eu-west',
          storageClass: 'STANDARD_IA',
          replicationTimeControl: true,
        },
      ],
    });
    expect(state.notes).toContain('1 other replication rule(s) point outside this pair and are left alone');
    expect(await provider.describe(pair)).toEqual({ ...state, notes: state.notes.slice(1) });
  });

  it('is idempotent: enabling twice leaves the same configuration', async () => {
    const pair = await newPair('aws-twice');
    await provider.enable(pair, rtcOptions);
    const first = await replicationOf('us-east', pair.source.bucket);
    await provider.enable(pair, rtcOptions);
    expect(await replicationOf('us-east', pair.source.bucket)).toEqual(first);
    // No operator rule: the region profile's role is used.
    expect(first?.Role).toBe(roles['us-east']);
    expect(first?.Rules?.map((r) => [r.ID, r.Priority])).toEqual([[FWD, 1]]);
  });

  it('describes a pair without replication', async () => {
    const pair = await newPair('aws-none');
    expect(await provider.describe(pair)).toEqual({
      platform: 'aws',
      direction: 'none',
      rules: [],
      versioning: { source: 'Off', replica: 'Off' },
      notes: [
        `versioning is Off on the source us-east/${pair.source.bucket}: replication needs it Enabled`,
        `versioning is Off on the replica eu-west/${pair.replica.bucket}: replication needs it Enabled`,
        'no enabled replication rule between the two buckets',
      ],
    });
  });
});

describe('reverse and restore', () => {
  it('replicates back to the source, then restores the forward rule; foreign rules survive it all', async () => {
    const pair = await newPair('aws-rev');
    await putForeignRule('us-east', pair.source.bucket);
    await provider.enable(pair, rtcOptions);

    const reversed = await provider.reverse(pair);
    const onReplica = await replicationOf('eu-west', pair.replica.bucket);
    expect(onReplica?.Role).toBe(roles['eu-west']);
    expect(onReplica?.Rules).toEqual([
      expect.objectContaining({
        ID: BACK,
        Status: 'Enabled',
        // The forward rule's RTC and metrics carry over; its storage class does not.
        Destination: {
          Bucket: `arn:aws:s3:::${pair.source.bucket}`,
          ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
          Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
        },
      }),
    ]);
    const onSource = await replicationOf('us-east', pair.source.bucket);
    expect(onSource?.Rules?.map((r) => [r.ID, r.Status])).toEqual([
      ['ops-archive', 'Enabled'],
      [FWD, 'Disabled'],
    ]);
    expect(reversed.direction).toBe('replica-to-source');
    expect(reversed.notes).toEqual(
      expect.arrayContaining([
        `rule ${BACK} on eu-west/${pair.replica.bucket} replicates back to the source`,
        `rule ${FWD} on us-east/${pair.source.bucket} is disabled until restore`,
      ]),
    );
    // Reversing again changes nothing.
    await provider.reverse(pair);
    expect(await replicationOf('eu-west', pair.replica.bucket)).toEqual(onReplica);
    expect(await replicationOf('us-east', pair.source.bucket)).toEqual(onSource);

    const restored = await provider.restore(pair);
    expect(await replicationOf('eu-west', pair.replica.bucket)).toBeNull();
    const back = await replicationOf('us-east', pair.source.bucket);
    expect(back?.Role).toBe(opsRole);
    expect(back?.Rules?.map((r) => [r.ID, r.Status])).toEqual([
      ['ops-archive', 'Enabled'],
      [FWD, 'Enabled'],
    ]);
    expect(back?.Rules?.[0].Destination).toEqual(foreignRule.Destination);
    expect(back?.Rules?.[1].Destination).toMatchObject({ StorageClass: 'STANDARD_IA' });
    expect(restored.direction).toBe('source-to-replica');
    expect(restored.notes).toContain(
      `rule ${BACK} removed: eu-west/${pair.replica.bucket} has no replication configuration left`,
    );
  });

  it("keeps the operator's rules on the replica when it removes its reverse rule", async () => {
    const pair = await newPair('aws-rev-keep');
    await putForeignRule('eu-west', pair.replica.bucket);
    await provider.enable(pair, {});
    await provider.reverse(pair);
    const during = await replicationOf('eu-west', pair.replica.bucket);
    expect(during?.Rules?.map((r) => r.ID)).toEqual(['ops-archive', BACK]);
    expect(during?.Role).toBe(opsRole);
    await provider.restore(pair);
    const after = await replicationOf('eu-west', pair.replica.bucket);
    expect(after?.Rules?.map((r) => r.ID)).toEqual(['ops-archive']);
    expect(after?.Rules?.[0].Destination).toEqual(foreignRule.Destination);
  });

  it('reverses while the source region does not answer, and leaves the source alone', async () => {
    const pair = await newPair('aws-outage');
    await provider.enable(pair, {});
    // A port nothing listens on: connections are refused, as during a regional outage.
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const down = createS3Client('us-east', profile('us-east-1', `http://127.0.0.1:${port}`));
    extra.push(down);
    const duringOutage = createAwsReplicationProvider({ ...deps, s3: { ...s3, 'us-east': down } });

    const state = await duringOutage.reverse(pair);

    expect(
      (await replicationOf('eu-west', pair.replica.bucket))?.Rules?.map((r) => [r.ID, r.Status]),
    ).toEqual([[BACK, 'Enabled']]);
    // The source's rule is untouched (moto stands in for the source region coming back).
    expect((await replicationOf('us-east', pair.source.bucket))?.Rules?.map((r) => [r.ID, r.Status])).toEqual(
      [[FWD, 'Enabled']],
    );
    expect(state.versioning).toEqual({ source: null, replica: 'Enabled' });
    expect(state.direction).toBe('replica-to-source');
    expect(state.notes).toEqual(
      expect.arrayContaining([
        `the source us-east/${pair.source.bucket} did not answer: its rule ${FWD} was left as it was; run reverse again once it is back`,
        `the source us-east/${pair.source.bucket} did not answer: its rules and versioning are unknown`,
      ]),
    );
  });
});

describe('lag', () => {
  async function putMetrics(
    region: 'us-east' | 'eu-west',
    dims: { source: string; destination: string; ruleId: string },
    points: [string, number, number][],
  ): Promise<void> {
    const now = Date.now();
    await cloudwatch[region].send(
      new PutMetricDataCommand({
        Namespace: 'AWS/S3',
        MetricData: points.map(([MetricName, minutesAgo, Value]) => ({
          MetricName,
          Value,
          Timestamp: new Date(now - minutesAgo * 60_000),
          Dimensions: [
            { Name: 'SourceBucket', Value: dims.source },
            { Name: 'DestinationBucket', Value: dims.destination },
            { Name: 'RuleId', Value: dims.ruleId },
          ],
        })),
      }),
    );
  }

  it("reads the rule's AWS/S3 replication metrics back from CloudWatch", async () => {
    const pair = await newPair('aws-lag');
    await provider.enable(pair, { replicationTimeControl: true });
    const dims = { source: pair.source.bucket, destination: pair.replica.bucket, ruleId: FWD };
    await putMetrics('us-east', dims, [
      ['ReplicationLatency', 6, 40],
      ['ReplicationLatency', 3, 95],
      ['ReplicationLatency', 1, 12],
      ['BytesPendingReplication', 6, 50_000],
      ['BytesPendingReplication', 1, 1234],
      ['OperationsPendingReplication', 6, 9],
      ['OperationsPendingReplication', 1, 2],
      ['OperationsFailedReplication', 5, 1],
      ['OperationsFailedReplication', 2, 2],
      // Older than the 15-minute window: not counted.
      ['ReplicationLatency', 30, 5000],
    ]);
    // Another rule of the same buckets, and the same rule in the other region: not counted either.
    await putMetrics('us-east', { ...dims, ruleId: 'ops-archive' }, [['ReplicationLatency', 2, 7000]]);
    await putMetrics('eu-west', dims, [['ReplicationLatency', 2, 8000]]);

    const lag = await provider.lag(pair);
    expect(lag).toMatchObject({
      platform: 'aws',
      caughtUp: false,
      lagSeconds: 95,
      pendingBytes: 1234,
      pendingOperations: 2,
      failedOperations: 3,
    });
    expect(lag.detail).toContain(
      `rule ${FWD} (us-east/${pair.source.bucket} -> eu-west/${pair.replica.bucket})`,
    );
    expect(Math.abs(Date.parse(lag.measuredAt) - Date.now())).toBeLessThan(60_000);
  });

  it("follows the reverse rule after reverse: metrics from the replica region's CloudWatch", async () => {
    const pair = await newPair('aws-lag-rev');
    await provider.enable(pair, { replicationMetrics: true });
    await provider.reverse(pair);
    const dims = { source: pair.replica.bucket, destination: pair.source.bucket, ruleId: BACK };
    await putMetrics('eu-west', dims, [
      ['ReplicationLatency', 2, 7],
      ['BytesPendingReplication', 1, 0],
      ['OperationsPendingReplication', 1, 0],
    ]);
    expect(await provider.lag(pair)).toMatchObject({
      caughtUp: true,
      lagSeconds: 7,
      pendingBytes: 0,
      pendingOperations: 0,
      failedOperations: null,
    });
  });

  it('says metrics are not enabled when CloudWatch has no datapoints', async () => {
    const pair = await newPair('aws-lag-none');
    await provider.enable(pair, {});
    const lag = await provider.lag(pair);
    expect(lag).toMatchObject({
      caughtUp: false,
      lagSeconds: null,
      pendingBytes: null,
      pendingOperations: null,
      failedOperations: null,
    });
    expect(lag.detail).toContain('replication metrics are not enabled on the rule');
  });
});

describe('errors and promote', () => {
  it('fails non-retryably with NoSuchBucket when a bucket is missing', async () => {
    const pair: BucketPair = {
      source: { region: 'us-east', bucket: uniqueBucket('aws-missing') },
      replica: { region: 'eu-west', bucket: await newBucket('eu-west', 'aws-missing-dst') },
    };
    // One call at a time: started together, a later one could fail before it is awaited (an unhandled
    // rejection, which fails the test even though it is the expected failure).
    for (const call of [
      () => provider.enable(pair, {}),
      () => provider.describe(pair),
      () => provider.restore(pair),
    ]) {
      const failure = await failureOf(call());
      expect(failure.type).toBe('NoSuchBucket');
      expect(failure.nonRetryable).toBe(true);
      expect(failure.message).toContain(pair.source.bucket);
    }
  });

  it('refuses a rule without a role, and options S3 would refuse, before changing anything', async () => {
    const pair = await newPair('aws-norole');
    const noRoles = createAwsReplicationProvider({ ...deps, replicationRoleArns: {} });
    const failure = await failureOf(noRoles.enable(pair, {}));
    expect(failure).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(failure.message).toContain('set replicationRoleArn on region profile "us-east"');
    const refused = await failureOf(
      provider.enable(pair, { tags: { a: 'b' }, deleteMarkerReplication: true }),
    );
    expect(refused).toMatchObject({ type: 'InvalidInput', nonRetryable: true });
    expect(await versioningOf('us-east', pair.source.bucket)).toBeUndefined();
    expect(await replicationOf('us-east', pair.source.bucket)).toBeNull();
  });

  it('on Ceph RGW: refused with a pointer to platform ceph, unless the zonegroup has a sync policy', async () => {
    const bucket = await createCephBucket(uniqueBucket('aws-on-ceph'));
    const replica = await createCephBucket(uniqueBucket('aws-on-ceph-dst'));
    const onCeph = createAwsReplicationProvider({
      s3: cephClients,
      cloudwatch: {},
      replicationRoleArns: { primary: roles['us-east'] },
    });
    // RGW 16 answers PutBucketReplication with MethodNotAllowed while the zonegroup has no sync policy,
    // and stores it as a bucket sync policy once one exists (Lifeboat's Ceph provider adds one).
    const policy = JSON.parse(
      execFileSync('radosgw-admin', ['sync', 'policy', 'get'], {
        env: { ...process.env, CEPH_CONF: join(stackDir(), 'ceph/ceph.conf') },
        encoding: 'utf8',
      }),
    ) as { groups?: unknown[] };
    const pairOnCeph = {
      source: { region: 'primary', bucket },
      replica: { region: 'primary', bucket: replica },
    };
    if ((policy.groups ?? []).length === 0) {
      const failure = await failureOf(onCeph.enable(pairOnCeph, {}));
      expect(failure).toMatchObject({ type: 'ReplicationNotSupported', nonRetryable: true });
      expect(failure.message).toContain('set platform: ceph for this region');
    } else {
      const state = await onCeph.enable(pairOnCeph, {});
      expect(state.rules.map((r) => r.id)).toContain('lifeboat-primary-to-primary');
    }
  });

  it('promote has no platform step without a Multi-Region Access Point', async () => {
    const pair = await newPair('aws-promote');
    expect(await provider.promote(pair, 'eu-west')).toEqual([AWS_PROMOTE_NOTE]);
    expect((await failureOf(provider.promote(pair, 'ap-south'))).type).toBe('UnknownRegion');
  });
});
