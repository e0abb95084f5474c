// Safe from every entrance: jobs started through the raw Temporal client with ids of the test's own
// choosing (as the Web UI starts them). One writer per bucket range (refused naming the holder, disjoint
// ranges at once, waiting its turn, leases of ended or dead holders reclaimed, broken with a reason).
import { WorkflowFailedError, WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { LeaseEvent, lockWorkflowId } from '../../core/leases';
import { PointInTimeRestoreInput } from '../../core/pitr';
import type { BucketLockState } from '../../workflows/bucket-lock';
import { breakLeaseUpdate, leasesQuery } from '../../workflows/bucket-lock';
import type { BulkJobResult, Progress } from '../../workflows/point-in-time-restore';
import { progressQuery } from '../../workflows/point-in-time-restore';
import { approveGateUpdate, blastRadiusGateQuery, rejectGateUpdate } from '../../workflows/lib/gate';
import type { LifeboatWorker } from '../../worker/worker';
import { getBytes, sleep, versionList } from '../helpers/s3';
import { badDeploy, waitFor } from '../helpers/jobs';
import { temporalEnv, testWorker } from '../helpers/temporal';
import { WorkerProcess, writeTestConfig } from '../helpers/worker-process';

const taskQueue = `test-leases-${process.pid}`;
let env: TestWorkflowEnvironment;
let worker: LifeboatWorker;
let running: Promise<void>;

beforeAll(async () => {
  env = await temporalEnv();
  worker = await testWorker(taskQueue);
  running = worker.run();
});

afterAll(async () => {
  worker.shutdown();
  await running;
  await env.teardown();
});

let seq = 0;
/** Starts a workflow the way the Web UI does: a type, an id typed by the operator, one JSON input. */
function start(type: string, label: string, input: unknown, queue = taskQueue): Promise<WorkflowHandle> {
  seq += 1;
  return env.client.workflow.start(type, {
    taskQueue: queue,
    workflowId: `ui-${label}-${process.pid}-${Date.now()}-${seq}`,
    args: [input],
  });
}

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
}

const lockOf = (bucket: string) => env.client.workflow.getHandle(lockWorkflowId('primary', bucket));
const leasesOf = async (bucket: string): Promise<BucketLockState> => lockOf(bucket).query(leasesQuery);
const eventsOf = async (bucket: string, holder: string): Promise<LeaseEvent[]> =>
  (await leasesOf(bucket)).events.filter((e) => e.holder === holder);

/** A restore of site/ that overwrites every key there: it stops at its gate, holding its lease. */
async function holdAtGate(
  bucket: string,
  at: string,
  label: string,
  extra: Partial<PointInTimeRestoreInput> = {},
) {
  const handle = await start('pointInTimeRestore', label, {
    source: { bucket, prefix: 'site/' },
    at,
    ...extra,
  } satisfies PointInTimeRestoreInput);
  await waitFor(
    'the gate',
    async () => (await handle.query(blastRadiusGateQuery).catch(() => undefined))?.waiting,
  );
  return handle;
}

/** The page activities a run scheduled: none means it wrote nothing. */
async function activitiesOf(handle: WorkflowHandle): Promise<string[]> {
  const names: string[] = [];
  for (const e of (await handle.fetchHistory()).events ?? [])
    if (e.activityTaskScheduledEventAttributes?.activityType?.name)
      names.push(e.activityTaskScheduledEventAttributes.activityType.name);
  return names;
}

