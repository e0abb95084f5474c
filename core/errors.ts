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
  /** The endpoint does not support the request (e.g. PutBucketReplication on Ceph RGW). */
  ReplicationNotSupported: 'ReplicationNotSupported',
} as const;
export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** A refusal found while planning: nothing has been changed when one is returned. */
export interface Refusal {
  type: ErrorType;
  message: string;
}
