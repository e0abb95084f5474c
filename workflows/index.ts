// Every workflow the worker registers.
export { versionRecovery } from './version-recovery';
export { bulkCopy, pointInTimeRestore } from './point-in-time-restore';
export { regionFailover } from './region-failover';
export { regionFailback } from './region-failback';
export { verifyReplica } from './verify-replica';
export { undoRestore } from './undo-restore';
export { bucketLock } from './bucket-lock';
