// The bulk engine's contract: the signals, updates and queries of pointInTimeRestore and bulkCopy, their
// progress, the state one run carries into the next, and their result.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { FailedKey, Location } from '../../activities/restore';
import type { CopyPath } from '../../activities/s3/copy';
import { BlastRadiusGate } from '../../core/gate';
import { KeyRange } from '../../core/key-ranges';
import { BulkCopyInput, PlanCounts, PointInTimeRestoreInput } from '../../core/pitr';
import { Step } from '../../core/steps';
import type { GateRecord } from './gate';

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setConcurrencyUpdate = defineUpdate<number, [number]>('setConcurrency');
/** The parent of a split job passes a concurrency change on to its parts with this signal. */
export const concurrencySignal = defineSignal<[number]>('concurrency');
export const progressQuery = defineQuery<Progress>('progress');

export interface Progress {
  phase:
    | 'waiting-for-lease'
    | 'checking'
    | 'surveying'
    | 'awaiting-approval'
    | 'planning'
    | 'restoring'
    | 'paused'
    | 'done'
    | 'failed';
  /** What the job waits for (another job's lease on an overlapping range). */
  waitingFor?: string;
  /** The blast-radius gate: the plan's counts and, when it stopped, the decision awaited or taken. */
  gate?: BlastRadiusGate;
  dryRun: boolean;
  pages: number;
  /** Keys listed so far, and what the plan said for them. */
  planned: PlanCounts;
  /** Keys acted on (copied, markers removed, deleted) and bytes copied. */
  applied: PlanCounts;
  failed: number;
  paused: boolean;
  concurrency: number;
  /** Keys handled per second since the job started (all runs). */
  keysPerSecond: number;
  /** Listing done. */
  listingDone: boolean;
  /** Keys under the prefix, once a listing beside the job has counted them (S3 has no cheap count). */
  totalKeys?: number;
  /** Seconds left at the current rate, once the total is known. */
  etaSeconds?: number;
  cursor?: string;
  startedAt: string;
  /** A split job: its parts (child workflows), done and running; their own progress has the details. */
  parts?: { total: number; done: number; running: string[] };
}

/** What continue-as-new carries: cursors and counters, never object lists. */
export interface EngineState {
  cursor?: string;
  pageNumber: number;
  planned: PlanCounts;
  applied: PlanCounts;
  failedCount: number;
  firstFailed: FailedKey[];
  concurrency: number;
  paused: boolean;
  startedAt: string;
  steps: Step[];
  runs: number;
  totalKeys?: number;
  /** The blast-radius gate's counts and decision (taken once, before the first write). */
  gate?: GateRecord;
  /** Objects copied by each copy path so far. */
  copiedBy?: Record<CopyPath, number>;
}

export interface BulkJobResult {
  workflowId: string;
  procedure: 'pointInTimeRestore' | 'bulkCopy';
  source: Location;
  target?: Location;
  at: string;
  dryRun: boolean;
  planned: PlanCounts;
  applied: PlanCounts;
  failedCount: number;
  /** The first failures (all of them are in the failure reports). */
  failed: FailedKey[];
  /** Where the plan (dry run), undo manifests and failure lists are. */
  reportsPrefix?: string;
  report?: string;
  pages: number;
  runs: number;
  rtoSeconds: number;
  steps: Step[];
  startedAt: string;
  finishedAt: string;
  /** The job was cancelled: the counts say what was done before it stopped. */
  cancelled?: boolean;
  /** A split job: the workflow id, key range and outcome of each part. */
  parts?: PartOutcome[];
  /** What the plan deletes, overwrites and creates, and whether the blast-radius gate stopped it. */
  gate?: GateRecord;
  /** Signals (pause, resume, concurrency) that could not be delivered to a part. */
  undelivered?: string[];
  /** Objects copied by each path: Lifeboat's lean signed CopyObject, the SDK's, streamed, multipart. */
  copiedBy?: Record<CopyPath, number>;
}

export interface PartOutcome {
  workflowId: string;
  range: KeyRange;
  keys?: number;
  status: 'done' | 'failed' | 'cancelled';
  applied?: number;
  failedCount?: number;
  error?: string;
}

export interface Job {
  procedure: 'pointInTimeRestore' | 'bulkCopy';
  source: Location;
  target?: Location;
  at: string;
  /** `at` as the input gave it (bulkCopy's default, the job's start, is not checked against the clock). */
  atGiven?: string;
  from?: string;
  dryRun: boolean;
  deleteKeysCreatedAfter: boolean;
  skipExisting: boolean;
  pageSize: number;
  /** Pages per run before continuing as new, whatever the server suggests (a page is ~10 events). */
  pagesPerRun: number;
  parts: number;
  range?: KeyRange;
  /** The input of part `range`, for the child workflow that runs it. */
  partInput: (range: KeyRange) => PointInTimeRestoreInput | BulkCopyInput;
  /** The lease and the blast-radius gate (see core/safety.ts). */
  safety: {
    waitForLease: boolean;
    leaseTtlSeconds: number;
    autoApprove: boolean;
    approvalTimeoutSeconds: number;
    maxDeleteFraction?: number;
    maxDeleteKeys?: number;
    maxOverwriteFraction?: number;
    maxOverwriteKeys?: number;
    allowDeleteAll: boolean;
  };
}

/** Either engine workflow, called by name for a part: both take one input and return a job result. */
export type PartWorkflow = (input: PointInTimeRestoreInput | BulkCopyInput) => Promise<BulkJobResult>;
