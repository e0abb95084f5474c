// Fixtures and waits shared by the tests of jobs on the real stack: a bad deploy with a known time T.
import { createBucket, put, sleep, uniqueBucket } from './s3';

export async function parallel<T>(items: T[], limit: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (i < items.length) await fn(items[i++]);
    }),
  );
}

/** Polls `fn` until it returns something truthy; fails naming `what` after `seconds`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false | null>,
  seconds = 120,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export interface BadDeploy {
  bucket: string;
  /** Every key held "good-<key>" at T. */
  at: string;
  /** Overwritten with "bad-<key>" after T. */
  siteKeys: string[];
  /** Untouched after T (until corruptDocs). */
  docKeys: string[];
  corruptDocs: () => Promise<void>;
}

/** `site/` (every key overwritten after T) and `docs/` (left alone) in a fresh versioned bucket. */
export async function badDeploy(label: string, siteCount = 20, docCount = 5): Promise<BadDeploy> {
  const bucket = await createBucket(uniqueBucket(label));
  const siteKeys = Array.from(
    { length: siteCount },
    (_, i) => `site/page-${String(i).padStart(3, '0')}.html`,
  );
  const docKeys = Array.from({ length: docCount }, (_, i) => `docs/doc-${i}.txt`);
  await parallel([...siteKeys, ...docKeys], 16, (k) => put(bucket, k, `good-${k}`));
  await sleep(1100);
  const at = new Date().toISOString();
  await sleep(1100);
  await parallel(siteKeys, 16, (k) => put(bucket, k, `bad-${k}`));
  return {
    bucket,
    at,
    siteKeys,
    docKeys,
    corruptDocs: () => parallel(docKeys, 16, (k) => put(bucket, k, `bad-${k}`)),
  };
}
