// Building blocks shared by the workflow input schemas.
import { z } from 'zod';

const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Date.parse rolls 2026-02-30 over to March 2nd: check the calendar date exists. */
function isRealInstant(s: string): boolean {
  const m = ISO_WITH_OFFSET.exec(s);
  if (!m || Number.isNaN(Date.parse(s))) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
}

/** An instant: ISO 8601 with an explicit UTC offset, so no run depends on a machine's time zone. */
export const isoInstant = z.string().refine(isRealInstant, {
  message:
    'expected an ISO 8601 time with a UTC offset, e.g. 2026-11-26T10:41:00Z or 2026-11-26T11:41:00+01:00',
});

/** S3 bucket naming rules (the strict, DNS-compatible form). */
export const bucketName = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
  message: 'expected a bucket name: 3 to 63 lowercase letters, digits, dots or hyphens',
});

/** A region profile name from the configuration (not an AWS region code). */
export const regionName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, {
  message: 'expected a region profile name from the configuration',
});

/** S3 keys are at most 1024 bytes of UTF-8. */
export const objectKey = z
  .string()
  .min(1, { message: 'expected a non-empty object key' })
  .refine((k) => new TextEncoder().encode(k).length <= 1024, {
    message: 'expected a key of at most 1024 bytes',
  });

export const versionId = z.string().min(1, { message: 'expected a version id' }).max(1024);
