// S3 replication as plain data: Lifeboat's CRR rule for every option, reading rules back, merging with the
// operator's rules, lag from CloudWatch datapoints; properties: build then parse round-trips, the merge
// never drops a foreign rule and is idempotent.
import type { MetricDataResult } from '@aws-sdk/client-cloudwatch';
import type { ReplicationConfiguration, ReplicationRule } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import {
  bucketArn,
  bucketFromArn,
  buildReplicationRule,
  forwardRuleId,
  isRefusal,
  lagFromMetrics,
  mergeReplicationRules,
  optionsOfRule,
  parseReplicationRules,
  replicationMetricQueries,
  reverseRuleId,
  summarizeRule,
} from '../../core/aws-replication';
import { awsReplicationDeps } from '../../activities/replication/aws';
import { LifeboatConfig } from '../../core/config';
import type { BucketPair, ReplicationOptions } from '../../core/replication';
import { parseInput } from '../../core/validate';

const source = { region: 'us-east', bucket: 'acme-docs' };
const replica = { region: 'eu-west', bucket: 'acme-docs-replica' };
const pair: BucketPair = { source, replica };

function build(options: ReplicationOptions): ReplicationRule {
  const rule = buildReplicationRule(source, replica, options);
  if (isRefusal(rule)) throw new Error(rule.message);
  return rule;
}

describe('rule ids and ARNs', () => {
  it('derives the ids from the region profile names, one per direction', () => {
    expect(forwardRuleId(pair)).toBe('lifeboat-us-east-to-eu-west');
    expect(reverseRuleId(pair)).toBe('lifeboat-eu-west-to-us-east');
  });

  it('writes and reads destination ARNs', () => {
    expect(bucketArn('b1')).toBe('arn:aws:s3:::b1');
    expect(bucketFromArn('arn:aws:s3:::b1')).toBe('b1');
    expect(bucketFromArn('b1')).toBe('b1');
  });
});

describe('buildReplicationRule', () => {
  const dest = 'arn:aws:s3:::acme-docs-replica';
  it.each<[string, ReplicationOptions, Partial<ReplicationRule>]>([
    [
      'whole bucket, delete markers replicated by default',
      {},
      {
        Filter: { Prefix: '' },
        DeleteMarkerReplication: { Status: 'Enabled' },
        Destination: { Bucket: dest },
      },
    ],
    ['a prefix', { prefix: 'docs/' }, { Filter: { Prefix: 'docs/' } }],
    [
      'one tag: a Tag filter, delete markers off (S3 refuses them with tags)',
      { tags: { class: 'keep' } },
      { Filter: { Tag: { Key: 'class', Value: 'keep' } }, DeleteMarkerReplication: { Status: 'Disabled' } },
    ],
    [
      'a prefix and a tag: And',
      { prefix: 'docs/', tags: { class: 'keep' } },
      { Filter: { And: { Prefix: 'docs/', Tags: [{ Key: 'class', Value: 'keep' }] } } },
    ],
    [
      'two tags: And, sorted by key',
      { tags: { z: '1', a: '2' } },
      {
        Filter: {
          And: {
            Tags: [
              { Key: 'a', Value: '2' },
              { Key: 'z', Value: '1' },
            ],
          },
        },
      },
    ],
    [
      'a destination storage class',
      { storageClass: 'STANDARD_IA' },
      { Destination: { Bucket: dest, StorageClass: 'STANDARD_IA' } },
    ],
    [
      'Replication Time Control brings its metrics',
      { replicationTimeControl: true },
      {
        Destination: {
          Bucket: dest,
          ReplicationTime: { Status: 'Enabled', Time: { Minutes: 15 } },
          Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } },
        },
      },
    ],
    [
      'metrics without RTC',
      { replicationMetrics: true },
      { Destination: { Bucket: dest, Metrics: { Status: 'Enabled', EventThreshold: { Minutes: 15 } } } },
    ],
    [
      'delete markers turned off',
      { deleteMarkerReplication: false },
      { DeleteMarkerReplication: { Status: 'Disabled' } },
    ],
  ])('%s', (_name, options, expected) => {
    const rule = build(options);
    expect(rule).toMatchObject({ ID: 'lifeboat-us-east-to-eu-west', Status: 'Enabled', ...expected });
    if (expected.Destination) expect(rule.Destination).toEqual(expected.Destination);
    if (expected.Filter) expect(rule.Filter).toEqual(expected.Filter);
  });

  it.each<[string, ReplicationOptions, string]>([
    ['tags with delete markers', { tags: { a: 'b' }, deleteMarkerReplication: true }, 'delete markers'],
    ['an unknown storage class', { storageClass: 'FAST' }, 'storage class "FAST"'],
  ])('refuses %s before anything is sent', (_name, options, words) => {
    const out = buildReplicationRule(source, replica, options);
    expect(isRefusal(out)).toBe(true);
    expect(out).toMatchObject({ type: 'InvalidInput', message: expect.stringContaining(words) });
  });
});

