// Maps S3 errors to the error contract: conditions retrying cannot fix become non-retryable failures.
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../core/errors';

const ACCESS_ERRORS = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden']);

interface S3ErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export function s3ErrorName(err: unknown): string | undefined {
  const e = err as S3ErrorShape;
  return e?.Code ?? e?.name;
}

export function s3Status(err: unknown): number | undefined {
  return (err as S3ErrorShape)?.$metadata?.httpStatusCode;
}

/** Rethrows `err` as a non-retryable failure when retrying cannot help; otherwise returns it unchanged. */
export function classifyS3Error(err: unknown, where: string): unknown {
  if (err instanceof ApplicationFailure) return err;
  const name = s3ErrorName(err);
  if (name === 'NoSuchBucket') {
    return ApplicationFailure.nonRetryable(`bucket does not exist: ${where}`, ErrorType.NoSuchBucket);
  }
  if (name !== undefined && ACCESS_ERRORS.has(name)) {
    return ApplicationFailure.nonRetryable(
      `access denied (${name}) on ${where}: check the region profile's credentials`,
      ErrorType.AccessDenied,
    );
  }
  return err;
}
