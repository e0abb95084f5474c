// The Ceph RGW multisite replication provider: zonegroup sync policies, zone promotion, sync-status lag.
import { GetBucketVersioningCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import {
  bucketSyncStatusArgv,
  dataSyncInitArgv,
  LIFEBOAT_SYNC_GROUP,
  parseBucketSyncStatus,
  parsePeriod,
  parseSyncPolicy,
  parseSyncStatus,
  periodGetArgv,
  periodPullArgv,
  policyDirection,
  policyRules,
  promoteArgv,
  sourceLag,
  syncPolicyArgv,
  syncPolicyGetArgv,
  syncStatusArgv,
  type PeriodInfo,
  type SyncGroup,
  type ZonegroupInfo,
} from '../../core/ceph-sync';
import { ErrorType } from '../../core/errors';
import type {
  BucketPair,
  ReplicationDirection,
  ReplicationLag,
  ReplicationOptions,
  ReplicationState,
} from '../../core/replication';
import { classifyS3Error } from '../s3/errors';
import { CephErrorType, cephProcesses } from './ceph-processes';
import type { ReplicationProvider } from './provider';

/** What the provider knows about one region's zone (built by the worker from the region profile). */
export interface CephZoneDeps {
  zone: string;
  zonegroup: string;
  /** CEPH_CONF for radosgw-admin against this zone's cluster. */
  confPath?: string;
  /** Default ['radosgw-admin']. */
  adminCommand?: string[];
  /** Restarts this zone's gateway(s); without it, the operator must restart them after a change. */
  restartCommand?: string[];
  /** Gateway URL to probe; default the zone's first endpoint in the zonegroup. */
  endpoint?: string;
  /** The multisite system user's keys (for `period pull` on failback), resolved by the worker. */
  systemCredentials?: { accessKeyId: string; secretAccessKey: string };
}

export interface CephProviderDeps {
  /** By region name: every region of a pair handled by this provider. */
  zones: Record<string, CephZoneDeps>;
  /** S3 clients by region, to switch versioning on and report it (optional). */
  s3?: Record<string, S3Client>;
  /** Per radosgw-admin call (default 60 s). */
  commandTimeoutMs?: number;
  /** Per restart command (default 180 s). */
  restartTimeoutMs?: number;
  /** How long to wait for a restarted gateway to answer (default 120 s). */
  gatewayReadyTimeoutMs?: number;
  now?: () => Date;
}

/** Failure types of this provider, beyond core/errors.ts (defined beside the processes that raise them). */
export { CephErrorType };

interface PairZones {
  bucket: string;
  sourceRegion: string;
  replicaRegion: string;
  source: CephZoneDeps;
  replica: CephZoneDeps;
}

/** The Ceph provider adds one step the interface does not name: a returning zone rejoining the realm. */
export interface CephReplicationProvider extends ReplicationProvider {
  /**
   * Failback, before the switch back: on the zone of `region` (the old master, back after an outage),
   * pull the current period from the master zone and restart its gateway, so it syncs as a secondary
   * and catches up; and make the other zone walk the returning zone's buckets once (data sync init and a
   * gateway restart), since a crash can lose the data-log entries of its last writes. Nothing to do
   * when the zone is the master.
   */
  rejoin(pair: BucketPair, region: string, signal?: AbortSignal): Promise<string[]>;
}

export function createCephReplicationProvider(deps: CephProviderDeps): CephReplicationProvider {
  const commandTimeoutMs = deps.commandTimeoutMs ?? 60_000;
  const restartTimeoutMs = deps.restartTimeoutMs ?? 180_000;
  const gatewayReadyTimeoutMs = deps.gatewayReadyTimeoutMs ?? 120_000;
  const now = deps.now ?? (() => new Date());
  const { run, gatewayUp, endpointOf, restartGateway, restartLiveGateways } = cephProcesses({
    restartTimeoutMs,
    gatewayReadyTimeoutMs,
  });

  function zoneOf(region: string): CephZoneDeps {
    const z = deps.zones[region];
    if (!z) {
      throw ApplicationFailure.nonRetryable(
        `region "${region}" has no Ceph zone settings (regions.${region}.ceph with zone and zonegroup; known: ${Object.keys(deps.zones).join(', ') || 'none'})`,
        ErrorType.UnknownRegion,
      );
    }
    return z;
  }

  /** Ceph replicates every bucket of the zonegroup under its own name: a pair is one bucket in two zones. */
  function pairZones(pair: BucketPair): PairZones {
    if (pair.source.bucket !== pair.replica.bucket) {
      throw ApplicationFailure.nonRetryable(
        `Ceph multisite replicates a bucket under the same name in every zone: source bucket "${pair.source.bucket}" and replica bucket "${pair.replica.bucket}" must be the same`,
        ErrorType.InvalidInput,
      );
    }
    const source = zoneOf(pair.source.region);
    const replica = zoneOf(pair.replica.region);
    if (source.zonegroup !== replica.zonegroup || source.zone === replica.zone) {
      throw ApplicationFailure.nonRetryable(
        `regions "${pair.source.region}" (zone ${source.zone}, zonegroup ${source.zonegroup}) and "${pair.replica.region}" (zone ${replica.zone}, zonegroup ${replica.zonegroup}) must be two zones of one zonegroup`,
        ErrorType.InvalidInput,
      );
    }
    return {
      bucket: pair.source.bucket,
      sourceRegion: pair.source.region,
      replicaRegion: pair.replica.region,
      source,
      replica,
    };
  }

  async function admin(z: CephZoneDeps, argv: string[], signal?: AbortSignal): Promise<string> {
    const cmd = z.adminCommand ?? ['radosgw-admin'];
    const env = { ...process.env, ...(z.confPath ? { CEPH_CONF: z.confPath } : {}) };
    return (await run([...cmd, ...argv], env, commandTimeoutMs, signal)).stdout;
  }

  /** The newest period either zone's cluster holds (a returning old master still has a stale one). */
  async function newestPeriod(
    zones: CephZoneDeps[],
    signal?: AbortSignal,
  ): Promise<{ period: PeriodInfo; byZone: Map<string, PeriodInfo> }> {
    const byZone = new Map<string, PeriodInfo>();
    let lastError: unknown;
    for (const z of zones) {
      try {
        byZone.set(z.zone, parsePeriod(await admin(z, periodGetArgv(z.zone), signal)));
      } catch (err) {
        if (signal?.aborted) throw err;
        lastError = err;
      }
    }
    const all = [...byZone.values()];
    if (all.length === 0) throw lastError as Error;
    all.sort((a, b) => b.realmEpoch - a.realmEpoch || b.epoch - a.epoch);
    return { period: all[0], byZone };
  }

  function zonegroupIn(period: PeriodInfo, name: string): ZonegroupInfo {
    const zg = period.zonegroups.find((g) => g.name === name);
    if (!zg) {
      throw ApplicationFailure.nonRetryable(
        `zonegroup "${name}" is not in period ${period.id}: check regions.<r>.ceph.zonegroup`,
        CephErrorType.NotConfigured,
      );
    }
    return zg;
  }

  async function readPolicy(p: PairZones, signal?: AbortSignal) {
    const { period, byZone } = await newestPeriod([p.source, p.replica], signal);
    const zg = zonegroupIn(period, p.source.zonegroup);
    const master = [p.source, p.replica].find((z) => z.zone === zg.masterZone);
    // Read the policy from the cluster that holds the newest period (the master's, when it answers).
    const reader = [p.source, p.replica].find((z) => byZone.get(z.zone)?.id === period.id) ?? p.source;
    const groups = parseSyncPolicy(await admin(reader, syncPolicyGetArgv(zg.name, reader.zone), signal));
    return { period, zg, master, groups };
  }

  async function versioningOf(region: string, bucket: string, signal?: AbortSignal): Promise<string | null> {
    const s3 = deps.s3?.[region];
    if (!s3) return null;
    try {
      const out = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }), { abortSignal: signal });
      return out.Status ?? 'Off';
    } catch {
      return null;
    }
  }

  async function state(
    p: PairZones,
    groups: SyncGroup[],
    zg: ZonegroupInfo,
    notes: string[],
    signal?: AbortSignal,
  ) {
    const regionOfZone = { [p.source.zone]: p.sourceRegion, [p.replica.zone]: p.replicaRegion };
    const result: ReplicationState = {
      platform: 'ceph',
      direction: policyDirection(groups, p.bucket, p.source.zone, p.replica.zone),
      rules: policyRules(groups, regionOfZone),
      versioning: {
        source: await versioningOf(p.sourceRegion, p.bucket, signal),
        replica: await versioningOf(p.replicaRegion, p.bucket, signal),
      },
      notes: [
        `zonegroup ${zg.name}: master zone ${zg.masterZone || zg.masterZoneId}; the sync policy applies to every bucket of the zonegroup`,
        ...(groups.length === 0 ? ['no sync policy: multisite default, every bucket syncs both ways'] : []),
        ...notes,
      ],
    };
    return result;
  }

  /** Makes the zonegroup sync `direction` between the pair's zones; no commit or restart when it already does. */
  async function applyDirection(
    pair: BucketPair,
    direction: Exclude<ReplicationDirection, 'none'>,
    signal?: AbortSignal,
  ): Promise<ReplicationState> {
    const p = pairZones(pair);
    const { zg, master, groups } = await readPolicy(p, signal);
    if (!master) {
      throw ApplicationFailure.nonRetryable(
        `the master zone of zonegroup ${zg.name} is "${zg.masterZone || zg.masterZoneId}", neither ${p.source.zone} nor ${p.replica.zone}: promote one of them first`,
        ErrorType.InvalidInput,
      );
    }
    const ours = groups.filter((g) => g.id === LIFEBOAT_SYNC_GROUP);
    const current = policyDirection(groups, p.bucket, p.source.zone, p.replica.zone);
    if (current === direction && ours.length === 1 && ours[0].status === 'enabled') {
      return state(p, groups, zg, [`already ${direction}: nothing changed`], signal);
    }
    for (const argv of syncPolicyArgv(direction, p.source.zone, p.replica.zone, master.zone)) {
      await admin(master, argv, signal);
    }
    // Observed on 16.2.15: a committed policy change is not applied by running gateways until restarted.
    const restarts = await restartLiveGateways(
      [master, master === p.source ? p.replica : p.source],
      zg,
      signal,
    );
    const after = await readPolicy(p, signal);
    return state(
      p,
      after.groups,
      after.zg,
      [`sync policy set to ${direction}, period committed`, ...restarts],
      signal,
    );
  }

  /** `period pull` on `target` from the master zone's gateway; false when the master is unreachable. */
  async function pullPeriod(
    target: CephZoneDeps,
    region: string,
    master: CephZoneDeps,
    zg: ZonegroupInfo,
    signal?: AbortSignal,
  ) {
    const url = endpointOf(master, zg);
    if (!url || !(await gatewayUp(url))) return false;
    const keys = target.systemCredentials;
    if (!keys) {
      throw ApplicationFailure.nonRetryable(
        `zone ${target.zone} needs the multisite system user's keys for "period pull" from ${url}: set regions.${region}.ceph.systemAccessKeyVar and systemSecretKeyVar`,
        CephErrorType.NotConfigured,
      );
    }
    await admin(target, periodPullArgv(url, keys.accessKeyId, keys.secretAccessKey, target.zone), signal);
    return true;
  }

  const provider: CephReplicationProvider = {
    platform: 'ceph',

    async describe(pair, signal) {
      const p = pairZones(pair);
      const { zg, groups } = await readPolicy(p, signal);
      return state(p, groups, zg, [], signal);
    },

    async enable(pair: BucketPair, options: ReplicationOptions, signal?: AbortSignal) {
      const p = pairZones(pair);
      const unsupported = [
        options.prefix ? 'prefix' : '',
        options.tags && Object.keys(options.tags).length > 0 ? 'tags' : '',
        options.storageClass ? 'storageClass' : '',
        options.deleteMarkerReplication === false ? 'deleteMarkerReplication=false' : '',
      ].filter(Boolean);
      if (unsupported.length > 0) {
        throw ApplicationFailure.nonRetryable(
          `Ceph replication in Lifeboat is zonegroup-wide and whole-bucket (delete markers always replicate): ${unsupported.join(', ')} cannot be honoured`,
          ErrorType.InvalidInput,
        );
      }
      const s3 = deps.s3?.[p.sourceRegion];
      if (s3) {
        try {
          await s3.send(
            new PutBucketVersioningCommand({
              Bucket: p.bucket,
              VersioningConfiguration: { Status: 'Enabled' },
            }),
            { abortSignal: signal },
          );
        } catch (err) {
          throw classifyS3Error(err, `${p.sourceRegion}/${p.bucket}`);
        }
      }
      return applyDirection(pair, 'source-to-replica', signal);
    },

    // Both ways, not replica -> source only: while the replica takes the writes, the source's own last
    // writes that had not replicated before the outage still reach the replica when the source returns,
    // and versioned buckets keep both sides' versions of a key written on both.
    reverse: (pair, signal) => applyDirection(pair, 'both', signal),

    restore: (pair, signal) => applyDirection(pair, 'source-to-replica', signal),

    async lag(pair, signal): Promise<ReplicationLag> {
      const p = pairZones(pair);
      const { groups } = await readPolicy(p, signal);
      const direction = policyDirection(groups, p.bucket, p.source.zone, p.replica.zone);
      const measuredAt = now();
      const legs: [CephZoneDeps, CephZoneDeps][] =
        direction === 'source-to-replica'
          ? [[p.source, p.replica]]
          : direction === 'replica-to-source'
            ? [[p.replica, p.source]]
            : direction === 'both'
              ? [
                  [p.source, p.replica],
                  [p.replica, p.source],
                ]
              : [];
      if (legs.length === 0) {
        return {
          platform: 'ceph',
          measuredAt: measuredAt.toISOString(),
          caughtUp: false,
          lagSeconds: null,
          pendingBytes: null,
          pendingOperations: null,
          failedOperations: null,
          detail: `the sync policy replicates nothing between zones ${p.source.zone} and ${p.replica.zone}`,
        };
      }
      let caughtUp = true;
      let lagSeconds: number | null = 0;
      let pending = 0;
      const parts: string[] = [];
      for (const [from, to] of legs) {
        const zoneLag = sourceLag(
          parseSyncStatus(await admin(to, syncStatusArgv(to.zone), signal)),
          from.zone,
          measuredAt,
        );
        let bucketLine = '';
        let bucketCaughtUp = false;
        try {
          const b = parseBucketSyncStatus(await admin(to, bucketSyncStatusArgv(p.bucket, to.zone), signal));
          const src = b.sources.find((s) => s.zoneName === from.zone);
          bucketCaughtUp = !!src && src.caughtUp && src.fullSyncShards === 0;
          pending += src?.behindShards.length ?? 0;
          bucketLine = src
            ? `bucket ${bucketCaughtUp ? 'caught up' : `behind on ${src.behindShards.length} shards`}`
            : 'bucket has no sync source';
        } catch (err) {
          if (signal?.aborted) throw err;
          bucketLine = `bucket sync status unavailable: ${(err as Error).message}`;
        }
        // Seen once after a SIGKILL: a write the source acknowledged just before the crash is in its
        // bucket index log, but no data-log entry points at that bucket shard, so the zone says
        // "caught up" while the bucket is behind and the shard is not synced until it changes again.
        if (zoneLag.caughtUp && !bucketCaughtUp && bucketLine.startsWith('bucket behind')) {
          bucketLine +=
            ' while the zone is caught up (no data-log entry for it: it syncs when the bucket changes again)';
        }
        const legCaughtUp = zoneLag.caughtUp && bucketCaughtUp;
        caughtUp &&= legCaughtUp;
        pending += zoneLag.behindShards + zoneLag.fullSyncShards;
        if (!legCaughtUp) {
          lagSeconds =
            lagSeconds === null || zoneLag.lagSeconds === null
              ? null
              : Math.max(lagSeconds, zoneLag.lagSeconds);
        }
        parts.push(
          `${from.zone} -> ${to.zone}: data ${zoneLag.caughtUp ? 'caught up' : `behind on ${zoneLag.behindShards} shards`}${zoneLag.remark ? ` (${zoneLag.remark})` : ''}, ${bucketLine}`,
        );
      }
      return {
        platform: 'ceph',
        measuredAt: measuredAt.toISOString(),
        caughtUp,
        lagSeconds: caughtUp ? 0 : lagSeconds,
        pendingBytes: null,
        // Ceph reports shards behind, not objects: a shard count is the closest backlog measure it gives.
        pendingOperations: pending,
        failedOperations: null,
        detail: `radosgw-admin sync status and bucket sync status (pending = log shards behind): ${parts.join('; ')}`,
      };
    },

    async promote(pair, region, signal) {
      const p = pairZones(pair);
      const target = zoneOf(region);
      if (region !== p.sourceRegion && region !== p.replicaRegion) {
        throw ApplicationFailure.nonRetryable(
          `region "${region}" is neither side of the pair (${p.sourceRegion}, ${p.replicaRegion})`,
          ErrorType.InvalidInput,
        );
      }
      const other = target === p.source ? p.replica : p.source;
      const steps: string[] = [];
      const t0 = Date.now();
      const took = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
      const { period, byZone } = await newestPeriod([target, other], signal);
      const zg = zonegroupIn(period, target.zonegroup);
      const targetPeriod = byZone.get(target.zone);
      if (zg.masterZone === target.zone && targetPeriod?.id === period.id) {
        return [
          `zone ${target.zone} is already the master of zonegroup ${zg.name} (period ${period.id}): nothing to do`,
        ];
      }
      // Failback: the old master comes back with the period it had; fetch the current one from the
      // master before promoting, so the promotion builds on it (Ceph's documented failback step).
      if (zg.masterZone === other.zone && (await pullPeriod(target, region, other, zg, signal))) {
        steps.push(`pulled the current period from the master zone ${other.zone} [${took()}]`);
      } else if (zg.masterZone !== target.zone) {
        steps.push(
          `master zone ${zg.masterZone} is unreachable: promoting without pulling its period (disaster recovery)`,
        );
      }
      for (const argv of promoteArgv(target.zone, target.zonegroup)) await admin(target, argv, signal);
      steps.push(
        `made zone ${target.zone} master and default of zonegroup ${zg.name}, committed the period [${took()}]`,
      );
      steps.push(`${await restartGateway(target, zg, signal)} [${took()}]`);
      if (await gatewayUp(endpointOf(other, zg))) {
        steps.push(`${await restartGateway(other, zg, signal)} [${took()}]`);
      } else {
        steps.push(`zone ${other.zone}: gateway down, not restarted (pull the period on it when it returns)`);
      }
      const check = parsePeriod(await admin(target, periodGetArgv(target.zone), signal));
      const master = zonegroupIn(check, target.zonegroup).masterZone;
      if (master !== target.zone) {
        throw ApplicationFailure.nonRetryable(
          `after promotion, zonegroup ${target.zonegroup} still names "${master}" as master (period ${check.id}); see the gateway logs of zone ${target.zone}`,
          ErrorType.VerificationFailed,
        );
      }
      steps.push(`verified: period ${check.id} epoch ${check.epoch} names ${target.zone} master [${took()}]`);
      return steps;
    },

    async rejoin(pair, region, signal) {
      const p = pairZones(pair);
      const target = zoneOf(region);
      const other = target === p.source ? p.replica : p.source;
      const t0 = Date.now();
      const { period, byZone } = await newestPeriod([target, other], signal);
      const zg = zonegroupIn(period, target.zonegroup);
      if (zg.masterZone === target.zone) return [`zone ${target.zone} is the master: nothing to pull`];
      if (!(await pullPeriod(target, region, other, zg, signal))) {
        throw ApplicationFailure.retryable(
          `the master zone ${other.zone} does not answer at ${endpointOf(other, zg)}: cannot pull its period yet`,
          CephErrorType.CommandFailed,
        );
      }
      const steps = [
        `pulled period ${period.id} (zone ${target.zone} held ${byZone.get(target.zone)?.id ?? 'none readable'}) from the master zone ${other.zone}`,
      ];
      steps.push(await restartGateway(target, zg, signal));
      // A crash can lose the data-log entries of the returning zone's last writes (seen: the bucket index
      // log has the write, the other zone says "caught up" and never fetches it). A data sync init on the
      // other zone makes it walk every bucket shard of the returning zone once; restarting its gateway
      // starts that walk. Observed: the missing object arrived 18 s later, nothing was copied twice.
      await admin(other, dataSyncInitArgv(target.zone, other.zone), signal);
      steps.push(
        `zone ${other.zone}: data sync from ${target.zone} restarted from the logs' start (data sync init)`,
      );
      steps.push(await restartGateway(other, zg, signal));
      steps.push(`rejoined in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return steps;
    },
  };
  return provider;
}
