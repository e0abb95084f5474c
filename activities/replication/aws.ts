// The AWS replication provider: S3 cross-region replication rules, versioning, and lag from CloudWatch.
import { CloudWatchClient, GetMetricDataCommand, MetricDataResult } from '@aws-sdk/client-cloudwatch';
import {
  DeleteBucketReplicationCommand,
  GetBucketReplicationCommand,
  GetBucketVersioningCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  ReplicationConfiguration,
  ReplicationRule,
  S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import {
  BucketRef,
  buildReplicationRule,
  forwardRuleId,
  isRefusal,
  LAG_WINDOW_MINUTES,
  lagFromMetrics,
  mergeReplicationRules,
  optionsOfRule,
  parseReplicationRules,
  replicationMetricQueries,
  reverseRuleId,
} from '../../core/aws-replication';
import type { LifeboatConfig } from '../../core/config';
import { ErrorType } from '../../core/errors';
import type {
  BucketPair,
  ReplicationDirection,
  ReplicationLag,
  ReplicationOptions,
  ReplicationRuleSummary,
  ReplicationState,
} from '../../core/replication';
import { classifyS3Error, s3ErrorName, s3Status } from '../s3/errors';
import { activitySignal } from '../s3/signal';
import type { ReplicationProvider } from './provider';

export interface AwsReplicationDeps {
  /** S3 client of each region profile. */
  s3: Record<string, S3Client>;
  /** CloudWatch client of each region profile (S3 reports replication metrics in the source's region). */
  cloudwatch: Record<string, CloudWatchClient>;
  /** Signing region (AWS region code) of each region profile, for the people reading notes. */
  regionCodes?: Record<string, string>;
  /** IAM role S3 assumes for the rules on each region profile's buckets (profile `replicationRoleArn`). */
  replicationRoleArns?: Record<string, string>;
}

/** The provider's dependencies from the configuration and the worker's clients. */
export function awsReplicationDeps(
  config: LifeboatConfig,
  s3: Record<string, S3Client>,
  cloudwatch: Record<string, CloudWatchClient>,
): AwsReplicationDeps {
  const regions = Object.entries(config.regions);
  return {
    s3,
    cloudwatch,
    regionCodes: Object.fromEntries(regions.map(([name, p]) => [name, p.region])),
    replicationRoleArns: Object.fromEntries(
      regions.flatMap(([name, p]) => (p.replicationRoleArn ? [[name, p.replicationRoleArn]] : [])),
    ),
  };
}

export const AWS_PROMOTE_NOTE =
  'no platform step: AWS S3 buckets in both regions accept writes; direct access is switched by the active-region record';

const CEPH_HINT =
  'Ceph RGW configures replication through multisite sync policies; set platform: ceph for this region';

const INVALID_REQUEST = new Set(['InvalidRequest', 'InvalidArgument', 'MalformedXML', 'InvalidStorageClass']);

function clientOf<C>(clients: Record<string, C>, region: string, what: string): C {
  const client = clients[region];
  if (!client) {
    throw ApplicationFailure.nonRetryable(
      `region "${region}" has no ${what} client on this worker (known: ${Object.keys(clients).join(', ')})`,
      ErrorType.UnknownRegion,
    );
  }
  return client;
}

/** S3's answers retrying cannot change become non-retryable failures with a type from core/errors.ts. */
function classify(err: unknown, operation: string, side: BucketRef): unknown {
  const where = `${side.region}/${side.bucket}`;
  const name = s3ErrorName(err);
  if (name === 'MethodNotAllowed' || name === 'NotImplemented' || s3Status(err) === 405) {
    return ApplicationFailure.nonRetryable(
      `this endpoint does not support ${operation} (${where}): ${CEPH_HINT}`,
      ErrorType.ReplicationNotSupported,
    );
  }
  if (name !== undefined && INVALID_REQUEST.has(name)) {
    return ApplicationFailure.nonRetryable(
      `S3 refused ${operation} on ${where} (${name}): ${(err as Error).message}`,
      ErrorType.InvalidInput,
    );
  }
  return classifyS3Error(err, where);
}

function classifyCloudWatchError(err: unknown, where: string): unknown {
  const name = s3ErrorName(err);
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnrecognizedClientException') {
    return ApplicationFailure.nonRetryable(
      `access denied (${name}) on ${where}: the region profile's credentials need cloudwatch:GetMetricData`,
      ErrorType.AccessDenied,
    );
  }
  return err;
}

