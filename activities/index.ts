// Every activity the worker registers, built from injected clients.
import { S3Deps } from './deps';
import { createVersionRecoveryActivities } from './version-recovery';

export type ActivityDeps = S3Deps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createVersionRecoveryActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
