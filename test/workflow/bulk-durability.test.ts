// The bulk engine under stress on real services: a worker SIGKILLed mid-restore (twice), and pause/resume.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { PointInTimeRestoreInput } from '../../core/pitr';
import { FOLDED_STEP } from '../../core/steps';
import { UndoRestoreInput } from '../../core/undo';
import type { UndoRestoreResult } from '../../workflows/undo-restore';
import type { BulkJobResult, Progress } from '../../workflows/point-in-time-restore';
import { pauseSignal, progressQuery, resumeSignal } from '../../workflows/point-in-time-restore';
import { getBytes, primary, sleep, versionList } from '../helpers/s3';
import { corruptedBucket, expectRestoredExactly, parallel, versionsByKey, waitFor } from '../helpers/jobs';
import { temporalEnv } from '../helpers/temporal';
import { WorkerProcess, writeTestConfig } from '../helpers/worker-process';

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await temporalEnv();
});
afterAll(async () => {
  await env.teardown();
});

async function progressOf(handle: {
  query: (q: typeof progressQuery) => Promise<Progress>;
}): Promise<Progress | undefined> {
  return handle.query(progressQuery).catch(() => undefined); // no worker to answer while one is dead
}

async function expectAllGood(bucket: string, keys: string[]): Promise<void> {
  let wrong = 0;
  await parallel(keys, 16, async (k) => {
    if ((await getBytes(bucket, k)).toString() !== `good-${k}`) wrong++;
  });
  expect(wrong).toBe(0);
}

it('completes with the exact state after its worker is SIGKILLed twice mid-restore', async () => {
  const concurrency = 8;
  const { bucket, at, keys } = await corruptedBucket('kill', 2000);
  const before = await versionsByKey(bucket);
  const taskQueue = `kill-${process.pid}`;
  const worker = new WorkerProcess(writeTestConfig(taskQueue));
  await worker.start();
  const input: PointInTimeRestoreInput = {
    source: { bucket },
    at,
    pageSize: 200,
    concurrency,
    autoApprove: true,
  };
  const handle = await env.client.workflow.start('pointInTimeRestore', {
    taskQueue,
    workflowId: `test-kill-${bucket}`,
    args: [input],
  });

  for (const threshold of [300, 1100]) {
    await waitFor(
      `${threshold} keys restored`,
      async () => ((await progressOf(handle))?.applied.keys ?? 0) >= threshold,
    );
    await worker.kill();
    await sleep(500);
    await worker.start();
  }
  const result = (await handle.result()) as BulkJobResult;
  await worker.stop();

  expect(result.failedCount).toBe(0);
  // Per key: the bytes at T, both earlier versions kept, and exactly one version more. A worker
  // SIGKILLed mid-page must not copy a key twice (the retried page plans the keys already done to
  // nothing: they read as at T).
  await expectRestoredExactly(bucket, keys, before);
  // The history shows the page activities that were lost and retried.
  let retried = 0;
  for (const e of (await handle.fetchHistory()).events ?? []) {
    if (e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1)
      retried++;
  }
  expect(retried).toBeGreaterThanOrEqual(2);
}, 600_000);

it('pauses (no page left running, nothing written), resumes, and completes', async () => {
  const { bucket, at, keys } = await corruptedBucket('pause', 600);
  const taskQueue = `pause-${process.pid}`;
  const worker = new WorkerProcess(writeTestConfig(taskQueue));
  await worker.start();
  const handle = await env.client.workflow.start('pointInTimeRestore', {
    taskQueue,
    workflowId: `test-pause-${bucket}`,
    args: [
      {
        source: { bucket },
        at,
        pageSize: 100,
        concurrency: 2,
        autoApprove: true,
      } satisfies PointInTimeRestoreInput,
    ],
  });
  await waitFor('some keys restored', async () => ((await progressOf(handle))?.applied.keys ?? 0) > 20);
  // The count beside the job has found every key: the progress has a total and an ETA.
  const counted = await waitFor('a total', async () => {
    const p = await progressOf(handle);
    return p?.totalKeys !== undefined && p;
  });
  expect(counted.totalKeys).toBe(600);
  await handle.signal(pauseSignal);
  // Paused: the running page was cancelled and has stopped.
  await waitFor(
    'no activity running',
    async () => {
      const p = await progressOf(handle);
      const d = await handle.describe();
      const pages = (d.raw.pendingActivities ?? []).filter((a) => a.activityType?.name === 'restorePage');
      return p?.paused && pages.length === 0;
    },
    30,
  );
  const during = await versionList(bucket);
  await sleep(3000);
  expect(await versionList(bucket)).toEqual(during);
  expect((await progressOf(handle))?.phase).toBe('paused');
  // The Web UI's current details show the same progress under the step log's title.
  const meta = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  expect(meta.currentDetails).toMatch(/paused: page \d+, \d+ of 600 keys planned, \d+ applied, 0 failed/);
  expect(meta.currentDetails).toMatch(/\| restore pages \(run 1\) \| running \| pages=\d+ keys=\d+/);

  await handle.signal(resumeSignal);
  const result = (await handle.result()) as BulkJobResult;
  await worker.stop();
  expect(result.failedCount).toBe(0);
  await expectAllGood(bucket, keys);
}, 300_000);

