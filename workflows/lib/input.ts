// A workflow's one JSON input, parsed first: a bad field fails the run at once, non-retryable, naming it.
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import { z } from 'zod';
import { ErrorType } from '../../core/errors';
import { atInFuture } from '../../core/safety';
import { parseInput } from '../../core/validate';

export function parseWorkflowInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  workflow: string,
): z.output<S> {
  const parsed = parseInput(schema, input, workflow);
  if (!parsed.ok)
    throw ApplicationFailure.create({
      message: parsed.message,
      type: ErrorType.InvalidInput,
      nonRetryable: true,
      details: [{ field: parsed.field }],
    });
  return parsed.value;
}

function refuse(workflow: string, field: string, message: string): never {
  throw ApplicationFailure.create({
    message: `invalid ${workflow} input: field "${field}": ${message}`,
    type: ErrorType.InvalidInput,
    nonRetryable: true,
    details: [{ field }],
  });
}

/**
 * A workflow takes one JSON object. The Web UI's form lets an operator add a second input; for a
 * workflow that continues as new, that second input would be taken for the state carried from an
 * earlier run. Refused unless this run really continued an earlier one.
 */
export function refuseExtraInput(workflow: string, carried: unknown, extra: readonly unknown[] = []): void {
  const given = extra.length + (carried !== undefined ? 1 : 0);
  if (extra.length > 0 || (carried !== undefined && !workflowInfo().continuedFromExecutionRunId))
    refuse(
      workflow,
      '(input)',
      `expected exactly one JSON object, got ${given + 1} inputs: remove the extra ones (nothing was started)`,
    );
}

/**
 * Refusals that need the clock or the run's ancestry, checked at the start of a job before it reads
 * or holds anything: an `at` in the future (no versions from then exist yet, and a listing would see
 * writes made during the job); a part's `range` on a job no parent started.
 */
export function checkJobStart(workflow: string, job: { at?: string; range?: unknown }): void {
  const future = atInFuture(job.at, workflowInfo().startTime.getTime());
  if (future) refuse(workflow, 'at', future);
  if (job.range !== undefined && !workflowInfo().parent)
    refuse(
      workflow,
      'range',
      'is set by the parent of a split job for its parts: start the job without it (use parts)',
    );
}
