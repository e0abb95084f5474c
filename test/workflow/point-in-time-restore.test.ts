// pointInTimeRestore and bulkCopy on the real Temporal dev server and Ceph RGW: exact state at T,
// history kept, idempotent, dry run, into another bucket.
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LifeboatWorker as Worker } from '../../worker/worker';
import { PointInTimeRestoreInput, BulkCopyInput } from '../../core/pitr';
import type { BulkJobResult } from '../../workflows/point-in-time-restore';
import { buildHistory, History } from '../helpers/history';
import { createBucket, getBytes, primary, put, uniqueBucket, versionList } from '../helpers/s3';
import { temporalEnv, testWorker } from '../helpers/temporal';

const taskQueue = `test-pitr-${process.pid}`;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  env = await temporalEnv();
  worker = await testWorker(taskQueue, {
    multipartThresholdBytes: 6 * 1024 * 1024,
    partSizeBytes: 5 * 1024 * 1024,
  });
  running = worker.run();
});

afterAll(async () => {
  worker.shutdown();
  await running;
  await env.teardown();
});

let seq = 0;
async function run(type: 'pointInTimeRestore' | 'bulkCopy', input: PointInTimeRestoreInput | BulkCopyInput) {
  seq += 1;
  const handle = await env.client.workflow.start(type, {
    taskQueue,
    workflowId: `test-${type}-${process.pid}-${Date.now()}-${seq}`,
    args: [input],
  });
  return (await handle.result()) as BulkJobResult;
}

async function current(bucket: string, key: string): Promise<Buffer | null> {
  try {
    return await getBytes(bucket, key);
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
    throw err;
  }
}

async function expectStateAtT(h: History, bucket = h.bucket, prefixMap = (k: string) => k) {
  for (const [key, bytes] of h.expected) {
    const now = await current(bucket, prefixMap(key));
    if (bytes === null) expect({ key, now }).toEqual({ key, now: null });
    else expect({ key, equal: now !== null && now.equals(bytes) }).toEqual({ key, equal: true });
  }
}

/** Data versions only: delete markers may be removed by a restore, data versions never. */
const dataVersions = (list: string[]) =>
  list.filter((v) => v.includes('|version|')).map((v) => v.replace(/\|latest$/, '|'));

describe('pointInTimeRestore in place', () => {
  let h: History;
  beforeAll(async () => {
    h = await buildHistory(uniqueBucket('pitr-inplace'));
  });

  it('a dry run plans the restore and changes nothing', async () => {
    const before = await versionList(h.bucket);
    const r = await run('pointInTimeRestore', {
      source: { bucket: h.bucket },
      at: h.at,
      dryRun: true,
      pageSize: 5,
    });
    expect(await versionList(h.bucket)).toEqual(before);
    expect(r.applied.keys).toBe(0);
    expect(r.planned.copy + r.planned.removeMarkers + r.planned.delete).toBeGreaterThan(10);
    expect(r.pages).toBeGreaterThan(3);
    const plan = await primary.send(
      new ListObjectsV2Command({ Bucket: 'lifeboat-reports', Prefix: `lifeboat/${r.workflowId}/plan/` }),
    );
    expect(plan.KeyCount).toBeGreaterThan(0);
  });

  it('brings every key back to its bytes at T, keys absent at T are absent, no data version is lost', async () => {
    const before = await versionList(h.bucket);
    const r = await run('pointInTimeRestore', {
      source: { bucket: h.bucket },
      at: h.at,
      pageSize: 5,
      concurrency: 4,
    });
    expect(r.failedCount).toBe(0);
    await expectStateAtT(h);
    const after = await versionList(h.bucket);
    for (const v of dataVersions(before)) expect(dataVersions(after)).toContain(v);
    expect(r.applied.copy).toBe(r.planned.copy);
    expect(r.planned.removeMarkers).toBeGreaterThan(0);
    expect(r.planned.delete).toBeGreaterThan(0);
    // The undo manifest records what each changed key was before.
    const undo = await primary.send(
      new ListObjectsV2Command({ Bucket: 'lifeboat-reports', Prefix: `lifeboat/${r.workflowId}/undo/` }),
    );
    expect(undo.KeyCount).toBeGreaterThan(0);
    const first = await primary.send(
      new GetObjectCommand({ Bucket: 'lifeboat-reports', Key: undo.Contents![0].Key }),
    );
    const line = JSON.parse((await first.Body!.transformToString()).split('\n')[0]) as {
      key: string;
      previous: { kind: string };
    };
    expect(['version', 'deleted', 'absent']).toContain(line.previous.kind);

    // Restoring the restored state again plans nothing.
    const again = await run('pointInTimeRestore', { source: { bucket: h.bucket }, at: h.at, pageSize: 5 });
    expect([again.planned.copy, again.planned.removeMarkers, again.planned.delete]).toEqual([0, 0, 0]);
    expect(await versionList(h.bucket)).toEqual(after);
  });
});

