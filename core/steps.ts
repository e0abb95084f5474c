// The step log every workflow keeps: plain data, exposed by the `steps` query and in results.

export type StepOutcome = 'running' | 'ok' | 'failed' | 'skipped';

export interface Step {
  name: string;
  startedAt: string;
  endedAt?: string;
  outcome: StepOutcome;
  /** Counts and measures of the step (keys, bytes, versions). */
  numbers?: Record<string, number>;
  detail?: string;
}

export function stepSeconds(step: Step): number | undefined {
  if (!step.endedAt) return undefined;
  return (Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000;
}
