// bucketLock: one per bucket (`lock/<region>/<bucket>`), the arbiter of who writes which key range of it.
// Jobs reach it by update-with-start; it grants, refuses or queues, expires leases that stop being
// renewed, reclaims those of holders that have ended, and lets an operator break one with a reason.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LeaseActivities } from '../activities/leases';
import {
  acquire,
  AcquireOutcome,
  breakLease,
  conflictsOf,
  emptyLeaseTable,
  expire,
  grantWaiters,
  Lease,
  LeaseRequest,
  LeaseTable,
  LOCK_QUERY,
  LOCK_UPDATES,
  nextExpiry,
  reclaim,
  release,
  renew,
  RenewOutcome,
} from '../core/leases';
import { leaseGrantedSignal, leaseRevokedSignal } from './lib/lease';

export interface BucketLockInput {
  region: string;
  bucket: string;
  /** Events per run before continuing as new (default 5,000; lowered by the history-bound test). */
  maxEventsPerRun?: number;
}

export interface BucketLockState extends LeaseTable {
  region: string;
  bucket: string;
  workflowId: string;
}

export const acquireLeaseUpdate = defineUpdate<AcquireOutcome, [LeaseRequest]>(LOCK_UPDATES.acquire);
export const renewLeaseUpdate = defineUpdate<RenewOutcome, [{ holder: string }]>(LOCK_UPDATES.renew);
export const releaseLeaseUpdate = defineUpdate<{ released: boolean }, [{ holder: string; reason?: string }]>(
  LOCK_UPDATES.release,
);
export const breakLeaseUpdate = defineUpdate<Lease, [{ holder: string; by?: string; reason: string }]>(
  LOCK_UPDATES.break,
);
export const leasesQuery = defineQuery<BucketLockState>(LOCK_QUERY);

const probes = proxyActivities<LeaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});

/** With nothing held nor queued for this long, the lock ends (the next job starts it again). */
const IDLE_MS = 10 * 60 * 1000;
/** A lock lives for weeks under steady use: continue as new well before the history grows large. */
const MAX_EVENTS_PER_RUN = 5000;

type Notice =
  { holder: string; kind: 'granted' } | { holder: string; kind: 'revoked'; by: string; reason: string };

export async function bucketLock(input: BucketLockInput, carried?: LeaseTable): Promise<void> {
  const table: LeaseTable = carried ?? emptyLeaseTable();
  const notices: Notice[] = [];
  let changed = false;
  const now = () => Date.now();
  const granted = (leases: Lease[]) => {
    for (const l of leases) notices.push({ holder: l.holder, kind: 'granted' });
  };
  /** Expired leases go, and the waiters they held up get theirs. */
  const tidy = () => {
    expire(table, now());
    granted(grantWaiters(table, now()));
  };

  setHandler(leasesQuery, () => ({
    ...table,
    region: input.region,
    bucket: input.bucket,
    workflowId: workflowInfo().workflowId,
  }));

  setHandler(
    acquireLeaseUpdate,
    async (req) => {
      tidy();
      // Before refusing for a holder, ask whether it still runs: one that ended (terminated, failed,
      // completed without releasing) will never release, and a bucket must not stay locked for it.
      const conflicts = conflictsOf(table, req.holder, req.range);
      if (conflicts.length > 0) {
        const statuses = await probes.workflowStatuses({ ids: conflicts.map((c) => c.holder) });
        for (const [holder, status] of Object.entries(statuses))
          if (status !== 'RUNNING') reclaim(table, holder, status, now());
        tidy();
      }
      const out = acquire(table, req, now());
      changed = true;
      return out;
    },
    {
      validator: (req: LeaseRequest) => {
        if (!req || typeof req.holder !== 'string' || req.holder === '')
          throw new Error('holder is required');
        if (!req.range || !('prefix' in req.range || 'keys' in req.range))
          throw new Error('range must be { prefix } or { keys }');
        if (!(req.ttlSeconds >= 1)) throw new Error('ttlSeconds must be at least 1');
      },
    },
  );

  setHandler(renewLeaseUpdate, ({ holder }) => {
    tidy();
    changed = true;
    return renew(table, holder, now());
  });

  setHandler(releaseLeaseUpdate, ({ holder, reason }) => {
    const lease = release(table, holder, now(), reason);
    granted(grantWaiters(table, now()));
    changed = true;
    return { released: lease !== undefined };
  });

  setHandler(
    breakLeaseUpdate,
    ({ holder, by, reason }) => {
      const lease = breakLease(table, holder, by ?? 'an operator', reason, now())!;
      notices.push({ holder, kind: 'revoked', by: by ?? 'an operator', reason });
      granted(grantWaiters(table, now()));
      changed = true;
      return lease;
    },
    {
      validator: (req: { holder: string; by?: string; reason: string }) => {
        if (!req?.reason || req.reason.trim() === '')
          throw new Error('a reason is required to break a lease (it is recorded)');
        if (!table.leases.some((l) => l.holder === req.holder))
          throw new Error(
            `no lease held by "${req?.holder}" (held: ${table.leases.map((l) => l.holder).join(', ') || 'none'})`,
          );
      },
    },
  );

  for (;;) {
    const next = nextExpiry(table);
    const idle = table.leases.length === 0 && table.waiters.length === 0;
    const wait = idle ? IDLE_MS : Math.max(0, (next ?? now()) - now()) + 10;
    const woke = await condition(() => changed || notices.length > 0, wait);
    changed = false;
    // Tell holders their turn came (or their lease was broken); one that has ended gets nothing,
    // and its lease goes at once.
    while (notices.length > 0) {
      const n = notices.shift()!;
      const handle = getExternalWorkflowHandle(n.holder);
      try {
        if (n.kind === 'granted')
          await handle.signal(leaseGrantedSignal, { lock: workflowInfo().workflowId });
        else await handle.signal(leaseRevokedSignal, { by: n.by, reason: n.reason });
      } catch {
        if (n.kind === 'granted') {
          release(table, n.holder, now(), 'the holder had ended when its turn came');
          granted(grantWaiters(table, now()));
        }
      }
    }
    tidy();
    if (!woke && idle && table.leases.length === 0 && table.waiters.length === 0) {
      await condition(allHandlersFinished);
      if (table.leases.length === 0 && table.waiters.length === 0 && notices.length === 0) return;
    }
    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > (input.maxEventsPerRun ?? MAX_EVENTS_PER_RUN)) {
      await condition(allHandlersFinished);
      if (notices.length === 0) return continueAsNew<typeof bucketLock>(input, table);
    }
  }
}
