// Every activity the worker registers, built from injected clients.
import { createFailoverActivities } from './failover';
import { createReplicationActivities, ReplicationDeps } from './replication';
import { createReportActivities } from './report-activities';
import { ReportsDeps } from './reports';
import { createRestoreActivities } from './restore';
import { createUndoActivities } from './undo';
import { createVerifyReplicaActivities } from './verify-replica';
import { createVersionRecoveryActivities } from './version-recovery';

export type ActivityDeps = ReportsDeps & ReplicationDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createVersionRecoveryActivities(deps),
    ...createRestoreActivities(deps),
    ...createUndoActivities(deps),
    ...createReportActivities(deps),
    ...createFailoverActivities(deps),
    ...createReplicationActivities(deps),
    ...createVerifyReplicaActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
