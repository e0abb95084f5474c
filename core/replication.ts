// Replication set-up, lag and direction as plain data: what every replication provider reports.
import { z } from 'zod';
import { bucketName, regionName } from './schema';

/** A protected bucket and its replica: replication runs from `source` to `replica` in normal times. */
export const BucketPair = z
  .object({
    source: z.object({ region: regionName, bucket: bucketName }).strict(),
    replica: z.object({ region: regionName, bucket: bucketName }).strict(),
  })
  .strict();
export type BucketPair = z.infer<typeof BucketPair>;

export type Platform = 'aws' | 'ceph';

/** Which way objects flow between the two sides of a pair right now. */
export type ReplicationDirection = 'source-to-replica' | 'replica-to-source' | 'both' | 'none';

/** One replication rule as the platform holds it (S3 CRR rule, Ceph sync flow/pipe), summarised. */
export interface ReplicationRuleSummary {
  id: string;
  enabled: boolean;
  /** Key prefix filter ('' = whole bucket). */
  prefix: string;
  /** Tag filters (AND). */
  tags?: Record<string, string>;
  fromRegion: string;
  toRegion: string;
  /** Destination storage class (S3 only). */
  storageClass?: string;
  deleteMarkerReplication?: boolean;
  /** S3 Replication Time Control (and its metrics) on. */
  replicationTimeControl?: boolean;
}

export interface ReplicationState {
  platform: Platform;
  direction: ReplicationDirection;
  rules: ReplicationRuleSummary[];
  /** Versioning status of each side ('Enabled', 'Suspended', 'Off'); null when that side is unreachable. */
  versioning: { source: string | null; replica: string | null };
  /** Human remarks: what is missing or odd, one sentence each. */
  notes: string[];
}

/** How far the replica is behind, as the platform can tell (null = the platform does not say). */
export interface ReplicationLag {
  platform: Platform;
  /** ISO instant of the measurement. */
  measuredAt: string;
  /** The platform says the replica has every change. */
  caughtUp: boolean;
  /** Age in seconds of the oldest change the replica does not have yet (RPO estimate). */
  lagSeconds: number | null;
  pendingBytes: number | null;
  pendingOperations: number | null;
  failedOperations: number | null;
  /** One line for people: where the numbers come from. */
  detail: string;
}

/** Options of `enableReplication` (AWS maps them to a CRR rule; Ceph to a sync flow and pipe). */
export interface ReplicationOptions {
  prefix?: string;
  tags?: Record<string, string>;
  storageClass?: string;
  deleteMarkerReplication?: boolean;
  replicationTimeControl?: boolean;
  /** S3 replication metrics without RTC (AWS only; RTC turns them on anyway): what `lag` reads. */
  replicationMetrics?: boolean;
  /** Role ARN S3 assumes to replicate (AWS only). */
  roleArn?: string;
}
