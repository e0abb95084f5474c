// Every workflow the worker registers.
export { versionRecovery } from './version-recovery';
export { bulkCopy, pointInTimeRestore } from './point-in-time-restore';
export { verifyReplica } from './verify-replica';