it('a job on an overlapping range is refused at once, naming the holder and its range; it writes nothing', async () => {
  const f = await badDeploy('lease-refuse');
  const holder = await holdAtGate(f.bucket, f.at, 'holder');
  const before = await versionList(f.bucket);

  const other = await start('pointInTimeRestore', 'whole-bucket', {
    source: { bucket: f.bucket },
    at: f.at,
    autoApprove: true,
  } satisfies PointInTimeRestoreInput);
  const failure = await failureOf(other);
  expect(failure.type).toBe('LeaseHeld');
  expect(failure.message).toContain(holder.workflowId);
  expect(failure.message).toMatch(
    /the whole bucket of primary\/.* overlaps a lease held by .*prefix "site\/"/,
  );
  expect(failure.message).toMatch(/nothing was written/);
  // Refused before its checks and survey: not one activity of its own ran.
  expect(await activitiesOf(other)).toEqual([]);
  expect(await eventsOf(f.bucket, other.workflowId)).toEqual([
    expect.objectContaining({ kind: 'refused', reason: `held by ${holder.workflowId}` }),
  ]);

  // A version recovery of one key under site/ is refused the same way.
  const vr = await start('versionRecovery', 'vr', {
    action: 'copy-version',
    bucket: f.bucket,
    keys: [f.siteKeys[0]],
    at: f.at,
  });
  expect((await failureOf(vr)).type).toBe('LeaseHeld');

  await holder.executeUpdate(rejectGateUpdate, { args: [{ by: 'test' }] });
  expect((await failureOf(holder)).type).toBe('GateRejected');
  expect(await versionList(f.bucket)).toEqual(before);
  // Released when it ended: the lock holds nothing.
  expect((await leasesOf(f.bucket)).leases).toEqual([]);
});

it('jobs on disjoint prefixes of one bucket run at the same time', async () => {
  const f = await badDeploy('lease-disjoint');
  const site = await holdAtGate(f.bucket, f.at, 'site');
  // docs/ was not corrupted: the restore plans nothing there, but it takes its own lease and ends.
  await f.corruptDocs();
  const docs = await start('pointInTimeRestore', 'docs', {
    source: { bucket: f.bucket, prefix: 'docs/' },
    at: f.at,
    autoApprove: true,
  } satisfies PointInTimeRestoreInput);
  const during = await waitFor('both leases held', async () => {
    const l = await leasesOf(f.bucket);
    return l.leases.length === 2 && l;
  });
  expect(during.leases.map((l) => l.holder).sort()).toEqual([docs.workflowId, site.workflowId].sort());
  const r = (await docs.result()) as BulkJobResult;
  expect(r.applied.copy).toBe(f.docKeys.length);
  for (const k of f.docKeys) expect((await getBytes(f.bucket, k)).toString()).toBe(`good-${k}`);
  // The site/ job still holds its lease at its gate; approved, it restores its own range.
  expect((await leasesOf(f.bucket)).leases.map((l) => l.holder)).toEqual([site.workflowId]);
  await site.executeUpdate(approveGateUpdate, {
    args: [{ by: 'oncall', comment: 'the deploy touched every page' }],
  });
  const s = (await site.result()) as BulkJobResult;
  expect(s.gate).toMatchObject({
    stopped: true,
    approval: { approved: true, by: 'oncall', auto: false },
    radius: { keysInScope: f.siteKeys.length, overwrites: f.siteKeys.length, deletes: 0 },
  });
  for (const k of f.siteKeys) expect((await getBytes(f.bucket, k)).toString()).toBe(`good-${k}`);
});

it('with waitForLease a job waits its turn, shows what it waits for, then runs', async () => {
  const f = await badDeploy('lease-wait');
  const first = await holdAtGate(f.bucket, f.at, 'first');
  const before = await versionList(f.bucket);
  const second = await start('pointInTimeRestore', 'second', {
    source: { bucket: f.bucket },
    at: f.at,
    waitForLease: true,
    autoApprove: true,
  } satisfies PointInTimeRestoreInput);
  const waiting = await waitFor('the second job waiting', async () => {
    const p: Progress | undefined = await second.query(progressQuery).catch(() => undefined);
    return p?.phase === 'waiting-for-lease' && p;
  });
  expect(waiting.waitingFor).toContain(first.workflowId);
  expect(waiting.waitingFor).toMatch(/place 1 in the queue/);
  expect((await leasesOf(f.bucket)).waiters.map((w) => w.holder)).toEqual([second.workflowId]);
  // Still waiting a while later, and nothing written by either.
  await sleep(1500);
  expect((await second.query(progressQuery)).phase).toBe('waiting-for-lease');
  expect(await versionList(f.bucket)).toEqual(before);

  await first.executeUpdate(rejectGateUpdate, { args: [{ by: 'test', comment: 'wrong prefix' }] });
  await failureOf(first);
  const r = (await second.result()) as BulkJobResult;
  expect(r.applied.copy).toBe(f.siteKeys.length);
  for (const k of f.siteKeys) expect((await getBytes(f.bucket, k)).toString()).toBe(`good-${k}`);
  const kinds = (await leasesOf(f.bucket)).events
    .filter((e) => e.holder === first.workflowId || e.holder === second.workflowId)
    .map((e) => `${e.kind} ${e.holder === first.workflowId ? 'first' : 'second'}`);
  expect(kinds).toEqual(['granted first', 'released first', 'granted second', 'released second']);
});

