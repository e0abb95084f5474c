// undoRestore on the real Temporal dev server and Ceph RGW: an in-place point-in-time restore (split in
// parts) undone from its undo manifests, key by key; keys changed since are left alone and reported; a
// dry run changes nothing; jobs that cannot be undone are refused with the reason.
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LifeboatWorker as Worker } from '../../worker/worker';
import { PointInTimeRestoreInput } from '../../core/pitr';
import { UndoRestoreInput } from '../../core/undo';
import type { BulkJobResult } from '../../workflows/point-in-time-restore';
import { pauseSignal, resumeSignal } from '../../workflows/point-in-time-restore';
import { UndoProgress, undoProgressQuery, UndoRestoreResult } from '../../workflows/undo-restore';
import { buildHistory, History } from '../helpers/history';
import { createBucket, getBytes, primary, put, sleep, uniqueBucket, versionList } from '../helpers/s3';
import { temporalEnv, testWorker } from '../helpers/temporal';

const taskQueue = `test-undo-${process.pid}`;
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
function start(
  type: 'pointInTimeRestore' | 'undoRestore',
  input: PointInTimeRestoreInput | UndoRestoreInput,
) {
  seq += 1;
  return env.client.workflow.start(type, {
    taskQueue,
    workflowId: `test-${type}-${process.pid}-${Date.now()}-${seq}`,
    // These restores and undos rewrite whole prefixes on purpose: the gate is tested on its own
    // (blast-radius-gate.test.ts); here it lets them through, as automation would.
    args: [{ autoApprove: true, ...input }],
  });
}
const restore = async (input: PointInTimeRestoreInput) =>
  (await (await start('pointInTimeRestore', input)).result()) as BulkJobResult;
const undo = async (input: UndoRestoreInput) =>
  (await (await start('undoRestore', input)).result()) as UndoRestoreResult;

async function current(bucket: string, key: string): Promise<Buffer | null> {
  try {
    return await getBytes(bucket, key);
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return null;
    throw err;
  }
}

/** Every key's current bytes (null: deleted or absent). */
async function snapshot(h: History): Promise<Map<string, Buffer | null>> {
  const out = new Map<string, Buffer | null>();
  for (const key of h.expected.keys()) out.set(key, await current(h.bucket, key));
  return out;
}

function expectSame(
  now: Map<string, Buffer | null>,
  then: Map<string, Buffer | null>,
  except: string[] = [],
) {
  for (const [key, bytes] of then) {
    if (except.includes(key)) continue;
    const n = now.get(key) ?? null;
    expect({ key, same: bytes === null ? n === null : n !== null && n.equals(bytes) }).toEqual({
      key,
      same: true,
    });
  }
}

const dataVersions = (list: string[]) =>
  list.filter((v) => v.includes('|version|')).map((v) => v.replace(/\|latest$/, '|'));

/** `count` keys good at T, all overwritten after ("bad"), then restored in place to T. */
async function restoredBadDeploy(label: string, count: number, pageSize: number) {
  const bucket = await createBucket(uniqueBucket(label));
  const keys = Array.from({ length: count }, (_, i) => `k/${String(i).padStart(4, '0')}`);
  await Promise.all(keys.map((k) => put(bucket, k, `good ${k}`)));
  await sleep(1100);
  const at = new Date().toISOString();
  await sleep(1100);
  await Promise.all(keys.map((k) => put(bucket, k, `bad ${k}`)));
  const r = await restore({ source: { bucket }, at, pageSize });
  return { bucket, keys, r };
}

/** Waits until the running undo has put at least `n` keys back. */
async function untilPutBack(
  handle: { query: (q: typeof undoProgressQuery) => Promise<UndoProgress> },
  n: number,
) {
  for (let i = 0; (await handle.query(undoProgressQuery)).applied.keys < n; i++) {
    if (i > 600) throw new Error('the undo did not start putting keys back');
    await sleep(50);
  }
}

