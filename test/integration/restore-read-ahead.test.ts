// The bulk engine's read-ahead on real Ceph RGW: while a page copies, the next page's source listing is
// fetched, and the next page of the same job starts from it instead of listing again. Observed by
// counting the ListObjectVersions requests the activities' S3 client sends.
import { ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createRestoreActivities, RestorePageInput, RestorePageResult } from '../../activities/restore';
import { createS3Client } from '../../worker/clients';
import { config, createBucket, getBytes, put, uniqueBucket } from '../helpers/s3';

/** A real client for the primary zone that counts the version listings it sends. */
function countingClient(): { s3: S3Client; listings: () => number } {
  const s3 = createS3Client('primary', config.regions.primary);
  let n = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === ListObjectVersionsCommand.name) n++;
      return next(args);
    },
    { step: 'initialize', name: 'countListings' },
  );
  return { s3, listings: () => n };
}

const KEYS = Array.from({ length: 25 }, (_, i) => `data/k${String(i).padStart(2, '0')}`);

async function fixture() {
  const source = await createBucket(uniqueBucket('ra-src'));
  const target = await createBucket(uniqueBucket('ra-dst'));
  for (const key of KEYS) await put(source, key, `bytes of ${key}`);
  // Every version above is at or before T.
  const at = new Date(Date.now() + 2000).toISOString();
  const { s3, listings } = countingClient();
  const acts = createRestoreActivities({ s3: { primary: s3 }, reports: config.reports });
  const env = new MockActivityEnvironment();
  const page = (jobId: string, pageNumber: number, afterKey?: string): Promise<RestorePageResult> => {
    const input: RestorePageInput = {
      jobId,
      pageNumber,
      source: { region: 'primary', bucket: source, prefix: 'data/' },
      target: { region: 'primary', bucket: target, prefix: 'data/' },
      at,
      deleteKeysCreatedAfter: false,
      skipExisting: true,
      dryRun: false,
      concurrency: 4,
      // 10 entries a listing request: a page ends before the listing's last key (it may go on). RGW
      // starts a listing at its marker (the key before the page, left out), so later pages hold 8.
      pageSize: 10,
      afterKey,
    };
    return env.run(acts.restorePage, input);
  };
  return { target, page, listings };
}

describe('read-ahead of the next page listing', () => {
  it('lists each page once: the next page starts from the listing fetched while this one copied', async () => {
    const { target, page, listings } = await fixture();
    const job = uniqueBucket('job-ra');

    const first = await page(job, 1);
    expect(first.done).toBe(false);
    expect(first.applied.copy).toBe(9);
    // Its own listing, and the next page's, started while its keys were copied.
    expect(listings()).toBe(2);

    const second = await page(job, 2, first.nextAfterKey);
    expect(second.applied.copy).toBe(8);
    expect(listings()).toBe(3); // took the prefetched listing, fetched the third page's

    const third = await page(job, 3, second.nextAfterKey);
    expect(third.done).toBe(true);
    expect(third.applied.copy).toBe(8);
    expect(listings()).toBe(3); // the last page lists nothing itself, and nothing follows it

    // The prefetched listings were the right ones: every key copied once, bytes intact.
    for (const key of KEYS) expect((await getBytes(target, key)).toString()).toBe(`bytes of ${key}`);
  });

  it('is kept per job: another job at the same key lists for itself', async () => {
    const { page, listings } = await fixture();
    const first = await page(uniqueBucket('job-a'), 1);
    expect(listings()).toBe(2);
    const other = await page(uniqueBucket('job-b'), 2, first.nextAfterKey);
    expect(other.applied.copy).toBe(8);
    expect(listings()).toBe(4); // its own listing, and its own read-ahead
  });
});