describe('pointInTimeRestore into another bucket, and bulkCopy', () => {
  it('writes the state at T under another prefix of another bucket, leaving the source alone', async () => {
    const h = await buildHistory(uniqueBucket('pitr-src'), 5);
    const target = await createBucket(uniqueBucket('pitr-dst'));
    await put(target, 'restored/stale.txt', 'unrelated');
    const before = await versionList(h.bucket);
    const r = await run('pointInTimeRestore', {
      source: { bucket: h.bucket },
      target: { bucket: target, prefix: 'restored/' },
      at: h.at,
      pageSize: 4,
    });
    expect(r.failedCount).toBe(0);
    await expectStateAtT(h, target, (k) => `restored/${k}`);
    expect(await versionList(h.bucket)).toEqual(before);
    expect((await getBytes(target, 'restored/stale.txt')).toString()).toBe('unrelated');
  });

  it('bulkCopy copies the current state and skips what the target already has', async () => {
    const src = await createBucket(uniqueBucket('copy-src'));
    for (let i = 0; i < 25; i++)
      await put(src, `data/${i}.txt`, `payload ${i}`, { ContentType: 'text/x-payload' });
    const dst = await createBucket(uniqueBucket('copy-dst'));
    const first = await run('bulkCopy', { source: { bucket: src }, target: { bucket: dst }, pageSize: 10 });
    expect(first.applied.copy).toBe(25);
    // Every key read back, bytes and content type; all 25 went through the lean signed CopyObject
    // (the local stack is path-style): a silent fall-back to the SDK would show here.
    for (let i = 0; i < 25; i++) {
      const o = await primary.send(new GetObjectCommand({ Bucket: dst, Key: `data/${i}.txt` }));
      expect([await o.Body!.transformToString(), o.ContentType]).toEqual([`payload ${i}`, 'text/x-payload']);
    }
    expect(first.copiedBy).toEqual({ lean: 25, sdk: 0, streamed: 0, multipart: 0 });
    await put(src, 'data/3.txt', 'changed');
    const second = await run('bulkCopy', { source: { bucket: src }, target: { bucket: dst }, pageSize: 10 });
    expect(second.applied.copy).toBe(1);
    expect(second.planned.unchanged).toBe(24);
    expect(second.copiedBy).toEqual({ lean: 1, sdk: 0, streamed: 0, multipart: 0 });
    for (let i = 0; i < 25; i++)
      expect((await getBytes(dst, `data/${i}.txt`)).toString()).toBe(i === 3 ? 'changed' : `payload ${i}`);
  });
});