describe('summarizeRule and parseReplicationRules', () => {
  it('reads the legacy top-level Prefix of V1 rules and a missing filter as the whole bucket', () => {
    const v1: ReplicationRule = {
      ID: 'old',
      Status: 'Enabled',
      Prefix: 'logs/',
      Destination: { Bucket: 'arn:aws:s3:::x' },
    };
    expect(summarizeRule(v1, 'a', 'b')).toEqual({
      id: 'old',
      enabled: true,
      prefix: 'logs/',
      fromRegion: 'a',
      toRegion: 'b',
      deleteMarkerReplication: false,
      replicationTimeControl: false,
    });
    const bare: ReplicationRule = {
      ID: 'bare',
      Status: 'Disabled',
      Destination: { Bucket: 'arn:aws:s3:::x' },
    };
    expect(summarizeRule(bare, 'a', 'b')).toMatchObject({ prefix: '', enabled: false });
  });

  it('keeps the rules between the pair and counts the others', () => {
    const config: ReplicationConfiguration = {
      Role: 'arn:aws:iam::123456789012:role/r',
      Rules: [
        { ...build({ prefix: 'p/' }), Priority: 2 },
        {
          ID: 'ops-archive',
          Status: 'Enabled',
          Priority: 1,
          Destination: { Bucket: 'arn:aws:s3:::archive' },
        },
      ],
    };
    const { rules, otherRules } = parseReplicationRules(config, source, [source, replica]);
    expect(otherRules).toBe(1);
    expect(rules).toEqual([
      {
        id: 'lifeboat-us-east-to-eu-west',
        enabled: true,
        prefix: 'p/',
        fromRegion: 'us-east',
        toRegion: 'eu-west',
        deleteMarkerReplication: true,
        replicationTimeControl: false,
      },
    ]);
    expect(parseReplicationRules(undefined, source, [source, replica])).toEqual({ rules: [], otherRules: 0 });
  });
});

describe('mergeReplicationRules', () => {
  const role = 'arn:aws:iam::123456789012:role/lifeboat';
  const foreign = (ID: string, Priority: number): ReplicationRule => ({
    ID,
    Priority,
    Status: 'Enabled',
    Filter: { Prefix: `${ID}/` },
    DeleteMarkerReplication: { Status: 'Disabled' },
    Destination: { Bucket: 'arn:aws:s3:::elsewhere' },
  });

  it('starts a configuration with our rule at priority 1 and the given role', () => {
    const rule = build({});
    expect(mergeReplicationRules(undefined, [rule], [], role)).toEqual({
      Role: role,
      Rules: [{ ...rule, Priority: 1 }],
    });
  });

  it('keeps foreign rules and their role, replaces our old rule, puts ours above every priority', () => {
    const existing: ReplicationConfiguration = {
      Role: 'arn:aws:iam::123456789012:role/ops',
      Rules: [foreign('a', 5), { ...build({ prefix: 'old/' }), Priority: 9 }, foreign('b', 1)],
    };
    const rule = build({ prefix: 'new/' });
    expect(mergeReplicationRules(existing, [rule], [], role)).toEqual({
      Role: 'arn:aws:iam::123456789012:role/ops',
      Rules: [foreign('a', 5), foreign('b', 1), { ...rule, Priority: 6 }],
    });
  });

  it('removes ids it is told to and returns null when nothing is left', () => {
    const ours = { ...build({}), Priority: 1 };
    expect(mergeReplicationRules({ Role: role, Rules: [ours] }, [], [ours.ID!])).toBeNull();
    expect(mergeReplicationRules({ Role: role, Rules: [ours, foreign('a', 3)] }, [], [ours.ID!])).toEqual({
      Role: role,
      Rules: [foreign('a', 3)],
    });
    expect(mergeReplicationRules(undefined, [], [])).toBeNull();
  });
});

