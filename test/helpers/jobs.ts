// Fixtures and waits shared by the tests of jobs on the real stack: a bad deploy with a known time T.
import { createBucket, getBytes, put, sleep, uniqueBucket, versionList } from './s3';

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

/** `count` keys holding "good-<key>" at T, all overwritten with "bad-<key>" after T. */
export async function corruptedBucket(
  label: string,
  count: number,
): Promise<{ bucket: string; at: string; keys: string[] }> {
  const bucket = await createBucket(uniqueBucket(label));
  const keys = Array.from({ length: count }, (_, i) => `objects/${String(i).padStart(5, '0')}.txt`);
  await parallel(keys, 32, (k) => put(bucket, k, `good-${k}`));
  await sleep(1100);
  const at = new Date().toISOString();
  await sleep(1100);
  await parallel(keys, 32, (k) => put(bucket, k, `bad-${k}`));
  return { bucket, at, keys };
}

/** Every key's version ids (delete markers included), oldest listing order kept. */
export async function versionsByKey(bucket: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const v of await versionList(bucket)) {
    const [key, id] = v.split('|');
    out.set(key, [...(out.get(key) ?? []), id]);
  }
  return out;
}

/**
 * After an in-place restore of a corrupted bucket: every key reads its bytes at T, keeps both of its
 * versions from before, and has exactly one version more (the restored copy): no copy made twice.
 */
export async function expectRestoredExactly(
  bucket: string,
  keys: string[],
  before: Map<string, string[]>,
): Promise<void> {
  const after = await versionsByKey(bucket);
  const wrong: string[] = [];
  await parallel(keys, 16, async (k) => {
    if ((await getBytes(bucket, k)).toString() !== `good-${k}`) wrong.push(`${k}: bytes`);
  });
  for (const k of keys) {
    const was = before.get(k) ?? [];
    const now = after.get(k) ?? [];
    if (was.some((id) => !now.includes(id))) wrong.push(`${k}: lost a version`);
    if (now.length !== was.length + 1) wrong.push(`${k}: ${now.length} versions, expected ${was.length + 1}`);
  }
  expect(after.size).toBe(keys.length);
  expect(wrong.slice(0, 10)).toEqual([]);
}