describe('split jobs: key ranges run as child workflows', () => {
  it('a restore in 3 parts runs part-0..2 over contiguous ranges and gives the exact state at T', async () => {
    const h = await buildHistory(uniqueBucket('pitr-parts'));
    const before = await versionList(h.bucket);
    const r = await run('pointInTimeRestore', {
      source: { bucket: h.bucket },
      at: h.at,
      pageSize: 5,
      parts: 3,
    });
    expect(r.failedCount).toBe(0);
    await expectStateAtT(h);
    const after = await versionList(h.bucket);
    for (const v of dataVersions(before)) expect(dataVersions(after)).toContain(v);
    expect(r.parts!.map((p) => [p.workflowId, p.status])).toEqual(
      [0, 1, 2].map((n) => [`${r.workflowId}/part-${n}`, 'done']),
    );
    // The ranges tile the key space: each starts where the one before ended.
    expect(r.parts![0].range.afterKey).toBeUndefined();
    expect(r.parts![2].range.untilKey).toBeUndefined();
    expect(r.parts![1].range.afterKey).toBe(r.parts![0].range.untilKey);
    expect(r.parts![2].range.afterKey).toBe(r.parts![1].range.untilKey);
    // Every key was planned by exactly one part: the parts' keys add up to all keys.
    const keys = new Set(before.map((v) => v.split('|')[0]));
    expect(r.planned.keys).toBe(keys.size);
    expect(r.parts!.reduce((n, p) => n + p.keys!, 0)).toBe(keys.size);
    for (const p of r.parts!) {
      const child = await env.client.workflow.getHandle(p.workflowId).describe();
      expect(child.status.name).toBe('COMPLETED');
      expect(p.keys).toBeGreaterThan(0);
    }
    // Again: nothing to do in any part.
    const again = await run('pointInTimeRestore', { source: { bucket: h.bucket }, at: h.at, parts: 3 });
    expect([again.planned.copy, again.planned.removeMarkers, again.planned.delete]).toEqual([0, 0, 0]);
  });

  it('a split bulkCopy passes pause and resume on to its running parts', async () => {
    const src = await createBucket(uniqueBucket('parts-src'));
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => put(src, `p/${String(i).padStart(4, '0')}`, `v${i}`)),
    );
    const dst = await createBucket(uniqueBucket('parts-dst'));
    seq += 1;
    const handle = await env.client.workflow.start('bulkCopy', {
      taskQueue,
      workflowId: `test-parts-pause-${process.pid}-${Date.now()}-${seq}`,
      args: [{ source: { bucket: src }, target: { bucket: dst }, pageSize: 10, concurrency: 1, parts: 3 }],
    });
    const { progressQuery, pauseSignal, resumeSignal } =
      await import('../../workflows/point-in-time-restore');
    let running: string[] = [];
    for (let i = 0; i < 200 && running.length < 3; i++) {
      running = (await handle.query(progressQuery)).parts?.running ?? [];
      if (running.length < 3) await new Promise((r) => setTimeout(r, 100));
    }
    expect(running).toHaveLength(3);
    await handle.signal(pauseSignal);
    for (const id of running) {
      let paused = false;
      for (let i = 0; i < 100 && !paused; i++) {
        paused = (await env.client.workflow.getHandle(id).query(progressQuery)).paused;
        if (!paused) await new Promise((r) => setTimeout(r, 100));
      }
      expect({ id, paused }).toEqual({ id, paused: true });
    }
    const count = async () =>
      (await primary.send(new ListObjectsV2Command({ Bucket: dst, MaxKeys: 1000 }))).KeyCount ?? 0;
    await new Promise((r) => setTimeout(r, 1500));
    const whilePaused = await count();
    await new Promise((r) => setTimeout(r, 2000));
    expect(await count()).toBe(whilePaused);
    expect(whilePaused).toBeLessThan(300);
    await handle.signal(resumeSignal);
    const r = (await handle.result()) as BulkJobResult;
    expect(r.applied.copy).toBe(300);
    expect(await count()).toBe(300);
    expect((await getBytes(dst, 'p/0123')).toString()).toBe('v123');
  });
});
