// Typed helpers that start, wait for and inspect Lifeboat workflows: shared by the CLI, the demo and tests.
import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { LifeboatConfig } from '../core/config';
import {
  bulkCopyWorkflowId,
  pointInTimeRestoreWorkflowId,
  verifyReplicaWorkflowId,
  versionRecoveryWorkflowId,
  undoRestoreWorkflowId,
} from '../core/ids';
import { BulkCopyInput, PointInTimeRestoreInput } from '../core/pitr';
import { VerifyReplicaInput } from '../core/replica-diff';
import { Step } from '../core/steps';
import { parseInput } from '../core/validate';
import { UndoRestoreInput } from '../core/undo';
import { VersionRecoveryInput } from '../core/version-recovery';
import type { UndoProgress, UndoRestoreResult } from '../workflows/undo-restore';
import { undoProgressQuery } from '../workflows/undo-restore';
import { connectClient } from '../worker/clients';
import type { VersionRecoveryResult } from '../workflows/version-recovery';
import type { VerifyReplicaResult } from '../workflows/verify-replica';
import { stepsQuery } from '../workflows/lib/steps';
import type { BulkJobResult, Progress } from '../workflows/point-in-time-restore';
import { progressQuery } from '../workflows/point-in-time-restore';
import { addCounts } from '../core/pitr';

/** A problem the operator can fix: bad input, unreachable service. Exit code 2 in the CLI. */
export class UsageError extends Error {}

export async function connect(config: LifeboatConfig): Promise<Client> {
  try {
    const connection = await connectClient(config.temporal);
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    throw new UsageError(
      `cannot reach Temporal at ${config.temporal.address} (${(err as Error).message}): start the local stack with "npm run stack:up", or check temporal.address in the configuration`,
    );
  }
}

