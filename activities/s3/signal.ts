// The running activity's cancellation signal, passed to every AWS call so pause and cancel take effect at once.
import { Context } from '@temporalio/activity';

export function activitySignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined; // called outside an activity (CLI, scripts)
  }
}

export function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // outside an activity: nothing to report to
  }
}
