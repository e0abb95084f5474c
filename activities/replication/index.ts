// Replication activities: thin adapters choosing the provider of the pair's platform.
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';
import type {
  BucketPair,
  ReplicationLag,
  ReplicationOptions,
  ReplicationState,
} from '../../core/replication';
import { activitySignal } from '../s3/signal';
import type { ReplicationProvider } from './provider';

export interface ReplicationDeps {
  /** The provider that carries replication for each region profile (by its `platform`). */
  replication?: Record<string, ReplicationProvider>;
}

export function providerFor(deps: ReplicationDeps, region: string): ReplicationProvider {
  const p = deps.replication?.[region];
  if (!p) {
    throw ApplicationFailure.nonRetryable(
      `no replication provider for region "${region}" on this worker (configured: ${Object.keys(deps.replication ?? {}).join(', ') || 'none'})`,
      ErrorType.UnknownRegion,
    );
  }
  return p;
}

export function createReplicationActivities(deps: ReplicationDeps) {
  // The pair's platform is the source region's (both sides of a pair are on the same platform).
  const of = (pair: BucketPair) => providerFor(deps, pair.source.region);
  return {
    replicationDescribe: (pair: BucketPair): Promise<ReplicationState> =>
      of(pair).describe(pair, activitySignal()),
    replicationEnable: (input: {
      pair: BucketPair;
      options?: ReplicationOptions;
    }): Promise<ReplicationState> => of(input.pair).enable(input.pair, input.options ?? {}, activitySignal()),
    replicationReverse: (pair: BucketPair): Promise<ReplicationState> =>
      of(pair).reverse(pair, activitySignal()),
    replicationRestore: (pair: BucketPair): Promise<ReplicationState> =>
      of(pair).restore(pair, activitySignal()),
    replicationLag: (pair: BucketPair): Promise<ReplicationLag> => of(pair).lag(pair, activitySignal()),
    promoteRegion: (input: { pair: BucketPair; region: string }): Promise<string[]> =>
      of(input.pair).promote(input.pair, input.region, activitySignal()),
    rejoinRegion: async (input: { pair: BucketPair; region: string }): Promise<string[]> => {
      const p = of(input.pair);
      if (!p.rejoin) return [`no platform step on ${p.platform}: the returning side takes writes as it is`];
      return p.rejoin(input.pair, input.region, activitySignal());
    },
  };
}

export type ReplicationActivities = ReturnType<typeof createReplicationActivities>;
