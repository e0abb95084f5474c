// What activities are given by the worker: clients built once per region profile.
import { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../core/errors';

export interface S3Deps {
  /** The S3 client of a region profile. */
  s3: Record<string, S3Client>;
  /** Multipart copy threshold (bytes); S3's 5 GiB by default, lowered in tests. */
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
}

export function s3For(deps: S3Deps, region: string): S3Client {
  const client = deps.s3[region];
  if (!client) {
    throw ApplicationFailure.nonRetryable(
      `region "${region}" is not configured on this worker (known: ${Object.keys(deps.s3).join(', ')})`,
      ErrorType.UnknownRegion,
    );
  }
  return client;
}