describe('replicationMetricQueries', () => {
  it('asks for the four AWS/S3 metrics with exactly the three dimensions', () => {
    const q = replicationMetricQueries('src', 'dst', 'rule-1');
    expect(q.map((x) => [x.Id, x.MetricStat?.Metric?.MetricName, x.MetricStat?.Stat])).toEqual([
      ['latency', 'ReplicationLatency', 'Maximum'],
      ['pendingBytes', 'BytesPendingReplication', 'Maximum'],
      ['pendingOps', 'OperationsPendingReplication', 'Maximum'],
      ['failedOps', 'OperationsFailedReplication', 'Sum'],
    ]);
    for (const x of q) {
      expect(x.MetricStat?.Metric?.Namespace).toBe('AWS/S3');
      expect(x.MetricStat?.Metric?.Dimensions).toEqual([
        { Name: 'SourceBucket', Value: 'src' },
        { Name: 'DestinationBucket', Value: 'dst' },
        { Name: 'RuleId', Value: 'rule-1' },
      ]);
    }
  });
});

describe('lagFromMetrics', () => {
  const at = (m: number) => new Date(Date.UTC(2026, 10, 26, 10, m));
  const series = (Id: string, pts: [number, number][]): MetricDataResult => ({
    Id,
    Timestamps: pts.map(([m]) => at(m)),
    Values: pts.map(([, v]) => v),
  });
  const what = { ruleId: 'r', from: 'us-east/a', to: 'eu-west/b', measuredAt: '2026-11-26T10:15:00.000Z' };

  it.each<[string, MetricDataResult[], Record<string, unknown>]>([
    [
      'no datapoints: nulls, not caught up, metrics not enabled',
      [series('latency', []), series('pendingBytes', [])],
      {
        caughtUp: false,
        lagSeconds: null,
        pendingBytes: null,
        pendingOperations: null,
        failedOperations: null,
        detail: expect.stringContaining('not enabled'),
      },
    ],
    [
      'worst latency, latest pending (by time, not by order), failures summed',
      [
        series('latency', [
          [14, 30],
          [10, 120],
          [12, 45],
        ]),
        series('pendingBytes', [
          [14, 2048],
          [10, 999999],
        ]),
        series('pendingOps', [
          [10, 70],
          [14, 3],
        ]),
        series('failedOps', [
          [11, 1],
          [13, 2],
        ]),
      ],
      {
        caughtUp: false,
        lagSeconds: 120,
        pendingBytes: 2048,
        pendingOperations: 3,
        failedOperations: 3,
        detail: expect.stringContaining('3 operations failed'),
      },
    ],
    [
      'nothing pending and no failures: caught up',
      [series('latency', [[14, 2]]), series('pendingBytes', [[14, 0]]), series('pendingOps', [[14, 0]])],
      { caughtUp: true, lagSeconds: 2, pendingBytes: 0, pendingOperations: 0, failedOperations: null },
    ],
    [
      'nothing pending but failures in the window: not caught up',
      [series('pendingOps', [[14, 0]]), series('failedOps', [[12, 4]])],
      { caughtUp: false, pendingOperations: 0, failedOperations: 4, lagSeconds: null },
    ],
  ])('%s', (_name, results, expected) => {
    expect(lagFromMetrics(results, what)).toMatchObject({
      platform: 'aws',
      measuredAt: what.measuredAt,
      ...expected,
    });
  });
});

describe('region profile fields for AWS replication', () => {
  const role = 'arn:aws:iam::123456789012:role/lifeboat-replication';
  const config = (profile: Record<string, unknown>) =>
    parseInput(LifeboatConfig, { regions: { 'us-east': { region: 'us-east-1', ...profile } } }, 'config');

  it('accepts a role ARN and a CloudWatch endpoint, and builds the provider deps from them', () => {
    const parsed = config({ replicationRoleArn: role, cloudwatchEndpoint: 'http://127.0.0.1:5055' });
    if (!parsed.ok) throw new Error(parsed.message);
    const withPlain = { ...parsed.value };
    withPlain.regions = {
      ...withPlain.regions,
      lab: { region: 'lab', forcePathStyle: true, platform: 'ceph', credentials: { source: 'default' } },
    };
    const deps = awsReplicationDeps(withPlain, {}, {});
    expect(deps.regionCodes).toEqual({ 'us-east': 'us-east-1', lab: 'lab' });
    expect(deps.replicationRoleArns).toEqual({ 'us-east': role });
  });

  it.each([
    [
      { replicationRoleArn: 'lifeboat-replication' },
      'regions.us-east.replicationRoleArn',
      'expected an IAM role ARN',
    ],
    [{ cloudwatchEndpoint: 'not a url' }, 'regions.us-east.cloudwatchEndpoint', ''],
  ])('refuses %j, naming the field', (profile, field, words) => {
    const parsed = config(profile);
    expect(parsed).toMatchObject({ ok: false, field });
    if (!parsed.ok) expect(parsed.message).toContain(words);
  });
});

// --- properties --------------------------------------------------------------------------------

