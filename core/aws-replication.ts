// S3 cross-region replication as plain data: Lifeboat's rules, reading rules back, merging, lag from metrics.
import type { MetricDataQuery, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import type { ReplicationConfiguration, ReplicationRule, Tag } from '@aws-sdk/client-s3';
import { ErrorType, Refusal } from './errors';
import type { BucketPair, ReplicationLag, ReplicationOptions, ReplicationRuleSummary } from './replication';

/** One side of a pair: a region profile name and a bucket. */
export interface BucketRef {
  region: string;
  bucket: string;
}

/** Rule ids Lifeboat owns start with this; every other rule on a bucket is the operator's and is kept. */
export const LIFEBOAT_RULE_PREFIX = 'lifeboat-';

/** S3 limits rule ids to 255 characters; region profile names are at most 63 each, so this always fits. */
export function lifeboatRuleId(fromRegion: string, toRegion: string): string {
  return `${LIFEBOAT_RULE_PREFIX}${fromRegion}-to-${toRegion}`;
}

export function forwardRuleId(pair: BucketPair): string {
  return lifeboatRuleId(pair.source.region, pair.replica.region);
}

export function reverseRuleId(pair: BucketPair): string {
  return lifeboatRuleId(pair.replica.region, pair.source.region);
}

export function bucketArn(bucket: string): string {
  return `arn:aws:s3:::${bucket}`;
}

/** The bucket of a destination: S3 returns the ARN; a bare name is accepted too. */
export function bucketFromArn(arnOrName: string): string {
  return arnOrName.startsWith('arn:') ? arnOrName.slice(arnOrName.lastIndexOf(':') + 1) : arnOrName;
}

/** Storage classes S3 accepts as a replication destination class. */
export const REPLICA_STORAGE_CLASSES = [
  'STANDARD',
  'REDUCED_REDUNDANCY',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER',
  'DEEP_ARCHIVE',
  'GLACIER_IR',
  'OUTPOSTS',
] as const;

/** Replication Time Control's only threshold: S3 replicates 99.99% of objects within 15 minutes. */
export const RTC_MINUTES = 15;

function tagList(tags: Record<string, string> | undefined): Tag[] {
  return Object.entries(tags ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([Key, Value]) => ({ Key, Value }));
}

/**
 * The CRR rule that replicates `from` into `to` with `options`, Priority left at 0 (the merge sets it).
 * Refuses what S3 would refuse, before anything is sent: a tag filter with delete-marker replication,
 * an unknown storage class.
 */
export function buildReplicationRule(
  from: BucketRef,
  to: BucketRef,
  options: ReplicationOptions,
): ReplicationRule | Refusal {
  const tags = tagList(options.tags);
  const prefix = options.prefix ?? '';
  // S3 does not replicate delete markers for rules that filter on tags: it refuses the combination.
  if (tags.length > 0 && options.deleteMarkerReplication === true) {
    return {
      type: ErrorType.InvalidInput,
      message:
        'S3 does not replicate delete markers for rules with a tag filter: drop "tags" or set deleteMarkerReplication to false',
    };
  }
  const storageClass = options.storageClass;
  if (storageClass !== undefined && !(REPLICA_STORAGE_CLASSES as readonly string[]).includes(storageClass)) {
    return {
      type: ErrorType.InvalidInput,
      message: `storage class "${storageClass}" is not one S3 replicates into (expected one of ${REPLICA_STORAGE_CLASSES.join(', ')})`,
    };
  }
  const deleteMarkers = options.deleteMarkerReplication ?? tags.length === 0;
  const rtc = options.replicationTimeControl === true;
  const metrics = rtc || options.replicationMetrics === true;
  return {
    ID: lifeboatRuleId(from.region, to.region),
    Priority: 0,
    Status: 'Enabled',
    Filter:
      tags.length === 0
        ? { Prefix: prefix }
        : tags.length === 1 && prefix === ''
          ? { Tag: tags[0] }
          : { And: { ...(prefix === '' ? {} : { Prefix: prefix }), Tags: tags } },
    DeleteMarkerReplication: { Status: deleteMarkers ? 'Enabled' : 'Disabled' },
    Destination: {
      Bucket: bucketArn(to.bucket),
      ...(storageClass === undefined
        ? {}
        : { StorageClass: storageClass as NonNullable<ReplicationRule['Destination']>['StorageClass'] }),
      // RTC requires metrics; metrics alone are what CloudWatch's ReplicationLatency and pending counts need.
      ...(rtc ? { ReplicationTime: { Status: 'Enabled', Time: { Minutes: RTC_MINUTES } } } : {}),
      ...(metrics ? { Metrics: { Status: 'Enabled', EventThreshold: { Minutes: RTC_MINUTES } } } : {}),
    },
  };
}

export function isRefusal(x: ReplicationRule | Refusal): x is Refusal {
  return (x as ReplicationRule).Destination === undefined;
}

/** The options a rule stands for: what `buildReplicationRule` would need to build it again. */
export function optionsOfRule(rule: ReplicationRule): ReplicationOptions {
  const s = summarizeRule(rule, '', '');
  const options: ReplicationOptions = {};
  if (s.prefix !== '') options.prefix = s.prefix;
  if (s.tags) options.tags = s.tags;
  if (s.storageClass) options.storageClass = s.storageClass;
  options.deleteMarkerReplication = s.deleteMarkerReplication === true;
  if (s.replicationTimeControl) options.replicationTimeControl = true;
  if (rule.Destination?.Metrics?.Status === 'Enabled' && !s.replicationTimeControl)
    options.replicationMetrics = true;
  return options;
}

/** One S3 rule as a summary; the filter is read from `Filter` (V2) or the legacy top-level `Prefix`. */
export function summarizeRule(
  rule: ReplicationRule,
  fromRegion: string,
  toRegion: string,
): ReplicationRuleSummary {
  const f = rule.Filter;
  const prefix = f?.Prefix ?? f?.And?.Prefix ?? rule.Prefix ?? '';
  const tagPairs = f?.Tag ? [f.Tag] : (f?.And?.Tags ?? []);
  const summary: ReplicationRuleSummary = {
    id: rule.ID ?? '',
    enabled: rule.Status === 'Enabled',
    prefix,
    fromRegion,
    toRegion,
    deleteMarkerReplication: rule.DeleteMarkerReplication?.Status === 'Enabled',
    replicationTimeControl: rule.Destination?.ReplicationTime?.Status === 'Enabled',
  };
  if (tagPairs.length > 0) {
    summary.tags = Object.fromEntries(tagPairs.map((t) => [t.Key ?? '', t.Value ?? '']));
  }
  if (rule.Destination?.StorageClass) summary.storageClass = rule.Destination.StorageClass;
  return summary;
}

/**
 * The rules of `from`'s bucket whose destination is a bucket of `sides` (the pair), as summaries.
 * Rules that replicate elsewhere are the operator's business and are only counted.
 */
export function parseReplicationRules(
  config: ReplicationConfiguration | undefined,
  from: BucketRef,
  sides: BucketRef[],
): { rules: ReplicationRuleSummary[]; otherRules: number } {
  const rules: ReplicationRuleSummary[] = [];
  let otherRules = 0;
  for (const rule of config?.Rules ?? []) {
    const dest = bucketFromArn(rule.Destination?.Bucket ?? '');
    const to = sides.find((s) => s.bucket === dest && s.bucket !== from.bucket);
    if (to) rules.push(summarizeRule(rule, from.region, to.region));
    else otherRules += 1;
  }
  return { rules, otherRules };
}

/**
 * `existing` with Lifeboat's `ours` in place of any rule with the same id; every other rule (the
 * operator's, and Lifeboat's other ids) is kept as it was, in its order. Our rules get priorities above
 * every kept rule, because S3 refuses a configuration whose priorities repeat. The Role stays the
 * existing one when other rules depend on it. Returns null when no rule remains (delete the configuration).
 */
export function mergeReplicationRules(
  existing: ReplicationConfiguration | undefined,
  ours: ReplicationRule[],
  removeIds: string[] = [],
  roleArn?: string,
): ReplicationConfiguration | null {
  const drop = new Set([...ours.map((r) => r.ID), ...removeIds]);
  const kept = (existing?.Rules ?? []).filter((r) => !drop.has(r.ID));
  const top = Math.max(0, ...kept.map((r) => r.Priority ?? 0));
  const rules = [...kept, ...ours.map((r, i) => ({ ...r, Priority: top + i + 1 }))];
  if (rules.length === 0) return null;
  const role = kept.length > 0 && existing?.Role ? existing.Role : (roleArn ?? existing?.Role ?? '');
  return { Role: role, Rules: rules };
}

// --- lag from CloudWatch ---------------------------------------------------------------------

/** The window `lag` reads: S3 reports replication metrics once a minute. */
export const LAG_WINDOW_MINUTES = 15;
export const LAG_PERIOD_SECONDS = 60;

/** The AWS/S3 replication metrics Lifeboat reads, by query id, with the statistic that answers it. */
export const REPLICATION_METRICS = {
  latency: { name: 'ReplicationLatency', stat: 'Maximum' },
  pendingBytes: { name: 'BytesPendingReplication', stat: 'Maximum' },
  pendingOps: { name: 'OperationsPendingReplication', stat: 'Maximum' },
  failedOps: { name: 'OperationsFailedReplication', stat: 'Sum' },
} as const;
export type ReplicationMetricId = keyof typeof REPLICATION_METRICS;

/** The GetMetricData queries of one rule: dimensions SourceBucket, DestinationBucket and RuleId, exactly. */
export function replicationMetricQueries(
  sourceBucket: string,
  destinationBucket: string,
  ruleId: string,
  periodSeconds = LAG_PERIOD_SECONDS,
): MetricDataQuery[] {
  return (Object.keys(REPLICATION_METRICS) as ReplicationMetricId[]).map((id) => ({
    Id: id,
    ReturnData: true,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/S3',
        MetricName: REPLICATION_METRICS[id].name,
        Dimensions: [
          { Name: 'SourceBucket', Value: sourceBucket },
          { Name: 'DestinationBucket', Value: destinationBucket },
          { Name: 'RuleId', Value: ruleId },
        ],
      },
      Period: periodSeconds,
      Stat: REPLICATION_METRICS[id].stat,
    },
  }));
}

