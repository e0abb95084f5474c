// The one interface behind which each platform carries replication and failover (AWS CRR, Ceph multisite).
import type {
  BucketPair,
  Platform,
  ReplicationLag,
  ReplicationOptions,
  ReplicationState,
} from '../../core/replication';

/**
 * What the cross-region procedures need from a platform. Every method is idempotent (calling it
 * twice leaves the same state), takes the activity's abort signal, and throws
 * ApplicationFailure.nonRetryable for conditions retrying cannot fix (no such bucket, access denied,
 * the platform does not support the request), with a `type` from core/errors.ts.
 */
export interface ReplicationProvider {
  readonly platform: Platform;
  /** The replication set-up between the two sides of the pair now. */
  describe(pair: BucketPair, signal?: AbortSignal): Promise<ReplicationState>;
  /** Replicate source -> replica (versioning on both sides first). */
  enable(pair: BucketPair, options: ReplicationOptions, signal?: AbortSignal): Promise<ReplicationState>;
  /** Replicate replica -> source instead: writes made on the replica during an outage flow back. */
  reverse(pair: BucketPair, signal?: AbortSignal): Promise<ReplicationState>;
  /** Back to source -> replica after a failback. */
  restore(pair: BucketPair, signal?: AbortSignal): Promise<ReplicationState>;
  /** Lag, backlog and failures of source -> replica (or of the current direction). */
  lag(pair: BucketPair, signal?: AbortSignal): Promise<ReplicationLag>;
  /**
   * Platform steps that make `region` the side that accepts every write (Ceph: promote its zone to
   * master; AWS: nothing beyond the active-region record, or a Multi-Region Access Point route).
   * Returns what was done, one sentence per step, for the step log.
   */
  promote(pair: BucketPair, region: string, signal?: AbortSignal): Promise<string[]>;
  /**
   * Failback, once `region` answers again and before the catch-up is watched: platform steps that let
   * the returning side sync again (Ceph: pull the current period, restart its gateway, re-walk its
   * logs). Absent where there is nothing to do (AWS).
   */
  rejoin?(pair: BucketPair, region: string, signal?: AbortSignal): Promise<string[]>;
}