const tagKey = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/);
const optionsArb: fc.Arbitrary<ReplicationOptions> = fc
  .record(
    {
      prefix: fc.constantFrom('', 'docs/', 'a/b/', 'x'),
      tags: fc.dictionary(tagKey, fc.stringMatching(/^[a-z0-9]{0,4}$/), { maxKeys: 3 }),
      storageClass: fc.constantFrom('STANDARD', 'STANDARD_IA', 'GLACIER_IR', 'DEEP_ARCHIVE'),
      deleteMarkerReplication: fc.boolean(),
      replicationTimeControl: fc.boolean(),
      replicationMetrics: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .map((o) => {
    const tags = o.tags && Object.keys(o.tags).length > 0 ? o.tags : undefined;
    // S3 refuses delete-marker replication with tag filters (a table test covers the refusal).
    const dmr = tags ? false : o.deleteMarkerReplication;
    return { ...o, tags, ...(dmr === undefined ? {} : { deleteMarkerReplication: dmr }) };
  });

const foreignRuleArb: fc.Arbitrary<ReplicationRule> = fc.record({
  ID: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/).filter((id) => !id.startsWith('lifeboat-')),
  Priority: fc.integer({ min: 0, max: 50 }),
  Status: fc.constantFrom('Enabled' as const, 'Disabled' as const),
  Filter: fc.record({ Prefix: fc.constantFrom('', 'p/', 'q/') }),
  Destination: fc.record({
    Bucket: fc.constantFrom('arn:aws:s3:::elsewhere', 'arn:aws:s3:::acme-docs-replica'),
  }),
});
const existingArb: fc.Arbitrary<ReplicationConfiguration | undefined> = fc.option(
  fc.record({
    Role: fc.constant('arn:aws:iam::123456789012:role/ops'),
    Rules: fc.uniqueArray(foreignRuleArb, { selector: (r) => r.ID, maxLength: 5 }),
  }),
  { nil: undefined },
);

describe('properties', () => {
  it('build then parse round-trips the options', () => {
    fc.assert(
      fc.property(optionsArb, (options) => {
        const summary = summarizeRule(build(options), source.region, replica.region);
        const tags = options.tags;
        expect(summary).toEqual({
          id: 'lifeboat-us-east-to-eu-west',
          enabled: true,
          prefix: options.prefix ?? '',
          fromRegion: 'us-east',
          toRegion: 'eu-west',
          deleteMarkerReplication: options.deleteMarkerReplication ?? !tags,
          replicationTimeControl: options.replicationTimeControl === true,
          ...(tags ? { tags } : {}),
          ...(options.storageClass ? { storageClass: options.storageClass } : {}),
        });
        // And the options read back from a rule build that same rule again.
        expect(build(optionsOfRule(build(options)))).toEqual(build(options));
      }),
    );
  });

  it('the merge never drops or changes a foreign rule, keeps their order, and priorities stay unique', () => {
    fc.assert(
      fc.property(existingArb, optionsArb, (existing, options) => {
        const merged = mergeReplicationRules(existing, [build(options)], [], 'arn:aws:iam::1:role/x');
        const rules = merged?.Rules ?? [];
        const foreign = existing?.Rules ?? [];
        expect(rules.filter((r) => !r.ID?.startsWith('lifeboat-'))).toEqual(foreign);
        const ours = rules.find((r) => r.ID === 'lifeboat-us-east-to-eu-west');
        expect(ours?.Priority).toBeGreaterThan(Math.max(0, ...foreign.map((r) => r.Priority ?? 0)));
        if (foreign.length > 0) expect(merged?.Role).toBe(existing?.Role);
        // Removing ours again gives back exactly the foreign rules.
        const removed = mergeReplicationRules(merged ?? undefined, [], ['lifeboat-us-east-to-eu-west']);
        expect(removed?.Rules ?? []).toEqual(foreign);
      }),
    );
  });

  it('merging twice changes nothing the second time', () => {
    fc.assert(
      fc.property(existingArb, optionsArb, optionsArb, (existing, first, second) => {
        const once = mergeReplicationRules(existing, [build(first)], [], 'arn:aws:iam::1:role/x');
        const again = mergeReplicationRules(once ?? undefined, [build(second)], [], 'arn:aws:iam::1:role/x');
        const twice = mergeReplicationRules(again ?? undefined, [build(second)], [], 'arn:aws:iam::1:role/x');
        expect(twice).toEqual(again);
        expect(again?.Rules?.filter((r) => r.ID === 'lifeboat-us-east-to-eu-west')).toHaveLength(1);
      }),
    );
  });
});
