// The blast-radius gate and the refusals of inputs a schema accepts but no operator means, on the real
// stack, through the raw Temporal client with ids of the test's own (as the Web UI starts workflows).
import { WorkflowFailedError, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { PointInTimeRestoreInput } from '../../core/pitr';
import { UndoRestoreInput } from '../../core/undo';
import type { BulkJobResult, Progress } from '../../workflows/point-in-time-restore';
import { progressQuery } from '../../workflows/point-in-time-restore';
import type { UndoRestoreResult } from '../../workflows/undo-restore';
import { approveGateUpdate, blastRadiusGateQuery, rejectGateUpdate } from '../../workflows/lib/gate';
import type { LifeboatWorker } from '../../worker/worker';
import { createBucket, getBytes, put, sleep, uniqueBucket, versionList } from '../helpers/s3';
import { badDeploy, parallel, waitFor } from '../helpers/jobs';
import { temporalEnv, testWorker } from '../helpers/temporal';

const taskQueue = `test-gate-${process.pid}`;
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
function start(type: string, label: string, ...args: unknown[]): Promise<WorkflowHandle> {
  seq += 1;
  return env.client.workflow.start(type, {
    taskQueue,
    workflowId: `ui-${label}-${process.pid}-${Date.now()}-${seq}`,
    args,
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

const atGate = (handle: WorkflowHandle) =>
  waitFor('the gate', async () => {
    const g = await handle.query(blastRadiusGateQuery).catch(() => undefined);
    return g?.waiting && g;
  });

async function scheduled(handle: WorkflowHandle): Promise<string[]> {
  const names: string[] = [];
  for (const e of (await handle.fetchHistory()).events ?? [])
    if (e.activityTaskScheduledEventAttributes?.activityType?.name)
      names.push(e.activityTaskScheduledEventAttributes.activityType.name);
  return names;
}

/** 25 keys written well after the Unix epoch: the incident's bucket. */
async function liveBucket(label: string): Promise<{ bucket: string; keys: string[] }> {
  const bucket = await createBucket(uniqueBucket(label));
  const keys = Array.from({ length: 25 }, (_, i) => `data/${String(i).padStart(3, '0')}.csv`);
  await parallel(keys, 16, (k) => put(bucket, k, `row-${k}`));
  return { bucket, keys };
}

describe('the mistyped year', () => {
  it('1970 is refused at once, before anything is read', async () => {
    const { bucket } = await liveBucket('gate-1970');
    const before = await versionList(bucket);
    const h = await start('pointInTimeRestore', 'typo-1970', {
      source: { bucket },
      at: '1970-11-26T10:41:00Z',
    } satisfies PointInTimeRestoreInput);
    const f = await failureOf(h);
    expect(f.type).toBe('InvalidInput');
    expect(f.message).toMatch(/field "at": is before S3 existed \(2006-03-14\): a mistyped year\?/);
    expect(await scheduled(h)).toEqual([]);
    expect(await versionList(bucket)).toEqual(before);
  });

  it('a year before the oldest version in scope is refused after the survey, nothing written', async () => {
    const { bucket } = await liveBucket('gate-2025');
    const before = await versionList(bucket);
    const h = await start('pointInTimeRestore', 'typo-2025', {
      source: { bucket },
      at: '2025-11-26T10:41:00Z',
    } satisfies PointInTimeRestoreInput);
    const f = await failureOf(h);
    expect(f.type).toBe('AtBeforeHistory');
    expect(f.message).toMatch(
      /is before the oldest version in scope .* would delete every key it finds \(25 of 25\)\. Nothing was written/,
    );
    expect(await scheduled(h)).toEqual(['surveyJob']);
    expect(await versionList(bucket)).toEqual(before);
  });

  it('asked for explicitly (allowDeleteAll), it stops at the gate; reject leaves the bucket exactly as it was', async () => {
    const { bucket, keys } = await liveBucket('gate-reject');
    const before = await versionList(bucket);
    const h = await start('pointInTimeRestore', 'typo-allowed', {
      source: { bucket },
      at: '1970-11-26T10:41:00Z',
      allowDeleteAll: true,
    } satisfies PointInTimeRestoreInput);
    const gate = await atGate(h);
    expect(gate.radius).toMatchObject({ keysInScope: 25, deletes: 25, overwrites: 0 });
    expect(gate.radius?.firstDeletes).toEqual(keys.slice(0, 10));
    expect(gate.assessment?.reasons.join(' ')).toMatch(
      /deletes 25 of 25 keys in scope \(100\.0%; the limit is 10\.0% or 1000 keys\)/,
    );
    const p: Progress = await h.query(progressQuery);
    expect(p.phase).toBe('awaiting-approval');
    expect(p.totalKeys).toBe(25);
    // Still waiting, nothing written.
    await sleep(1000);
    expect((await h.query(blastRadiusGateQuery)).waiting).toBe(true);
    expect(await versionList(bucket)).toEqual(before);

    await h.executeUpdate(rejectGateUpdate, { args: [{ by: 'oncall', comment: 'that year is a typo' }] });
    const f = await failureOf(h);
    expect(f.type).toBe('GateRejected');
    expect(f.message).toMatch(
      /rejected at its blast-radius gate by oncall: that year is a typo .*nothing was written/,
    );
    expect(await versionList(bucket)).toEqual(before);
    expect(await scheduled(h)).not.toContain('restorePage');
    // Approving is refused once the job is no longer waiting.
    await expect(h.executeUpdate(approveGateUpdate, { args: [{}] })).rejects.toThrow(
      /already completed|not waiting|Update failed/,
    );
  });

  it('a typo inside the history stops at the gate on deletes; approved, the plan is carried out', async () => {
    const bucket = await createBucket(uniqueBucket('gate-approve'));
    const early = ['a/1', 'a/2', 'a/3'];
    await parallel(early, 3, (k) => put(bucket, k, `early-${k}`));
    await sleep(1100);
    const typo = new Date().toISOString();
    await sleep(1100);
    const later = Array.from({ length: 30 }, (_, i) => `b/${String(i).padStart(2, '0')}`);
    await parallel(later, 16, (k) => put(bucket, k, `later-${k}`));
    const h = await start('pointInTimeRestore', 'typo-inside', { source: { bucket }, at: typo });
    const gate = await atGate(h);
    expect(gate.radius).toMatchObject({ keysInScope: 33, deletes: 30 });
    await h.executeUpdate(approveGateUpdate, { args: [{ by: 'oncall', comment: 'yes, drop the b/ tree' }] });
    const r = (await h.result()) as BulkJobResult;
    expect(r.applied.delete).toBe(30);
    expect(r.gate?.approval).toMatchObject({ approved: true, by: 'oncall', auto: false });
    for (const k of early) expect((await getBytes(bucket, k)).toString()).toBe(`early-${k}`);
    await expect(getBytes(bucket, later[0])).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });
});

describe('the gate', () => {
  it('a dry run reports what the gate would say and does not wait', async () => {
    const f = await badDeploy('gate-dry');
    const r = (await (
      await start('pointInTimeRestore', 'dry', {
        source: { bucket: f.bucket, prefix: 'site/' },
        at: f.at,
        dryRun: true,
      })
    ).result()) as BulkJobResult;
    expect(r.gate).toMatchObject({ stopped: true, radius: { overwrites: 20, keysInScope: 20 } });
    expect(r.steps.find((s) => s.name === 'blast-radius gate')?.detail).toMatch(
      /dry run: the real run would stop/,
    );
  });

  it('within the thresholds it passes on its own; autoApprove passes a large plan and records it', async () => {
    const f = await badDeploy('gate-pass', 4, 16);
    // 4 of 20 keys overwritten: under half, and under the 10-key floor.
    const small = (await (
      await start('pointInTimeRestore', 'small', { source: { bucket: f.bucket }, at: f.at })
    ).result()) as BulkJobResult;
    expect(small.gate).toMatchObject({ stopped: false, radius: { keysInScope: 20, overwrites: 4 } });
    const g = await badDeploy('gate-auto');
    const auto = (await (
      await start('pointInTimeRestore', 'auto', {
        source: { bucket: g.bucket, prefix: 'site/' },
        at: g.at,
        autoApprove: true,
      })
    ).result()) as BulkJobResult;
    expect(auto.gate).toMatchObject({ stopped: true, approval: { approved: true, auto: true } });
    expect(auto.applied.copy).toBe(20);
    // A threshold of the input's own: 100% overwrites allowed, nothing stops.
    const h = await badDeploy('gate-threshold');
    const own = (await (
      await start('pointInTimeRestore', 'own', {
        source: { bucket: h.bucket, prefix: 'site/' },
        at: h.at,
        maxOverwriteFraction: 1,
      })
    ).result()) as BulkJobResult;
    expect(own.gate?.stopped).toBe(false);
  });

  it('stops an undo that would overwrite the whole prefix; rejected, nothing changes; approved, it puts back', async () => {
    const f = await badDeploy('gate-undo');
    const restore = await start('pointInTimeRestore', 'restore', {
      source: { bucket: f.bucket, prefix: 'site/' },
      at: f.at,
      autoApprove: true,
    });
    await restore.result();
    const before = await versionList(f.bucket);
    const undo = await start('undoRestore', 'undo', { jobId: restore.workflowId } satisfies UndoRestoreInput);
    const gate = await atGate(undo);
    expect(gate.radius).toMatchObject({ keysInScope: 20, overwrites: 20, deletes: 0 });
    await undo.executeUpdate(rejectGateUpdate, { args: [{ by: 'test' }] });
    expect((await failureOf(undo)).type).toBe('GateRejected');
    expect(await versionList(f.bucket)).toEqual(before);

    const again = await start('undoRestore', 'undo-approved', { jobId: restore.workflowId });
    await atGate(again);
    await again.executeUpdate(approveGateUpdate, { args: [{ by: 'test' }] });
    const u = (await again.result()) as UndoRestoreResult;
    expect(u.applied.copy).toBe(20);
    expect(u.gate?.approval?.approved).toBe(true);
    for (const k of f.siteKeys) expect((await getBytes(f.bucket, k)).toString()).toBe(`bad-${k}`);
  });
});

describe('refused at once, nothing started', () => {
  it('an "at" in the future', async () => {
    const { bucket } = await liveBucket('gate-future');
    const at = new Date(Date.now() + 3600_000).toISOString();
    const f = await failureOf(await start('pointInTimeRestore', 'future', { source: { bucket }, at }));
    expect(f.type).toBe('InvalidInput');
    expect(f.message).toMatch(/field "at": is in the future/);
  });

  it('a second input, as the Web UI form lets one add', async () => {
    const { bucket } = await liveBucket('gate-second');
    const before = await versionList(bucket);
    const at = new Date().toISOString();
    for (const type of ['pointInTimeRestore', 'versionRecovery']) {
      const input =
        type === 'pointInTimeRestore'
          ? { source: { bucket }, at }
          : { action: 'remove-delete-marker', bucket, keys: ['data/000.csv'] };
      const h = await start(type, 'second-input', input, { pageNumber: 99, cursor: 'zzz' });
      const f = await failureOf(h);
      expect(f.type).toBe('InvalidInput');
      expect(f.message).toMatch(/expected exactly one JSON object, got 2 inputs/);
    }
    expect(await versionList(bucket)).toEqual(before);
  });

  it('a pattern or a URL given as a prefix, and a part range started by hand', async () => {
    const { bucket } = await liveBucket('gate-prefix');
    const at = new Date().toISOString();
    const glob = await failureOf(
      await start('pointInTimeRestore', 'glob', { source: { bucket, prefix: 'data/*' }, at }),
    );
    expect(glob.message).toMatch(/field "source.prefix": is a pattern/);
    const url = await failureOf(
      await start('bulkCopy', 'url', {
        source: { bucket, prefix: 's3://x/data/' },
        target: { bucket: `${bucket}-b` },
      }),
    );
    expect(url.message).toMatch(/field "source.prefix": is a URL/);
    const range = await failureOf(
      await start('pointInTimeRestore', 'range', {
        source: { bucket },
        at,
        range: { afterKey: 'data/010.csv' },
      }),
    );
    expect(range.message).toMatch(/field "range": is set by the parent of a split job/);
  });
});