it("a terminated holder's lease is reclaimed by the next job at once", async () => {
  const f = await badDeploy('lease-terminated');
  const holder = await holdAtGate(f.bucket, f.at, 'terminated');
  await holder.terminate('operator gave up on it');
  const next = await start('pointInTimeRestore', 'after-terminated', {
    source: { bucket: f.bucket, prefix: 'site/' },
    at: f.at,
    autoApprove: true,
  } satisfies PointInTimeRestoreInput);
  const r = (await next.result()) as BulkJobResult;
  expect(r.applied.copy).toBe(f.siteKeys.length);
  expect(await eventsOf(f.bucket, holder.workflowId)).toEqual([
    expect.objectContaining({ kind: 'granted' }),
    expect.objectContaining({ kind: 'reclaimed', reason: 'the holder is terminated' }),
  ]);
});

it('a holder whose worker is dead for good loses its lease after its ttl; the next job gets it', async () => {
  const f = await badDeploy('lease-expired');
  const deadQueue = `${taskQueue}-dead`;
  const doomed = new WorkerProcess(writeTestConfig(deadQueue));
  await doomed.start();
  const holder = await start(
    'pointInTimeRestore',
    'dead-worker',
    {
      source: { bucket: f.bucket, prefix: 'site/' },
      at: f.at,
      leaseTtlSeconds: 5,
    } satisfies PointInTimeRestoreInput,
    deadQueue,
  );
  await waitFor(
    'the gate',
    async () => (await holder.query(blastRadiusGateQuery).catch(() => undefined))?.waiting,
  );
  await doomed.kill();
  const killedAt = Date.now();
  // The holder is still RUNNING on the server, so the lock does not reclaim it: the next job waits.
  const next = await start('pointInTimeRestore', 'after-dead', {
    source: { bucket: f.bucket, prefix: 'site/' },
    at: f.at,
    autoApprove: true,
    waitForLease: true,
  } satisfies PointInTimeRestoreInput);
  const r = (await next.result()) as BulkJobResult;
  expect(r.applied.copy).toBe(f.siteKeys.length);
  // Not before the holder's ttl ran out since its last renewal.
  const expired = (await eventsOf(f.bucket, holder.workflowId)).find((e) => e.kind === 'expired');
  expect(expired?.reason).toMatch(/not renewed since .* \(ttl 5 s\)/);
  expect(Date.parse(expired!.at)).toBeGreaterThan(killedAt - 5000);
  expect((await holder.describe()).status.name).toBe('RUNNING');
  await holder.terminate('its worker is gone');
});

it('an operator breaks a lease with a reason that is recorded; the holder stops with LeaseLost', async () => {
  const f = await badDeploy('lease-break');
  const holder = await holdAtGate(f.bucket, f.at, 'broken');
  const before = await versionList(f.bucket);
  const noReason = await lockOf(f.bucket)
    .executeUpdate(breakLeaseUpdate, { args: [{ holder: holder.workflowId, reason: ' ' }] })
    .catch((e: unknown) => e);
  expect(noReason).toBeInstanceOf(WorkflowUpdateFailedError);
  expect((noReason as WorkflowUpdateFailedError).cause?.message).toMatch(/a reason is required/);
  await lockOf(f.bucket).executeUpdate(breakLeaseUpdate, {
    args: [{ holder: holder.workflowId, by: 'alice', reason: 'stuck since the outage' }],
  });
  const failure = await failureOf(holder);
  expect(failure.type).toBe('LeaseLost');
  expect(failure.message).toMatch(/broken by alice: stuck since the outage/);
  expect(await versionList(f.bucket)).toEqual(before);
  expect(await eventsOf(f.bucket, holder.workflowId)).toEqual([
    expect.objectContaining({ kind: 'granted' }),
    expect.objectContaining({ kind: 'broken', by: 'alice', reason: 'stuck since the outage' }),
  ]);
});
