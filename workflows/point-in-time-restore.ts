// pointInTimeRestore and bulkCopy: the paged bulk engine. A bucket or prefix back to time T (in place
// or into another bucket), or copied as it is now; one activity per listing page, pausable,
// continued as new when the history grows, counters and a cursor the only state carried. Before the
// first write: a lease on the range written, a survey of the whole plan, the blast-radius gate.
import { continueAsNew } from '@temporalio/workflow';
import { BulkCopyInput, PointInTimeRestoreInput } from '../core/pitr';
import { BulkJobResult, EngineState } from './lib/bulk-job';
import { runJob } from './lib/bulk-engine';
import { parseWorkflowInput, refuseExtraInput } from './lib/input';

export { PointInTimeRestoreInput, BulkCopyInput };
export * from './lib/bulk-job';

export async function pointInTimeRestore(
  input: PointInTimeRestoreInput,
  carried?: EngineState,
  ...extra: unknown[]
): Promise<BulkJobResult> {
  refuseExtraInput('pointInTimeRestore', carried, extra);
  const req = parseWorkflowInput(PointInTimeRestoreInput, input, 'pointInTimeRestore');
  return runJob(
    {
      procedure: 'pointInTimeRestore',
      source: req.source,
      target: req.target,
      at: req.at,
      atGiven: req.at,
      from: req.from,
      dryRun: req.dryRun,
      deleteKeysCreatedAfter: req.deleteKeysCreatedAfter ?? req.target === undefined,
      skipExisting: true,
      pageSize: req.pageSize,
      pagesPerRun: req.pagesPerRun,
      parts: req.parts,
      range: req.range,
      partInput: (range) => ({ ...input, parts: 1, range }),
      safety: req,
    },
    req.concurrency,
    carried,
    (state) => continueAsNew<typeof pointInTimeRestore>(input, state),
  );
}

export async function bulkCopy(
  input: BulkCopyInput,
  carried?: EngineState,
  ...extra: unknown[]
): Promise<BulkJobResult> {
  refuseExtraInput('bulkCopy', carried, extra);
  const req = parseWorkflowInput(BulkCopyInput, input, 'bulkCopy');
  const startedAt = new Date().toISOString();
  return runJob(
    {
      procedure: 'bulkCopy',
      source: req.source,
      target: req.target,
      // "As it is now" is the moment the job started, the same in every run of it.
      at: req.at ?? carried?.startedAt ?? startedAt,
      atGiven: req.at,
      dryRun: req.dryRun,
      deleteKeysCreatedAfter: false,
      skipExisting: req.skipExisting,
      pageSize: req.pageSize,
      pagesPerRun: req.pagesPerRun,
      parts: req.parts,
      range: req.range,
      // Every part copies the state at the same instant: the parent's start.
      partInput: (range) => ({ ...input, at: req.at ?? carried?.startedAt ?? startedAt, parts: 1, range }),
      safety: { ...req, allowDeleteAll: false },
    },
    req.concurrency,
    carried,
    (state) => continueAsNew<typeof bulkCopy>(input, state),
  );
}
