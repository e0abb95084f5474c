// The input fields every writing job shares (its lease, its blast-radius gate), and the checks of inputs
// that a schema accepts but that cannot be what the operator meant.
import { z } from 'zod';

/** S3 launched on 2006-03-14: no bucket holds a version older than that. */
export const S3_EPOCH = '2006-03-14T00:00:00Z';

/** A lease not renewed for this long is taken for gone (its holder terminated, its worker dead for good). */
export const DEFAULT_LEASE_TTL_SECONDS = 600;

/** The lease fields of a job that writes to a bucket. */
export const leaseFields = {
  /** Wait for an overlapping job to end instead of being refused (the progress shows what is waited for). */
  waitForLease: z.boolean().default(false),
  /** Seconds without a renewal after which the job's lease is taken for gone (a dead worker). */
  leaseTtlSeconds: z
    .number()
    .int()
    .min(5)
    .max(24 * 3600)
    .default(DEFAULT_LEASE_TTL_SECONDS),
};

/** The blast-radius gate's fields (defaults and their reasons: core/gate.ts, DEFAULT_GATE). */
export const gateFields = {
  /** Go past the gate without asking (automation, drills); the counts are still recorded. */
  autoApprove: z.boolean().default(false),
  /** Stop for approval when the plan deletes more than this fraction of the keys in scope (default 0.1). */
  maxDeleteFraction: z.number().min(0).max(1).optional(),
  /** ... or more than this many keys (default 1000). */
  maxDeleteKeys: z.number().int().min(0).optional(),
  /** Stop for approval when the plan overwrites more than this fraction of the keys in scope (default 0.5). */
  maxOverwriteFraction: z.number().min(0).max(1).optional(),
  /** ... or more than this many keys (default 10000). */
  maxOverwriteKeys: z.number().int().min(0).optional(),
  /** How long the gate waits for `approve` or `reject` before the job stops with nothing written. */
  approvalTimeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600),
};

/**
 * A prefix that is a pattern or a URL, not a key prefix: S3 matches prefixes literally, so "site/*"
 * would match only keys that start with an asterisk. Returns why, or undefined when it is fine.
 */
export function prefixMistake(prefix: string): string | undefined {
  if (/^s3a?:\/\//i.test(prefix))
    return 'is a URL: give the bucket in "bucket" and only the key prefix here (e.g. "site/")';
  if (/[*?]/.test(prefix))
    return 'is a pattern: S3 matches prefixes literally, so "*" and "?" would only match keys that contain them (give e.g. "site/")';
  return undefined;
}

/** Adds an issue for each location's prefix that cannot be what was meant. */
export function refinePrefixes(
  locations: { path: (string | number)[]; prefix: string | undefined }[],
  ctx: z.RefinementCtx,
): void {
  for (const l of locations) {
    const why = l.prefix !== undefined ? prefixMistake(l.prefix) : undefined;
    if (why) ctx.addIssue({ code: 'custom', path: [...l.path, 'prefix'], message: why });
  }
}

/** An `at` before S3 existed is a mistyped year, not a moment any bucket can be restored to. */
export function refineAtAfterS3Epoch(at: string | undefined, ctx: z.RefinementCtx, allowed = false): void {
  if (allowed || at === undefined) return;
  if (Date.parse(at) < Date.parse(S3_EPOCH))
    ctx.addIssue({
      code: 'custom',
      path: ['at'],
      message: `is before S3 existed (${S3_EPOCH.slice(0, 10)}): a mistyped year? No bucket has a version that old`,
    });
}

/** Refusal of an `at` later than now, checked where the clock is known (the workflow's start). */
export function atInFuture(at: string | undefined, now: number): string | undefined {
  if (at === undefined) return undefined;
  const t = Date.parse(at);
  if (t <= now) return undefined;
  return `is in the future (${at}, now ${new Date(now).toISOString()}): there are no versions from then yet; give a past time`;
}
