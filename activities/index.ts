// Every activity the worker registers, built from injected clients.
import { createFailoverActivities, WebhookDeps } from './failover';
import { createLeaseActivities, LeaseDeps } from './leases';
import { createReplicationActivities, ReplicationDeps } from './replication';
import { createReportActivities } from './report-activities';
import { ReportsDeps } from './reports';
import { createRestoreActivities } from './restore';
import { createSurveyActivities } from './survey';
import { createUndoActivities } from './undo';
import { createVerifyReplicaActivities } from './verify-replica';
import { createVersionRecoveryActivities } from './version-recovery';

export type ActivityDeps = ReportsDeps & ReplicationDeps & LeaseDeps & WebhookDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createVersionRecoveryActivities(deps),
    ...createRestoreActivities(deps),
    ...createSurveyActivities(deps),
    ...createUndoActivities(deps),
    ...createReportActivities(deps),
    ...createFailoverActivities(deps),
    ...createReplicationActivities(deps),
    ...createVerifyReplicaActivities(deps),
    ...createLeaseActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
