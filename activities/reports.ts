// Writes plans, undo manifests and failure lists to the reports location (an S3 bucket of the config).
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { ReportsLocation } from '../core/config';
import { S3Deps, s3For } from './deps';
import { s3ErrorName } from './s3/errors';
import { activitySignal } from './s3/signal';

export interface ReportsDeps extends S3Deps {
  reports?: ReportsLocation;
}

const ensured = new Set<string>();

function reportsLocation(deps: ReportsDeps) {
  const loc = deps.reports;
  if (!loc) {
    throw ApplicationFailure.nonRetryable(
      'no reports location is configured: set reports.region and reports.bucket in the configuration',
      'NoReportsLocation',
    );
  }
  return { ...loc, s3: s3For(deps, loc.region) };
}

/** A report's text, or undefined when there is no such report (nor reports bucket). */
export async function readReport(deps: ReportsDeps, relativeKey: string): Promise<string | undefined> {
  const loc = reportsLocation(deps);
  try {
    const out = await loc.s3.send(
      new GetObjectCommand({ Bucket: loc.bucket, Key: `${loc.prefix}${relativeKey}` }),
      { abortSignal: activitySignal() },
    );
    return await out.Body!.transformToString();
  } catch (err) {
    const name = s3ErrorName(err);
    if (name === 'NoSuchKey' || name === 'NoSuchBucket') return undefined;
    throw err;
  }
}

/**
 * Reports under a relative prefix, relative to the reports location: with `delimiter`, the "folders"
 * one level down (ending in '/'), else the files. At most `max`, after `startAfter`.
 */
export async function listReports(
  deps: ReportsDeps,
  relativePrefix: string,
  options: { delimiter?: boolean; startAfter?: string; max?: number } = {},
): Promise<{ names: string[]; truncated: boolean }> {
  const loc = reportsLocation(deps);
  const names: string[] = [];
  const max = options.max ?? Number.MAX_SAFE_INTEGER;
  let token: string | undefined;
  try {
    for (;;) {
      const out = await loc.s3.send(
        new ListObjectsV2Command({
          Bucket: loc.bucket,
          Prefix: `${loc.prefix}${relativePrefix}`,
          Delimiter: options.delimiter ? '/' : undefined,
          StartAfter:
            token || options.startAfter === undefined ? undefined : `${loc.prefix}${options.startAfter}`,
          ContinuationToken: token,
          MaxKeys: Math.min(1000, max - names.length),
        }),
        { abortSignal: activitySignal() },
      );
      const found = options.delimiter
        ? (out.CommonPrefixes ?? []).map((p) => p.Prefix!)
        : (out.Contents ?? []).map((o) => o.Key!);
      names.push(...found.map((k) => k.slice(loc.prefix.length)));
      if (!out.IsTruncated) return { names, truncated: false };
      if (names.length >= max) return { names, truncated: true };
      token = out.NextContinuationToken;
    }
  } catch (err) {
    if (s3ErrorName(err) === 'NoSuchBucket') return { names, truncated: false };
    throw err;
  }
}

export async function writeReport(
  deps: ReportsDeps,
  relativeKey: string,
  body: string,
  contentType: string,
): Promise<string> {
  const loc = reportsLocation(deps);
  const s3 = loc.s3;
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
