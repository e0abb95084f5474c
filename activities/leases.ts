// Leases on bucket ranges, reached through Temporal itself: a job asks its bucket's lock workflow
// (update-with-start: started if it is not running) for a lease, renews it, releases it; the lock asks
// the server whether the holders it is about to refuse for are still running.
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import {
  AcquireOutcome,
  LeaseRequest,
  LOCK_UPDATES,
  LOCK_WORKFLOW_TYPE,
  lockWorkflowId,
  RenewOutcome,
} from '../core/leases';

export interface LeaseDeps {
  /** The task queue of the lock workflows, which every worker polls besides its own. */
  lockTaskQueue: string;
}

export interface LeaseRef {
  region: string;
  bucket: string;
  holder: string;
}

export type AcquireInput = LeaseRequest & { region: string; bucket: string };

/** The update failed for a reason that retrying cannot fix (a bad request the lock's validator refused). */
function surface(err: unknown): never {
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure)
    throw ApplicationFailure.nonRetryable(err.cause.message, err.cause.type ?? 'LeaseRequestRefused');
  if (err instanceof WorkflowUpdateFailedError)
    throw ApplicationFailure.nonRetryable(err.cause?.message ?? err.message, 'LeaseRequestRefused');
  throw err;
}

export function createLeaseActivities(deps: LeaseDeps) {
  const client = () => Context.current().client;
  const lock = (region: string, bucket: string) =>
    client().workflow.getHandle(lockWorkflowId(region, bucket));
  return {
    /** Asks the bucket's lock for a lease, starting the lock when none runs. */
    acquireLease: async (input: AcquireInput): Promise<AcquireOutcome> => {
      const { region, bucket, ...req } = input;
      try {
        return await client().workflow.executeUpdateWithStart<
          (i: { region: string; bucket: string }) => Promise<void>,
          AcquireOutcome,
          [LeaseRequest]
        >(LOCK_UPDATES.acquire, {
          args: [req],
          startWorkflowOperation: new WithStartWorkflowOperation(LOCK_WORKFLOW_TYPE, {
            workflowId: lockWorkflowId(region, bucket),
            taskQueue: deps.lockTaskQueue,
            workflowIdConflictPolicy: 'USE_EXISTING',
            args: [{ region, bucket }],
          }),
        });
      } catch (err) {
        return surface(err);
      }
    },

    /** Keeps the lease alive; a lock that is gone (it ended idle) means no lease is held. */
    renewLease: async (ref: LeaseRef): Promise<RenewOutcome> => {
      try {
        return await lock(ref.region, ref.bucket).executeUpdate<RenewOutcome, [{ holder: string }]>(
          LOCK_UPDATES.renew,
          { args: [{ holder: ref.holder }] },
        );
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          return { ok: false, reason: 'unknown', detail: 'the bucket has no lock running' };
        return surface(err);
      }
    },

    releaseLease: async (ref: LeaseRef & { reason?: string }): Promise<{ released: boolean }> => {
      try {
        return await lock(ref.region, ref.bucket).executeUpdate<
          { released: boolean },
          [{ holder: string; reason?: string }]
        >(LOCK_UPDATES.release, { args: [{ holder: ref.holder, reason: ref.reason }] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return { released: false };
        return surface(err);
      }
    },

    /**
     * The status of each workflow (RUNNING, COMPLETED, TERMINATED, ... or NOT_FOUND): a lease whose
     * holder has ended will never be released, so the lock reclaims it instead of refusing for it.
     */
    workflowStatuses: async (input: { ids: string[] }): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      for (const id of input.ids) {
        try {
          out[id] = (await client().workflow.getHandle(id).describe()).status.name;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) out[id] = 'NOT_FOUND';
          else throw err;
        }
      }
      return out;
    },
  };
}

export type LeaseActivities = ReturnType<typeof createLeaseActivities>;
