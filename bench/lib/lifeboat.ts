// Lifeboat as an operator runs it: a `lifeboat worker` child process (so its CPU and memory are its
// own), jobs started with the Temporal client, and the history each job left in Temporal.
import { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { BulkJobResult } from '../../workflows/point-in-time-restore';
import { localStackConfig } from '../../worker/config';

export interface LifeboatWorker {
  child: ChildProcess;
  pid: number;
  taskQueue: string;
  log: () => string;
}

const started = new Set<ChildProcess>();

/** Every worker still running (for an interrupted benchmark to stop them). */
export function runningWorkers(): ChildProcess[] {
  return [...started];
}

/** A configuration file for the local stack with a task queue of its own and a reports bucket. */
export function writeWorkerConfig(dir: string, taskQueue: string, reportsBucket: string): string {
  const config = localStackConfig();
  const file = join(dir, `${taskQueue}.yaml`);
  writeFileSync(
    file,
    stringify({
      temporal: { ...config.temporal, taskQueue },
      regions: config.regions,
      reports: { region: 'primary', bucket: reportsBucket, prefix: 'lifeboat/' },
    }),
  );
  return file;
}

export async function startWorker(
  root: string,
  configFile: string,
  taskQueue: string,
  nodeArgs: string[] = [],
): Promise<LifeboatWorker> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, join(root, 'dist/client/cli.js'), '--config', configFile, 'worker'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    },
  );
  started.add(child);
  child.once('exit', () => started.delete(child));
  let log = '';
  const keep = (d: Buffer) => (log = (log + d.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const deadline = Date.now() + 90_000;
  while (!log.includes('RUNNING')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the Lifeboat worker did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, pid: child.pid!, taskQueue, log: () => log };
}

/** SIGTERM (a graceful shutdown, which also writes a --cpu-prof profile), SIGKILL after 60 s. */
export async function stopWorker(worker: LifeboatWorker): Promise<number> {
  if (worker.child.exitCode !== null) return Date.now();
  const exited = new Promise<number>((r) => worker.child.once('exit', () => r(Date.now())));
  worker.child.kill('SIGTERM');
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 60_000);
  const at = await exited;
  clearTimeout(timer);
  return at;
}

export async function connect(): Promise<Client> {
  const t = localStackConfig().temporal;
  const connection = await Connection.connect({ address: t.address });
  return new Client({ connection, namespace: t.namespace });
}

export async function runJob(
  client: Client,
  taskQueue: string,
  workflowType: 'bulkCopy' | 'pointInTimeRestore',
  workflowId: string,
  input: unknown,
): Promise<{ result: BulkJobResult; wallSeconds: number; firstRunId: string }> {
  const started = process.hrtime.bigint();
  // A benchmark is automation: its restores rewrite what they were built to rewrite, past the gate.
  const args = [{ autoApprove: true, ...(input as object) }];
  const handle = await client.workflow.start(workflowType, { taskQueue, workflowId, args });
  unfinished.add(workflowId);
  const result = (await handle.result()) as BulkJobResult;
  unfinished.delete(workflowId);
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { result, wallSeconds, firstRunId: handle.firstExecutionRunId };
}

const unfinished = new Set<string>();

/** Terminates the jobs this process started that have not finished (an interrupted benchmark). */
export async function terminateUnfinished(client: Client): Promise<void> {
  for (const id of unfinished)
    await client.workflow
      .getHandle(id)
      .terminate('benchmark interrupted')
      .catch(() => undefined);
  unfinished.clear();
}

/** Events in the job's history, all runs of it (continue-as-new) included. */
export async function historyEvents(client: Client, workflowId: string, firstRunId: string): Promise<number> {
  let total = 0;
  let runId: string | undefined = firstRunId;
  while (runId) {
    const history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>> = await client.workflow
      .getHandle(workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    total += events.length;
    runId =
      events[events.length - 1]?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ??
      undefined;
  }
  return total;
}
