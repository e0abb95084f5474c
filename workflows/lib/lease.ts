// A job's lease on the key range it writes: taken before its first write (refused, naming the holder,
// or queued with waitForLease), renewed while it runs, released when it ends. Continue-as-new keeps it:
// the next run asks again under the same workflow id and is given the lease it holds.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  defineSignal,
  isCancellation,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { LeaseActivities } from '../../activities/leases';
import { ErrorType } from '../../core/errors';
import { describeRange, Lease, LeaseRange } from '../../core/leases';
import { markPhase } from './search-attributes';
import { StepLog } from './steps';

export const leaseGrantedSignal = defineSignal<[{ lock: string }]>('leaseGranted');
export const leaseRevokedSignal = defineSignal<[{ by: string; reason: string }]>('leaseRevoked');

// Local activities: one marker event each instead of three, for a renewal every few minutes.
const leases = proxyLocalActivities<LeaseActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
});

export interface LeaseOptions {
  region: string;
  bucket: string;
  range: LeaseRange;
  procedure: string;
  wait: boolean;
  ttlSeconds: number;
  /** Told what the job waits for (undefined once it holds the lease): for its progress and the Web UI. */
  onWaiting?: (waitingFor: string | undefined) => void;
}

/** The usual `onWaiting`: the job's phase, the Web UI's phase and progress line say what it waits for. */
export function showWaiting(log: StepLog, set: (waitingFor: string | undefined) => void) {
  return (waitingFor: string | undefined) => {
    set(waitingFor);
    if (waitingFor) {
      markPhase('waiting-for-lease');
      log.progress(waitingFor);
    }
  };
}

function holders(conflicts: Lease[]): string {
  return conflicts
    .map(
      (c) =>
        `${c.holder} (${c.procedure}, ${describeRange(c.range)}, since ${c.since}, expires ${c.expiresAt} unless renewed)`,
    )
    .join('; ');
}

/**
 * Runs `body` holding the lease on `range` of the bucket. Refused at once (non-retryable, naming the
 * holder) when another job holds an overlapping range, unless `wait`. A lease that is broken, or that
 * expired and was taken by another job, cancels `body` (it stops before its next write) and the job
 * fails with LeaseLost.
 */
export async function withLease<T>(log: StepLog, opts: LeaseOptions, body: () => Promise<T>): Promise<T> {
  const holder = workflowInfo().workflowId;
  const where = `${opts.region}/${opts.bucket}`;
  const ref = { region: opts.region, bucket: opts.bucket, holder };
  const request = (wait: boolean) =>
    leases.acquireLease({
      ...ref,
      procedure: opts.procedure,
      range: opts.range,
      ttlSeconds: opts.ttlSeconds,
      wait,
    });
  let turnCame = false;
  let lost: string | undefined;
  const bodyScope = new CancellationScope();
  setHandler(leaseGrantedSignal, () => {
    turnCame = true;
  });
  setHandler(leaseRevokedSignal, ({ by, reason }) => {
    lost = `broken by ${by}: ${reason}`;
    bodyScope.cancel();
  });

  const renewScope = new CancellationScope();
  let continued = false;
  try {
    await log.run(
      'take lease',
      async () => {
        for (;;) {
          const out = await request(opts.wait);
          if (out.granted) return out.lease;
          if (!out.queued)
            throw ApplicationFailure.create({
              type: ErrorType.LeaseHeld,
              nonRetryable: true,
              message: `${describeRange(opts.range)} of ${where} overlaps a lease held by ${holders(out.conflicts)}: nothing was written. Wait for it with waitForLease: true (CLI --wait), or see "lifeboat locks"`,
              details: [{ holders: out.conflicts.map((c) => c.holder) }],
            });
          opts.onWaiting?.(
            `waiting for the lease on ${describeRange(opts.range)} of ${where} (place ${out.position} in the queue), held by ${holders(out.conflicts)}`,
          );
          // Asking again now and then keeps the job's place in the queue and covers a lost signal.
          await condition(() => turnCame, Math.max(1000, (opts.ttlSeconds * 1000) / 3));
          turnCame = false;
        }
      },
      undefined,
      (l) => `${describeRange(l.range)} of ${where}, expires ${opts.ttlSeconds} s after the last renewal`,
    );
    opts.onWaiting?.(undefined);

    const renewEvery = Math.max(1000, (opts.ttlSeconds * 1000) / 5);
    void renewScope
      .run(async () => {
        for (;;) {
          await sleep(renewEvery);
          const r = await leases.renewLease(ref);
          if (r.ok) continue;
          if (r.reason === 'broken') {
            lost = r.detail;
            bodyScope.cancel();
            return;
          }
          // It ran out (a worker was gone for longer than the ttl): take it again if no one else has.
          const again = await request(false);
          if (!again.granted) {
            lost = `it expired (${r.detail}) and ${again.conflicts.map((c) => c.holder).join(', ')} took the range`;
            bodyScope.cancel();
            return;
          }
        }
      })
      .catch(() => undefined);
    return await bodyScope.run(body);
  } catch (err) {
    if (err instanceof ContinueAsNew) {
      continued = true;
      throw err;
    }
    if (lost !== undefined && isCancellation(err))
      throw ApplicationFailure.create({
        type: ErrorType.LeaseLost,
        nonRetryable: true,
        message: `the lease on ${describeRange(opts.range)} of ${where} was lost (${lost}): the job stopped before its next write; its report says what it wrote, and running it again finishes the rest`,
      });
    throw err;
  } finally {
    renewScope.cancel();
    // The next run (continue-as-new) takes the lease over under the same id: keep it.
    if (!continued)
      await CancellationScope.nonCancellable(() =>
        leases.releaseLease({ ...ref, reason: 'the job ended' }),
      ).catch(() => undefined);
  }
}