describe('undoRestore', () => {
  it('puts every key an in-place restore in 2 parts changed back as it was; no data version is lost', async () => {
    const h = await buildHistory(uniqueBucket('undo-inplace'));
    const beforeRestore = await snapshot(h);
    const r = await restore({ source: { bucket: h.bucket }, at: h.at, pageSize: 5, parts: 2 });
    expect(r.failedCount).toBe(0);
    const changed = r.applied.copy + r.applied.removeMarkers + r.applied.delete;
    expect(r.applied.copy).toBeGreaterThan(0);
    expect(r.applied.removeMarkers).toBeGreaterThan(0);
    expect(r.applied.delete).toBeGreaterThan(0);
    const afterRestore = await versionList(h.bucket);

    // The dry run plans one undo per changed key and changes nothing.
    const plan = await undo({ jobId: r.workflowId, dryRun: true });
    expect(await versionList(h.bucket)).toEqual(afterRestore);
    expect(plan.planned.keys).toBe(changed);
    expect(plan.planned.conflicts).toBe(0);
    expect(plan.applied.keys).toBe(0);
    const planFiles = await primary.send(
      new ListObjectsV2Command({ Bucket: 'lifeboat-reports', Prefix: `lifeboat/${plan.workflowId}/plan/` }),
    );
    expect(planFiles.KeyCount).toBeGreaterThan(0);

    const u = await undo({ jobId: r.workflowId, concurrency: 4 });
    expect([u.failedCount, u.conflictCount]).toEqual([0, 0]);
    expect(u.applied.keys).toBe(changed);
    // Each kind of change is undone the way it can be: a copy by copying the earlier version back,
    // an added marker by removing it, removed markers by a new marker.
    expect(u.applied.copy).toBeGreaterThan(0);
    expect(u.applied.removeMarkers).toBe(r.applied.delete);
    expect(u.applied.addMarker).toBeGreaterThan(0);
    expectSame(await snapshot(h), beforeRestore);
    const afterUndo = await versionList(h.bucket);
    for (const v of dataVersions(afterRestore)) expect(dataVersions(afterUndo)).toContain(v);
    expect(u.steps.map((s) => s.outcome)).not.toContain('failed');

    // Undone already: a second undo finds every key as it was and writes nothing.
    const again = await undo({ jobId: r.workflowId });
    expect(again.planned.unchanged).toBe(changed);
    expect(again.applied.keys).toBe(0);
    expect(await versionList(h.bucket)).toEqual(afterUndo);
  });

  it('leaves a key written since the restore as it is and reports it as a conflict', async () => {
    const bucket = await createBucket(uniqueBucket('undo-conflict'));
    for (const k of ['a', 'b', 'c']) await put(bucket, k, `good ${k}`);
    await sleep(1100);
    const at = new Date().toISOString();
    await sleep(1100);
    for (const k of ['a', 'b', 'c']) await put(bucket, k, `bad deploy ${k}`);
    await sleep(1100);
    const r = await restore({ source: { bucket }, at });
    expect(r.applied.copy).toBe(3);
    await sleep(1100); // RGW lists times to the second: a later write must be seen as later
    await put(bucket, 'b', 'hotfix written after the restore');

    const u = await undo({ jobId: r.workflowId });
    expect(u.conflictCount).toBe(1);
    expect(u.conflicts.map((c) => c.key)).toEqual(['b']);
    expect(u.conflicts[0].reason).toMatch(/changed since the restore/);
    expect(u.applied.copy).toBe(2);
    expect((await getBytes(bucket, 'a')).toString()).toBe('bad deploy a');
    expect((await getBytes(bucket, 'b')).toString()).toBe('hotfix written after the restore');
    expect((await getBytes(bucket, 'c')).toString()).toBe('bad deploy c');
    const conflicts = await primary.send(
      new ListObjectsV2Command({ Bucket: 'lifeboat-reports', Prefix: `lifeboat/${u.workflowId}/conflicts/` }),
    );
    expect(conflicts.KeyCount).toBe(1);
  });

  it('pauses (nothing written while paused), resumes, and ends with exact counts', async () => {
    const { bucket, keys, r } = await restoredBadDeploy('undo-pause', 240, 120);
    expect(r.applied.copy).toBe(keys.length);

    const handle = await start('undoRestore', { jobId: r.workflowId, concurrency: 1 });
    const progress = () => handle.query(undoProgressQuery);
    await untilPutBack(handle, 20);
    await handle.signal(pauseSignal);
    for (
      let i = 0;
      !(await progress()).paused || (await handle.describe()).raw.pendingActivities?.length;
      i++
    ) {
      if (i > 600) throw new Error('the undo did not pause');
      await sleep(50);
    }
    const during = await versionList(bucket);
    await sleep(2000);
    expect(await versionList(bucket)).toEqual(during);
    const paused = await progress();
    expect(paused.phase).toBe('paused');
    expect(paused.applied.keys).toBeGreaterThan(0);
    expect(paused.applied.keys).toBeLessThan(keys.length);

    await handle.signal(resumeSignal);
    const u = (await handle.result()) as UndoRestoreResult;
    // Every key put back once: the keys done before the pause are not counted (nor written) again.
    expect([u.applied.copy, u.planned.keys, u.planned.unchanged, u.failedCount]).toEqual([
      keys.length,
      keys.length,
      0,
      0,
    ]);
    expect((await versionList(bucket)).length).toBe(keys.length * 4);
    for (const k of keys) expect((await getBytes(bucket, k)).toString()).toBe(`bad ${k}`);
  });

  it('cancelled part-way, leaves a report whose counts match what was put back; run again, it finishes', async () => {
    const { bucket, keys, r } = await restoredBadDeploy('undo-cancel', 200, 100);

    const handle = await start('undoRestore', { jobId: r.workflowId, concurrency: 1 });
    await untilPutBack(handle, 10);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const report = await primary.send(
      new GetObjectCommand({ Bucket: 'lifeboat-reports', Key: `lifeboat/${handle.workflowId}/report.json` }),
    );
    const cancelled = JSON.parse(await report.Body!.transformToString()) as UndoRestoreResult;
    expect(cancelled.cancelled).toBe(true);
    let putBack = 0;
    for (const k of keys) if ((await getBytes(bucket, k)).toString() === `bad ${k}`) putBack++;
    expect(putBack).toBeGreaterThan(0);
    expect(putBack).toBeLessThan(keys.length);
    expect(cancelled.applied.copy).toBe(putBack);

    const rest = await undo({ jobId: r.workflowId });
    expect([rest.applied.copy, rest.planned.unchanged]).toEqual([keys.length - putBack, putBack]);
    for (const k of keys) expect((await getBytes(bucket, k)).toString()).toBe(`bad ${k}`);
  });

  it('refuses a dry-run job, a restore into another bucket and an unknown job, changing nothing', async () => {
    const h = await buildHistory(uniqueBucket('undo-refuse'), 3);
    const target = await createBucket(uniqueBucket('undo-refuse-dst'));
    const dry = await restore({ source: { bucket: h.bucket }, at: h.at, dryRun: true });
    const elsewhere = await restore({ source: { bucket: h.bucket }, target: { bucket: target }, at: h.at });
    const before = [await versionList(h.bucket), await versionList(target)];
    const failure = async (jobId: string) => {
      const err = await (await start('undoRestore', { jobId })).result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      return (err as WorkflowFailedError).cause?.message ?? '';
    };
    expect(await failure(dry.workflowId)).toMatch(/was a dry run: it changed nothing/);
    expect(await failure(elsewhere.workflowId)).toMatch(/not in place/);
    expect(await failure('pitr/no-such-job')).toMatch(/no report of job "pitr\/no-such-job"/);
    expect([await versionList(h.bucket), await versionList(target)]).toEqual(before);
  });
});