/** The side did not answer (connection refused, timeout, 5xx): during an outage that is the source. */
function isUnreachable(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted || err instanceof ApplicationFailure) return false;
  const status = s3Status(err);
  return status === undefined || status >= 500;
}

interface SideState {
  reachable: boolean;
  versioning: string | null;
  config: ReplicationConfiguration | undefined;
}

export function createAwsReplicationProvider(deps: AwsReplicationDeps): ReplicationProvider {
  const s3 = (region: string) => clientOf(deps.s3, region, 'S3');
  const code = (region: string) => deps.regionCodes?.[region] ?? region;

  async function send<T>(side: BucketRef, operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw classify(err, operation, side);
    }
  }

  async function getReplication(side: BucketRef, signal?: AbortSignal) {
    try {
      const out = await s3(side.region).send(new GetBucketReplicationCommand({ Bucket: side.bucket }), {
        abortSignal: signal,
      });
      return out.ReplicationConfiguration;
    } catch (err) {
      if (s3ErrorName(err) === 'ReplicationConfigurationNotFoundError') return undefined;
      throw classify(err, 'GetBucketReplication', side);
    }
  }

  async function putReplication(
    side: BucketRef,
    config: ReplicationConfiguration | null,
    signal?: AbortSignal,
  ): Promise<void> {
    const client = s3(side.region);
    if (config === null) {
      await send(side, 'DeleteBucketReplication', () =>
        client.send(new DeleteBucketReplicationCommand({ Bucket: side.bucket }), { abortSignal: signal }),
      );
      return;
    }
    await send(side, 'PutBucketReplication', () =>
      client.send(
        new PutBucketReplicationCommand({ Bucket: side.bucket, ReplicationConfiguration: config }),
        {
          abortSignal: signal,
        },
      ),
    );
  }

  async function enableVersioning(side: BucketRef, signal?: AbortSignal): Promise<void> {
    await send(side, 'PutBucketVersioning', () =>
      s3(side.region).send(
        new PutBucketVersioningCommand({
          Bucket: side.bucket,
          VersioningConfiguration: { Status: 'Enabled' },
        }),
        { abortSignal: signal },
      ),
    );
  }

  /** Versioning and replication of one side; an unreachable side is reported, not thrown. */
  async function readSide(side: BucketRef, signal?: AbortSignal): Promise<SideState> {
    try {
      const v = await send(side, 'GetBucketVersioning', () =>
        s3(side.region).send(new GetBucketVersioningCommand({ Bucket: side.bucket }), {
          abortSignal: signal,
        }),
      );
      return { reachable: true, versioning: v.Status ?? 'Off', config: await getReplication(side, signal) };
    } catch (err) {
      if (isUnreachable(err, signal)) return { reachable: false, versioning: null, config: undefined };
      throw err;
    }
  }

  function withRole(
    merged: ReplicationConfiguration | null,
    side: BucketRef,
    fallbackRole?: string,
  ): ReplicationConfiguration | null {
    if (merged === null || merged.Role) return merged;
    if (fallbackRole) return { ...merged, Role: fallbackRole };
    throw ApplicationFailure.nonRetryable(
      `no IAM role for the replication rules of ${side.region}/${side.bucket}: set replicationRoleArn on region profile "${side.region}" (or pass roleArn)`,
      ErrorType.InvalidInput,
    );
  }

  function stateOf(
    pair: BucketPair,
    source: SideState,
    replica: SideState,
    extra: string[],
  ): ReplicationState {
    const sides = [pair.source, pair.replica];
    const fwd = parseReplicationRules(source.config, pair.source, sides);
    const back = parseReplicationRules(replica.config, pair.replica, sides);
    const forward = fwd.rules.some((r) => r.enabled);
    const backward = back.rules.some((r) => r.enabled);
    const direction: ReplicationDirection =
      forward && backward ? 'both' : forward ? 'source-to-replica' : backward ? 'replica-to-source' : 'none';
    const notes = [...extra];
    for (const [label, side, state] of [
      ['source', pair.source, source],
      ['replica', pair.replica, replica],
    ] as const) {
      const where = `${side.region}/${side.bucket}`;
      if (!state.reachable)
        notes.push(`the ${label} ${where} did not answer: its rules and versioning are unknown`);
      else if (state.versioning !== 'Enabled')
        notes.push(
          `versioning is ${state.versioning} on the ${label} ${where}: replication needs it Enabled`,
        );
    }
    const others = fwd.otherRules + back.otherRules;
    if (others > 0)
      notes.push(`${others} other replication rule(s) point outside this pair and are left alone`);
    if (direction === 'both') notes.push('replication runs both ways: writes on either side reach the other');
    if (direction === 'none' && source.reachable && replica.reachable)
      notes.push('no enabled replication rule between the two buckets');
    const rules: ReplicationRuleSummary[] = [...fwd.rules, ...back.rules];
    return {
      platform: 'aws',
      direction,
      rules,
      versioning: { source: source.versioning, replica: replica.versioning },
      notes,
    };
  }

  async function describeWith(pair: BucketPair, extra: string[], signal?: AbortSignal) {
    const [source, replica] = await Promise.all([
      readSide(pair.source, signal),
      readSide(pair.replica, signal),
    ]);
    return stateOf(pair, source, replica, extra);
  }

  function ruleOrThrow(from: BucketRef, to: BucketRef, options: ReplicationOptions): ReplicationRule {
    const rule = buildReplicationRule(from, to, options);
    if (isRefusal(rule)) throw ApplicationFailure.nonRetryable(rule.message, rule.type);
    return rule;
  }

  const findRule = (config: ReplicationConfiguration | undefined, id: string) =>
    config?.Rules?.find((r) => r.ID === id);

  /** The configuration with one rule switched on or off and everything else as it was. */
  const withStatus = (
    config: ReplicationConfiguration | undefined,
    id: string,
    Status: 'Enabled' | 'Disabled',
  ): ReplicationConfiguration => ({
    Role: config?.Role,
    Rules: (config?.Rules ?? []).map((r) => (r.ID === id ? { ...r, Status } : r)),
  });

  return {
    platform: 'aws',

    async describe(pair, signal = activitySignal()) {
      return describeWith(pair, [], signal);
    },

    async enable(pair, options, signal = activitySignal()) {
      const rule = ruleOrThrow(pair.source, pair.replica, options);
      const existing = await getReplication(pair.source, signal);
      const role = options.roleArn ?? deps.replicationRoleArns?.[pair.source.region];
      const merged = withRole(mergeReplicationRules(existing, [rule], [], role), pair.source);
      // S3 refuses a rule unless both buckets are versioned: the destination first, then the source.
      await enableVersioning(pair.replica, signal);
      await enableVersioning(pair.source, signal);
      await putReplication(pair.source, merged, signal);
      return describeWith(
        pair,
        [`rule ${rule.ID} on ${pair.source.region}/${pair.source.bucket} is set`],
        signal,
      );
    },

    async reverse(pair, signal = activitySignal()) {
      const notes: string[] = [];
      const fwdId = forwardRuleId(pair);
      let source: { config: ReplicationConfiguration | undefined } | null;
      try {
        source = { config: await getReplication(pair.source, signal) };
      } catch (err) {
        if (!isUnreachable(err, signal)) throw err;
        source = null;
      }
      const fwd = findRule(source?.config, fwdId);
      // The way back mirrors the forward rule's filter, delete markers and metrics; not its storage class,
      // which was chosen for the replica.
      const options: ReplicationOptions = fwd ? { ...optionsOfRule(fwd), storageClass: undefined } : {};
      const rule = ruleOrThrow(pair.replica, pair.source, options);
      const existing = await getReplication(pair.replica, signal);
      const role = deps.replicationRoleArns?.[pair.replica.region];
      const merged = withRole(
        mergeReplicationRules(existing, [rule], [], role),
        pair.replica,
        source?.config?.Role,
      );
      await enableVersioning(pair.replica, signal);
      if (source) await enableVersioning(pair.source, signal);
      await putReplication(pair.replica, merged, signal);
      notes.push(
        `rule ${rule.ID} on ${pair.replica.region}/${pair.replica.bucket} replicates back to the source`,
      );
      if (!source) {
        notes.push(
          `the source ${pair.source.region}/${pair.source.bucket} did not answer: its rule ${fwdId} was left as it was; run reverse again once it is back`,
        );
      } else if (fwd && fwd.Status !== 'Disabled') {
        // Disabled rather than removed: restore turns it back on with the settings the operator chose.
        await putReplication(pair.source, withStatus(source.config, fwdId, 'Disabled'), signal);
        notes.push(`rule ${fwdId} on ${pair.source.region}/${pair.source.bucket} is disabled until restore`);
      }
      return describeWith(pair, notes, signal);
    },

    async restore(pair, signal = activitySignal()) {
      const fwdId = forwardRuleId(pair);
      const backId = reverseRuleId(pair);
      const [sourceConfig, replicaConfig] = await Promise.all([
        getReplication(pair.source, signal),
        getReplication(pair.replica, signal),
      ]);
      const notes: string[] = [];
      // Forward first: for a moment both ways run, rather than neither.
      const fwd = findRule(sourceConfig, fwdId);
      const back = findRule(replicaConfig, backId);
      await enableVersioning(pair.replica, signal);
      await enableVersioning(pair.source, signal);
      if (fwd) {
        if (fwd.Status !== 'Enabled') {
          await putReplication(pair.source, withStatus(sourceConfig, fwdId, 'Enabled'), signal);
        }
      } else {
        const options: ReplicationOptions = back ? optionsOfRule(back) : {};
        const rule = ruleOrThrow(pair.source, pair.replica, options);
        const role = deps.replicationRoleArns?.[pair.source.region];
        const merged = mergeReplicationRules(sourceConfig, [rule], [], role);
        await putReplication(pair.source, withRole(merged, pair.source, replicaConfig?.Role), signal);
      }
      notes.push(`rule ${fwdId} on ${pair.source.region}/${pair.source.bucket} is enabled`);
      if (back) {
        const rest = mergeReplicationRules(replicaConfig, [], [backId]);
        await putReplication(pair.replica, rest, signal);
        notes.push(
          rest === null
            ? `rule ${backId} removed: ${pair.replica.region}/${pair.replica.bucket} has no replication configuration left`
            : `rule ${backId} removed from ${pair.replica.region}/${pair.replica.bucket}; its other rules are kept`,
        );
      }
      return describeWith(pair, notes, signal);
    },

    async lag(pair, signal = activitySignal()): Promise<ReplicationLag> {
      // The current direction: back to the source while the replica holds Lifeboat's enabled reverse rule.
      let reversed = false;
      try {
        reversed =
          findRule(await getReplication(pair.replica, signal), reverseRuleId(pair))?.Status === 'Enabled';
      } catch (err) {
        if (!isUnreachable(err, signal)) throw err;
      }
      const [from, to, ruleId] = reversed
        ? [pair.replica, pair.source, reverseRuleId(pair)]
        : [pair.source, pair.replica, forwardRuleId(pair)];
      const cloudwatch = clientOf(deps.cloudwatch, from.region, 'CloudWatch');
      const end = new Date();
      const start = new Date(end.getTime() - LAG_WINDOW_MINUTES * 60_000);
      const queries = replicationMetricQueries(from.bucket, to.bucket, ruleId);
      const results: MetricDataResult[] = [];
      let NextToken: string | undefined;
      do {
        const page = await cloudwatch
          .send(
            new GetMetricDataCommand({
              MetricDataQueries: queries,
              StartTime: start,
              EndTime: end,
              ScanBy: 'TimestampDescending',
              NextToken,
            }),
            { abortSignal: signal },
          )
          .catch((err: unknown) => {
            throw classifyCloudWatchError(err, `CloudWatch of ${from.region} (${code(from.region)})`);
          });
        for (const r of page.MetricDataResults ?? []) {
          const seen = results.find((x) => x.Id === r.Id);
          if (seen) {
            seen.Values = [...(seen.Values ?? []), ...(r.Values ?? [])];
            seen.Timestamps = [...(seen.Timestamps ?? []), ...(r.Timestamps ?? [])];
          } else results.push({ ...r });
        }
        NextToken = page.NextToken;
      } while (NextToken);
      return lagFromMetrics(results, {
        ruleId,
        from: `${from.region}/${from.bucket}`,
        to: `${to.region}/${to.bucket}`,
        measuredAt: end.toISOString(),
      });
    },

    async promote(pair, region) {
      if (region !== pair.source.region && region !== pair.replica.region) {
        throw ApplicationFailure.nonRetryable(
          `region "${region}" is neither side of the pair (${pair.source.region}, ${pair.replica.region})`,
          ErrorType.UnknownRegion,
        );
      }
      return [AWS_PROMOTE_NOTE];
    },
  };
}
