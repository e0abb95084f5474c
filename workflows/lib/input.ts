// A workflow's one JSON input, parsed first: a bad field fails the run at once, non-retryable, naming it.
import { ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import { ErrorType } from '../../core/errors';
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
