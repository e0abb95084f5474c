// Chaos on real processes: the Temporal dev server SIGKILLed and restarted in the middle of a restore,
// and one of two workers sharing a split job's parts SIGKILLed mid-page. Each restore must end exact:
// every key's bytes as at T, every earlier version kept, exactly one version added per key.
import { ServiceError, WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PointInTimeRestoreInput } from '../../core/pitr';
import type { BulkJobResult, Progress } from '../../workflows/point-in-time-restore';
import { progressQuery } from '../../workflows/point-in-time-restore';
import { corruptedBucket, expectRestoredExactly, versionsByKey, waitFor } from '../helpers/jobs';
import { sleep } from '../helpers/s3';
import { temporalEnv } from '../helpers/temporal';
import { WorkerProcess, writeTestConfig } from '../helpers/worker-process';

const stack = (...args: string[]) =>
  execFileSync('bash', [join(__dirname, '../../stack/stack.sh'), ...args], { stdio: 'inherit' });

let env: TestWorkflowEnvironment;
beforeAll(async () => {
  env = await temporalEnv();
});
afterAll(async () => {
  // Whatever happened: the server is up for the suites after this one.
  stack('start-temporal');
  await env.teardown();
});

/** The result, asked again while the server is away (the client's own retries give up sooner). */
async function resultThroughOutages(handle: WorkflowHandle): Promise<BulkJobResult> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      return (await handle.result()) as BulkJobResult;
    } catch (err) {
      if (!(err instanceof ServiceError) || Date.now() > deadline) throw err;
      await sleep(1000);
    }
  }
}

/** Keys applied so far, the parts' own counts included (no answer while a worker is away). */
async function applied(handle: WorkflowHandle): Promise<number> {
  const p: Progress | undefined = await handle.query(progressQuery).catch(() => undefined);
  if (!p) return 0;
  let n = p.applied.keys;
  for (const id of p.parts?.running ?? []) {
    const part: Progress | undefined = await env.client.workflow
      .getHandle(id)
      .query(progressQuery)
      .catch(() => undefined);
    n += part?.applied.keys ?? 0;
  }
  return n;
}

it('a restore of 3,000 keys survives the Temporal server SIGKILLed and restarted mid-job, exactly', async () => {
  const { bucket, at, keys } = await corruptedBucket('chaos-temporal', 3000);
  const before = await versionsByKey(bucket);
  const taskQueue = `chaos-temporal-${process.pid}`;
  const worker = new WorkerProcess(writeTestConfig(taskQueue));
  await worker.start();
  try {
    const handle = await env.client.workflow.start('pointInTimeRestore', {
      taskQueue,
      workflowId: `ui-chaos-temporal-${bucket}`,
      args: [
        {
          source: { bucket },
          at,
          pageSize: 250,
          concurrency: 8,
          autoApprove: true,
        } satisfies PointInTimeRestoreInput,
      ],
    });
    await waitFor('800 keys restored', async () => (await applied(handle)) >= 800);
    stack('kill-temporal');
    // Down for a few seconds: the worker's page keeps copying, its heartbeats and completions fail.
    await sleep(3000);
    stack('start-temporal');
    const result = await resultThroughOutages(handle);
    expect(result.failedCount).toBe(0);
    expect(result.applied.keys).toBe(keys.length);
    await expectRestoredExactly(bucket, keys, before);
  } finally {
    await worker.stop();
  }
}, 600_000);

it('two workers share a split job; one SIGKILLed mid-page, the other finishes it exactly', async () => {
  const { bucket, at, keys } = await corruptedBucket('chaos-workers', 2000);
  const before = await versionsByKey(bucket);
  const taskQueue = `chaos-workers-${process.pid}`;
  const config = writeTestConfig(taskQueue);
  const a = new WorkerProcess(config);
  const b = new WorkerProcess(config);
  await a.start();
  await b.start();
  try {
    const handle = await env.client.workflow.start('pointInTimeRestore', {
      taskQueue,
      workflowId: `ui-chaos-workers-${bucket}`,
      args: [
        {
          source: { bucket },
          at,
          pageSize: 100,
          concurrency: 4,
          parts: 4,
          autoApprove: true,
        } satisfies PointInTimeRestoreInput,
      ],
    });
    await waitFor('600 keys restored', async () => (await applied(handle)) >= 600);
    await a.kill();
    const result = (await handle.result()) as BulkJobResult;
    expect(result.failedCount).toBe(0);
    expect(result.parts?.map((p) => p.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(result.applied.keys).toBe(keys.length);
    await expectRestoredExactly(bucket, keys, before);
    // Some page of a part ran again after the kill (its first attempt died with worker a).
    let retried = 0;
    for (const part of result.parts ?? [])
      for (const e of (await env.client.workflow.getHandle(part.workflowId).fetchHistory()).events ?? [])
        if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retried++;
    expect(retried).toBeGreaterThanOrEqual(1);
  } finally {
    await a.kill();
    await b.stop();
  }
}, 600_000);
