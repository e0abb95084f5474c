// Writes plans, undo manifests and failure lists to the reports location (an S3 bucket of the config).
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { ReportsLocation } from '../core/config';
import { S3Deps, s3For } from './deps';
import { s3ErrorName } from './s3/errors';
import { activitySignal } from './s3/signal';

export interface ReportsDeps extends S3Deps {
  reports?: ReportsLocation;
}

const ensured = new Set<string>();

export async function writeReport(
  deps: ReportsDeps,
  relativeKey: string,
  body: string,
  contentType: string,
): Promise<string> {
  const loc = deps.reports;
  if (!loc) {
    throw ApplicationFailure.nonRetryable(
      'no reports location is configured: set reports.region and reports.bucket in the configuration',
      'NoReportsLocation',
    );
  }
  const s3 = s3For(deps, loc.region);
  const id = `${loc.region}/${loc.bucket}`;
  if (!ensured.has(id)) {
    try {
      await s3.send(new CreateBucketCommand({ Bucket: loc.bucket }), { abortSignal: activitySignal() });
    } catch (err) {
      const name = s3ErrorName(err);
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw err;
    }
    ensured.add(id);
  }
  const key = `${loc.prefix}${relativeKey}`;
  await s3.send(
    new PutObjectCommand({ Bucket: loc.bucket, Key: key, Body: body, ContentType: contentType }),
    {
      abortSignal: activitySignal(),
    },
  );
  return `s3://${loc.bucket}/${key}`;
}