export function webUiLink(config: LifeboatConfig, workflowId: string): string | undefined {
  if (!config.temporal.webUi) return undefined;
  return `${config.temporal.webUi}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** Validate here first, so a bad input is an immediate error and no workflow is started. */
export function validateVersionRecovery(input: unknown): VersionRecoveryInput {
  const parsed = parseInput(VersionRecoveryInput, input, 'versionRecovery');
  if (!parsed.ok) throw new UsageError(parsed.message);
  return input as VersionRecoveryInput;
}

/** Warn when nothing polls the task queue: the run would wait silently for a worker. */
export async function hasWorker(client: Client, config: LifeboatConfig): Promise<boolean> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: config.temporal.namespace,
    taskQueue: { name: config.temporal.taskQueue },
    taskQueueType: 1, // workflow task queue
  });
  return (res.pollers ?? []).length > 0;
}

export async function startWorkflow<T>(
  client: Client,
  config: LifeboatConfig,
  workflowType: string,
  workflowId: string,
  input: unknown,
): Promise<WorkflowHandle> {
  try {
    return await client.workflow.start(workflowType, {
      taskQueue: config.temporal.taskQueue,
      workflowId,
      args: [input as T],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new UsageError(
        `the same run is already in progress as ${workflowId}: follow it with "lifeboat status ${workflowId}"`,
      );
    }
    throw err;
  }
}

export async function startVersionRecovery(
  client: Client,
  config: LifeboatConfig,
  input: VersionRecoveryInput,
  workflowId?: string,
): Promise<WorkflowHandle> {
  validateVersionRecovery(input);
  return startWorkflow(
    client,
    config,
    'versionRecovery',
    workflowId ?? versionRecoveryWorkflowId(input),
    input,
  );
}

export type { VersionRecoveryResult, BulkJobResult, Progress, UndoRestoreResult };

export function validatePointInTimeRestore(input: unknown): PointInTimeRestoreInput {
  const parsed = parseInput(PointInTimeRestoreInput, input, 'pointInTimeRestore');
  if (!parsed.ok) throw new UsageError(parsed.message);
  return input as PointInTimeRestoreInput;
}

export function validateBulkCopy(input: unknown): BulkCopyInput {
  const parsed = parseInput(BulkCopyInput, input, 'bulkCopy');
  if (!parsed.ok) throw new UsageError(parsed.message);
  return input as BulkCopyInput;
}

export async function startPointInTimeRestore(
  client: Client,
  config: LifeboatConfig,
  input: PointInTimeRestoreInput,
  workflowId?: string,
): Promise<WorkflowHandle> {
  validatePointInTimeRestore(input);
  return startWorkflow(
    client,
    config,
    'pointInTimeRestore',
    workflowId ?? pointInTimeRestoreWorkflowId(input),
    input,
  );
}

export async function startBulkCopy(
  client: Client,
  config: LifeboatConfig,
  input: BulkCopyInput,
  workflowId?: string,
): Promise<WorkflowHandle> {
  validateBulkCopy(input);
  return startWorkflow(client, config, 'bulkCopy', workflowId ?? bulkCopyWorkflowId(input), input);
}

export function validateUndoRestore(input: unknown): UndoRestoreInput {
  const parsed = parseInput(UndoRestoreInput, input, 'undoRestore');
  if (!parsed.ok) throw new UsageError(parsed.message);
  return input as UndoRestoreInput;
}

/** Starts the undo of an in-place point-in-time restore (workflow undoRestore). */
export async function startUndoRestore(
  client: Client,
  config: LifeboatConfig,
  input: UndoRestoreInput,
  workflowId?: string,
): Promise<WorkflowHandle> {
  validateUndoRestore(input);
  return startWorkflow(client, config, 'undoRestore', workflowId ?? undoRestoreWorkflowId(input), input);
}

/**
 * The bulk job's progress, or undefined when no worker answers. A split job's counts are those of
 * its finished parts plus, here, those of the parts still running (asked each in turn).
 */
export async function jobProgress(handle: WorkflowHandle): Promise<Progress | undefined> {
  const p = await handle.query(progressQuery).catch(() => undefined);
  if (!p?.parts || p.parts.running.length === 0) return p;
  const client = handle.client;
  const running = await Promise.all(
    p.parts.running.map((id) =>
      client
        .getHandle(id)
        .query(progressQuery)
        .catch(() => undefined),
    ),
  );
  const planned = running.reduce((c, r) => (r ? addCounts(c, r.planned) : c), p.planned);
  const applied = running.reduce((c, r) => (r ? addCounts(c, r.applied) : c), p.applied);
  const pages = running.reduce((n, r) => n + (r?.pages ?? 0), p.pages);
  const failed = running.reduce((n, r) => n + (r?.failed ?? 0), p.failed);
  const elapsed = (Date.now() - Date.parse(p.startedAt)) / 1000;
  const keysPerSecond = elapsed > 0 ? planned.keys / elapsed : 0;
  const left = p.totalKeys !== undefined ? Math.max(0, p.totalKeys - planned.keys) : undefined;
  return {
    ...p,
    planned,
    applied,
    pages,
    failed,
    keysPerSecond,
    etaSeconds: left !== undefined && keysPerSecond > 0 ? left / keysPerSecond : undefined,
  };
}

/** The failure's own type and message, when a run failed. */
export function describeFailure(err: unknown): { type?: string; message: string } {
  if (err instanceof WorkflowFailedError) {
    const cause = err.cause;
    if (cause instanceof ApplicationFailure) return { type: cause.type ?? undefined, message: cause.message };
    return { message: cause?.message ?? err.message };
  }
  return { message: (err as Error).message };
}

export interface RunStatus {
  workflowId: string;
  workflowType: string;
  status: string;
  startTime: string;
  closeTime?: string;
  steps: Step[];
  progress?: Progress;
  /** An undo's progress while it runs. */
  undoProgress?: UndoProgress;
  result?: unknown;
  failure?: { type?: string; message: string };
}

/** Status and step log of a run: from the result when it is closed, from the `steps` query while it runs. */
export async function runStatus(client: Client, workflowId: string): Promise<RunStatus> {
  const handle = client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  const status: RunStatus = {
    workflowId,
    workflowType: desc.type,
    status: desc.status.name,
    startTime: desc.startTime.toISOString(),
    closeTime: desc.closeTime?.toISOString(),
    steps: [],
  };
  if (desc.status.name === 'COMPLETED') {
    const result = (await handle.result()) as { steps?: Step[] };
    status.result = result;
    status.steps = result.steps ?? [];
    return status;
  }
  if (desc.status.name === 'FAILED') {
    status.failure = await handle.result().then(
      () => undefined,
      (e: unknown) => describeFailure(e),
    );
  }
  if (desc.type === 'pointInTimeRestore' || desc.type === 'bulkCopy')
    status.progress = await jobProgress(handle);
  if (desc.type === 'undoRestore' && desc.status.name === 'RUNNING')
    status.undoProgress = await handle.query(undoProgressQuery).catch(() => undefined);
  // The steps query needs a worker; a closed run without one still reports its status.
  status.steps = await Promise.race([
    handle.query(stepsQuery).catch(() => []),
    new Promise<Step[]>((r) => setTimeout(() => r([]), 10_000).unref()),
  ]);
  return status;
}

export type { VerifyReplicaResult };

export function validateVerifyReplica(input: unknown): VerifyReplicaInput {
  const parsed = parseInput(VerifyReplicaInput, input, 'verifyReplica');
  if (!parsed.ok) throw new UsageError(parsed.message);
  return input as VerifyReplicaInput;
}

/**
 * Starts verifyReplica under the id of the pair and the minute; the same verification already
 * running (asked twice within a minute) is followed instead of refused.
 */
export async function startVerifyReplica(
  client: Client,
  config: LifeboatConfig,
  input: VerifyReplicaInput,
  workflowId?: string,
): Promise<{ handle: WorkflowHandle; attached: boolean }> {
  validateVerifyReplica(input);
  const id = workflowId ?? verifyReplicaWorkflowId({ ...input, at: new Date().toISOString() });
  try {
    const handle = await client.workflow.start('verifyReplica', {
      taskQueue: config.temporal.taskQueue,
      workflowId: id,
      args: [input],
    });
    return { handle, attached: false };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return { handle: client.workflow.getHandle(id), attached: true };
    throw err;
  }
}
