// Every workflow the worker registers.
export { versionRecovery } from './version-recovery';