it('continues as new every few pages, carrying only its cursor and counters, and ends exact', async () => {
  const { bucket, at, keys } = await corruptedBucket('can', 40);
  const taskQueue = `can-${process.pid}`;
  const worker = new WorkerProcess(writeTestConfig(taskQueue));
  await worker.start();
  const handle = await env.client.workflow.start('pointInTimeRestore', {
    taskQueue,
    workflowId: `test-can-${bucket}`,
    args: [
      {
        source: { bucket },
        at,
        pageSize: 5,
        pagesPerRun: 3,
        autoApprove: true,
      } satisfies PointInTimeRestoreInput,
    ],
  });
  const result = (await handle.result()) as BulkJobResult;
  await worker.stop();
  // Three pages a run: the run count follows from the page count, and each run but the last handed over.
  expect(result.pages).toBeGreaterThan(6);
  expect(result.runs).toBe(Math.ceil(result.pages / 3));
  expect(result.applied.copy).toBe(40);
  // Each run but the last handed over; the step log carried is folded (bounded), so the latest
  // runs' hand-overs are kept one by one and the earliest ones are counted in the fold.
  const handedOver = result.steps.filter((s) => s.detail?.startsWith('continued as new'));
  const kept = handedOver.map((s) => Number(/\(run (\d+)\)/.exec(s.name)?.[1]));
  const latest = kept.slice(1);
  expect(kept[0]).toBe(1);
  expect(latest).toEqual(latest.map((_, i) => result.runs - latest.length + i));
  const folded = result.steps.find((s) => s.name === FOLDED_STEP);
  expect(folded?.numbers?.steps ?? 0).toBeGreaterThan(0);
  expect(result.steps.length).toBeLessThanOrEqual(27);
  expect(result.steps.every((s) => s.outcome === 'ok')).toBe(true);
  await expectAllGood(bucket, keys);
}, 300_000);

it('cancelled mid-restore, leaves a report whose counts match what was written', async () => {
  const { bucket, at, keys } = await corruptedBucket('cancel', 300);
  const taskQueue = `cancel-${process.pid}`;
  const worker = new WorkerProcess(writeTestConfig(taskQueue));
  await worker.start();
  const handle = await env.client.workflow.start('pointInTimeRestore', {
    taskQueue,
    workflowId: `test-cancel-${bucket}`,
    args: [
      {
        source: { bucket },
        at,
        pageSize: 50,
        concurrency: 1,
        autoApprove: true,
      } satisfies PointInTimeRestoreInput,
    ],
  });
  await waitFor('some keys restored', async () => ((await progressOf(handle))?.applied.keys ?? 0) > 10);
  await handle.cancel();
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
  await worker.stop();

  const report = await primary.send(
    new GetObjectCommand({ Bucket: 'lifeboat-reports', Key: `lifeboat/${handle.workflowId}/report.json` }),
  );
  const r = JSON.parse(await report.Body!.transformToString()) as BulkJobResult;
  expect(r.cancelled).toBe(true);
  let restored = 0;
  await parallel(keys, 16, async (k) => {
    if ((await getBytes(bucket, k)).toString() === `good-${k}`) restored++;
  });
  expect(restored).toBeGreaterThan(10);
  expect(restored).toBeLessThan(keys.length);
  expect(r.applied.copy).toBe(restored);

  // The cancelled restore can be undone: the keys it wrote go back to how they were, the others
  // (in its manifests, as a page records its keys before touching them) are found as they were.
  await worker.start();
  const undo = await env.client.workflow.execute('undoRestore', {
    taskQueue,
    workflowId: `test-undo-cancelled-${bucket}`,
    args: [{ jobId: handle.workflowId, autoApprove: true } satisfies UndoRestoreInput],
  });
  await worker.stop();
  const u = undo as UndoRestoreResult;
  expect([u.applied.copy, u.conflictCount, u.failedCount]).toEqual([restored, 0, 0]);
  expect(u.planned.unchanged).toBe(u.planned.keys - restored);
  let bad = 0;
  await parallel(keys, 16, async (k) => {
    if ((await getBytes(bucket, k)).toString() === `bad-${k}`) bad++;
  });
  expect(bad).toBe(keys.length);
}, 300_000);