function points(results: MetricDataResult[], id: ReplicationMetricId): { t: number; v: number }[] {
  const r = results.find((x) => x.Id === id);
  const values = r?.Values ?? [];
  const times = r?.Timestamps ?? [];
  return values
    .map((v, i) => ({ v, t: times[i] ? new Date(times[i]).getTime() : 0 }))
    .filter((p) => Number.isFinite(p.v));
}

const latest = (ps: { t: number; v: number }[]): number | null =>
  ps.length === 0 ? null : ps.reduce((a, b) => (b.t > a.t ? b : a)).v;

/**
 * Lag of one rule from its GetMetricData results: the worst ReplicationLatency of the window (seconds),
 * the latest pending bytes and operations, and the failures summed over the window. No datapoints at
 * all means S3 reports nothing for the rule: its metrics are off (or S3 has not reported yet).
 */
export function lagFromMetrics(
  results: MetricDataResult[],
  what: { ruleId: string; from: string; to: string; measuredAt: string; windowMinutes?: number },
): ReplicationLag {
  const window = what.windowMinutes ?? LAG_WINDOW_MINUTES;
  const latency = points(results, 'latency');
  const pendingBytes = latest(points(results, 'pendingBytes'));
  const pendingOperations = latest(points(results, 'pendingOps'));
  const failed = points(results, 'failedOps');
  const failedOperations = failed.length === 0 ? null : failed.reduce((s, p) => s + p.v, 0);
  const lagSeconds = latency.length === 0 ? null : Math.max(...latency.map((p) => p.v));
  const base = { platform: 'aws' as const, measuredAt: what.measuredAt };
  const rule = `rule ${what.ruleId} (${what.from} -> ${what.to})`;
  if (
    lagSeconds === null &&
    pendingBytes === null &&
    pendingOperations === null &&
    failedOperations === null
  ) {
    return {
      ...base,
      caughtUp: false,
      lagSeconds: null,
      pendingBytes: null,
      pendingOperations: null,
      failedOperations: null,
      detail: `no CloudWatch AWS/S3 replication metrics for ${rule} in the last ${window} minutes: replication metrics are not enabled on the rule (turn on Replication Time Control or replication metrics), or S3 has not reported any yet`,
    };
  }
  const pendingKnown = [pendingBytes, pendingOperations].filter((x): x is number => x !== null);
  const caughtUp = pendingKnown.length > 0 && pendingKnown.every((x) => x === 0) && !(failedOperations ?? 0);
  const failures = failedOperations ? `; ${failedOperations} operations failed to replicate` : '';
  return {
    ...base,
    caughtUp,
    lagSeconds,
    pendingBytes,
    pendingOperations,
    failedOperations,
    detail: `CloudWatch AWS/S3 replication metrics of ${rule} over the last ${window} minutes (latency: worst of the window; pending: latest)${failures}`,
  };
}
