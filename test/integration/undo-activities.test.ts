// The undo activity on real Ceph RGW: it reads a page's manifest files (first record per key, attempts
// in order), puts keys back, and a retry resumes from its heartbeat checkpoint.
import { MockActivityEnvironment } from '@temporalio/testing';
import { writeReport } from '../../activities/reports';
import { createUndoActivities, UndoPageInput } from '../../activities/undo';
import { emptyUndoCounts, UndoCounts } from '../../core/undo';
import {
  clients,
  config,
  createBucket,
  getBytes,
  put,
  sleep,
  uniqueBucket,
  versionList,
} from '../helpers/s3';

const deps = { s3: clients, reports: config.reports };
const acts = createUndoActivities(deps);
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f'];
/** Runs an activity inside a real activity context (heartbeats, cancellation, retry info). */
const call = <A, R>(env: MockActivityEnvironment, fn: (a: A) => Promise<R>, arg: A): Promise<R> =>
  env.run(fn, arg);

/** Keys restored over (a new version each) after `startedAt`, and the restore's manifest for them. */
async function restoredBucket() {
  const bucket = await createBucket(uniqueBucket('undo-act'));
  const before = new Map<string, string>();
  for (const k of KEYS) before.set(k, await put(bucket, k, `before ${k}`));
  await sleep(1100);
  const startedAt = new Date().toISOString();
  await sleep(1100);
  const restored = new Map<string, string>();
  for (const k of KEYS) restored.set(k, await put(bucket, k, `restored ${k}`));
  const jobId = `pitr/test/${bucket}`;
  const record = (k: string, versionId: string) =>
    JSON.stringify({ key: k, action: 'copy', previous: { kind: 'version', versionId } });
  await writeReport(
    deps,
    `${jobId}/undo/page-000000/attempt-1.jsonl`,
    KEYS.map((k) => record(k, before.get(k)!)).join('\n') + '\n',
    'application/x-ndjson',
  );
  // A second attempt's file records what the first had already done: the first record counts.
  await writeReport(
    deps,
    `${jobId}/undo/page-000000/attempt-2.jsonl`,
    record('a', restored.get('a')!) + '\n',
    'application/x-ndjson',
  );
  const input: UndoPageInput = {
    undoJobId: `undo/${jobId}`,
    jobId,
    page: 'page-000000',
    source: { region: 'primary', bucket, prefix: '' },
    restoreStartedAt: startedAt,
    dryRun: false,
    concurrency: 2,
  };
  return { bucket, input };
}

const counts = (over: Partial<UndoCounts>): UndoCounts => ({ ...emptyUndoCounts(), ...over });

describe('undoPage', () => {
  it('lists the page of the restore job', async () => {
    const { input } = await restoredBucket();
    const env = new MockActivityEnvironment();
    expect(await call(env, acts.listUndoPages, { jobId: input.jobId, max: 10 })).toEqual({
      pages: ['page-000000'],
      more: false,
    });
  });

  it('resumes after the keys its checkpoint says are done, and counts them', async () => {
    const { bucket, input } = await restoredBucket();
    // A retry after a worker died with a and b done (here they were not, which shows they are skipped).
    const retry = new MockActivityEnvironment({
      attempt: 2,
      heartbeatDetails: {
        done: 2,
        planned: counts({ keys: 2, copy: 2 }),
        applied: counts({ keys: 2, copy: 2 }),
        conflicts: [],
        failed: [],
        failedCount: 0,
      },
    });
    const r = await call(retry, acts.undoPage, input);
    expect(r.planned).toEqual(counts({ keys: 6, copy: 6 }));
    expect(r.applied).toEqual(counts({ keys: 6, copy: 6 }));
    for (const k of ['a', 'b']) expect((await getBytes(bucket, k)).toString()).toBe(`restored ${k}`);
    for (const k of ['c', 'd', 'e', 'f']) expect((await getBytes(bucket, k)).toString()).toBe(`before ${k}`);

    // From the start: a and b are put back (from attempt 1's record), c-f are already as before.
    const versions = (await versionList(bucket)).length;
    const full = await call(new MockActivityEnvironment(), acts.undoPage, input);
    expect(full.planned).toEqual(counts({ keys: 6, copy: 2, unchanged: 4 }));
    for (const k of KEYS) expect((await getBytes(bucket, k)).toString()).toBe(`before ${k}`);
    expect((await versionList(bucket)).length).toBe(versions + 2);
  });
});
