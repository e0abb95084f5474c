// The step log of a workflow run: recorded as it goes, exposed by the `steps` query and in the Web UI.
import {
  ActivityFailure,
  ApplicationFailure,
  ContinueAsNew,
  defineQuery,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import { Step } from '../../core/steps';

export const stepsQuery = defineQuery<Step[]>('steps');

export class StepLog {
  readonly steps: Step[];

  /** `carried`: the steps of earlier runs of the same job (continue-as-new). */
  constructor(
    private readonly title: string,
    carried: Step[] = [],
  ) {
    this.steps = carried;
    setHandler(stepsQuery, () => this.steps);
    this.publish();
  }

  /** Run `fn` as a named step; its returned numbers are recorded with the outcome. */
  async run<T>(
    name: string,
    fn: () => Promise<T>,
    numbers?: (result: T) => Record<string, number>,
    detail?: (result: T) => string | undefined,
  ): Promise<T> {
    const step: Step = { name, startedAt: new Date().toISOString(), outcome: 'running' };
    this.steps.push(step);
    this.publish();
    try {
      const result = await fn();
      step.outcome = 'ok';
      step.numbers = numbers?.(result);
      step.detail = detail?.(result);
      return result;
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err; // closed by closeRunning() before it was thrown
      const failure = surfaceActivityFailure(err);
      step.outcome = 'failed';
      step.detail = failure instanceof Error ? failure.message : String(failure);
      throw failure;
    } finally {
      step.endedAt ??= new Date().toISOString();
      this.publish();
    }
  }

  /** Closes the running steps as ok (before continue-as-new carries the log into the next run). */
  closeRunning(detail: string): void {
    const now = new Date().toISOString();
    for (const s of this.steps) {
      if (s.outcome !== 'running') continue;
      s.outcome = 'ok';
      s.endedAt = now;
      s.detail = detail;
    }
  }

  /**
   * A line of progress shown under the title in the Web UI's current details (a long step's pages,
   * counts, rate), and the running step's numbers so far. Not recorded in history: the details are
   * read from the workflow when the Web UI asks.
   */
  progress(line: string, numbers?: Record<string, number>): void {
    this.progressLine = line;
    if (numbers) {
      const running = [...this.steps].reverse().find((s) => s.outcome === 'running');
      if (running) running.numbers = numbers;
    }
    this.publish();
  }

  private progressLine?: string;

  skip(name: string, detail: string): void {
    const now = new Date().toISOString();
    this.steps.push({ name, startedAt: now, endedAt: now, outcome: 'skipped', detail });
    this.publish();
  }

  /** Markdown for the Web UI's "current details". */
  private publish(): void {
    const rows = this.steps.map((s) => {
      const nums = s.numbers
        ? Object.entries(s.numbers)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
        : '';
      return `| ${s.name} | ${s.outcome} | ${nums} | ${(s.detail ?? '').replace(/\|/g, '\\|')} |`;
    });
    setCurrentDetails(
      [
        `**${this.title}**`,
        '',
        ...(this.progressLine ? [this.progressLine, ''] : []),
        '| step | outcome | numbers | detail |',
        '|---|---|---|---|',
        ...rows,
      ].join('\n'),
    );
  }
}

/**
 * An activity's non-retryable refusal (NoSuchBucket, VersioningNotEnabled, ...) becomes the run's own
 * failure with the same type and message, so the Web UI and the CLI show the reason, not a wrapper.
 */
export function surfaceActivityFailure(err: unknown): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable) {
    return ApplicationFailure.create({
      message: err.cause.message,
      type: err.cause.type ?? undefined,
      nonRetryable: true,
      cause: err,
    });
  }
  return err;
}
