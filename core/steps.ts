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

/** The name of the step that stands for steps folded away by compactSteps. */
export const FOLDED_STEP = 'earlier steps';

/**
 * The step log a run carries into the next (continue-as-new), bounded whatever the run count: the
 * first `head` steps (the job's checks and gates) and the latest ones are kept; those between are
 * folded into one step with their count, time span and outcomes.
 */
export function compactSteps(steps: readonly Step[], max = 24, head = 6): Step[] {
  if (steps.length <= max) return [...steps];
  const tailCount = max - head - 1;
  const middle = steps.slice(head, steps.length - tailCount);
  let folded = 0;
  let failed = 0;
  for (const s of middle) {
    const inner = s.name === FOLDED_STEP ? (s.numbers?.steps ?? 1) : 1;
    folded += inner;
    failed += s.name === FOLDED_STEP ? (s.numbers?.failed ?? 0) : s.outcome === 'failed' ? 1 : 0;
  }
  const fold: Step = {
    name: FOLDED_STEP,
    startedAt: middle[0].startedAt,
    endedAt: middle[middle.length - 1].endedAt ?? middle[middle.length - 1].startedAt,
    outcome: failed > 0 ? 'failed' : 'ok',
    numbers: { steps: folded, failed },
    detail: `${folded} steps folded to keep the history bounded (each run's numbers are in its own history)`,
  };
  return [...steps.slice(0, head), fold, ...steps.slice(steps.length - tailCount)];
}
