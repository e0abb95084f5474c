// The error contract: failure types that retrying cannot fix. Workflows and the CLI branch on them.

export const ErrorType = {
  InvalidInput: 'InvalidInput',
  NoSuchBucket: 'NoSuchBucket',
  VersioningNotEnabled: 'VersioningNotEnabled',
  NoSuchKey: 'NoSuchKey',
  NoSuchVersion: 'NoSuchVersion',
  VersionIsDeleteMarker: 'VersionIsDeleteMarker',
  NoDeleteMarker: 'NoDeleteMarker',
  NoVersionAtTime: 'NoVersionAtTime',
  AccessDenied: 'AccessDenied',
  UnknownRegion: 'UnknownRegion',
  VerificationFailed: 'VerificationFailed',
  /** The replica (the side to fail over to) does not answer. */
  ReplicaUnavailable: 'ReplicaUnavailable',
  /** The source did not come back within the failback's wait. */
  SourceUnavailable: 'SourceUnavailable',
  ApprovalTimedOut: 'ApprovalTimedOut',
  FailoverRejected: 'FailoverRejected',
  /** A job stopped at the blast-radius gate was rejected: nothing was written. */
  GateRejected: 'GateRejected',
  /** An `at` before the oldest version in scope: the plan would delete every key (allowDeleteAll to mean it). */
  AtBeforeHistory: 'AtBeforeHistory',
  /** Another job holds a lease on an overlapping range of the bucket. */
  LeaseHeld: 'LeaseHeld',
  /** The job's lease was broken, or expired and was taken by another job: it stopped. */
  LeaseLost: 'LeaseLost',
  /** The endpoint does not support the request (e.g. PutBucketReplication on Ceph RGW). */
  ReplicationNotSupported: 'ReplicationNotSupported',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** A refusal found while planning: nothing has been changed when one is returned. */
export interface Refusal {
  type: ErrorType;
  message: string;
}
