// Leases on bucket ranges as pure logic: which ranges overlap, and the table of leases and waiters that
// one bucket's lock workflow keeps (grant, refuse, queue, renew, release, expire, break).

/** What a job writes in one bucket: every key under a prefix, or a few named keys. */
export type LeaseRange = { prefix: string } | { keys: string[] };

/** A job naming more keys than this leases their common prefix instead (the lock's state stays small). */
export const MAX_LEASED_KEYS = 100;

/** Events kept in the lock's state (the full record is its workflow history). */
export const MAX_LEASE_EVENTS = 50;

export function commonPrefix(keys: readonly string[]): string {
  if (keys.length === 0) return '';
  let prefix = keys[0];
  for (const k of keys) {
    let i = 0;
    while (i < prefix.length && i < k.length && prefix[i] === k[i]) i++;
    prefix = prefix.slice(0, i);
    if (prefix === '') break;
  }
  // Never cut a surrogate pair in two: the prefix must be a string a key can start with.
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) prefix = prefix.slice(0, -1);
  return prefix;
}

/** The range a job touching these keys leases: the keys themselves, or their common prefix when many. */
export function rangeForKeys(keys: readonly string[]): LeaseRange {
  const unique = [...new Set(keys)].sort();
  if (unique.length <= MAX_LEASED_KEYS) return { keys: unique };
  return { prefix: commonPrefix(unique) };
}

export function rangesOverlap(a: LeaseRange, b: LeaseRange): boolean {
  if ('prefix' in a && 'prefix' in b) return a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
  if ('prefix' in a) return (b as { keys: string[] }).keys.some((k) => k.startsWith(a.prefix));
  if ('prefix' in b) return a.keys.some((k) => k.startsWith(b.prefix));
  const keys = new Set(a.keys);
  return b.keys.some((k) => keys.has(k));
}

export function describeRange(r: LeaseRange): string {
  if ('prefix' in r) return r.prefix === '' ? 'the whole bucket' : `prefix "${r.prefix}"`;
  const shown = r.keys
    .slice(0, 3)
    .map((k) => `"${k}"`)
    .join(', ');
  return r.keys.length > 3
    ? `keys ${shown} and ${r.keys.length - 3} more`
    : `key${r.keys.length > 1 ? 's' : ''} ${shown}`;
}

export interface Lease {
  /** The workflow id of the job holding it (the same through continue-as-new). */
  holder: string;
  procedure: string;
  range: LeaseRange;
  since: string;
  renewedAt: string;
  expiresAt: string;
  /** Without a renewal for this long, the holder is taken for gone and the lease expires. */
  ttlSeconds: number;
}

export interface Waiter {
  holder: string;
  procedure: string;
  range: LeaseRange;
  ttlSeconds: number;
  since: string;
  /** The waiter asks again now and then; one not seen for its ttl is dropped from the queue. */
  lastSeen: string;
}

export type LeaseEventKind = 'granted' | 'released' | 'expired' | 'broken' | 'reclaimed' | 'refused';

export interface LeaseEvent {
  at: string;
  kind: LeaseEventKind;
  holder: string;
  range: LeaseRange;
  by?: string;
  reason?: string;
}

export interface LeaseTable {
  leases: Lease[];
  waiters: Waiter[];
  /** The latest events, newest last, at most MAX_LEASE_EVENTS. */
  events: LeaseEvent[];
}

export const emptyLeaseTable = (): LeaseTable => ({ leases: [], waiters: [], events: [] });

export interface LeaseRequest {
  holder: string;
  procedure: string;
  range: LeaseRange;
  ttlSeconds: number;
  /** Queue behind the holders instead of being refused. */
  wait: boolean;
}

export type AcquireOutcome =
  | { granted: true; lease: Lease }
  | { granted: false; conflicts: Lease[]; queued: boolean; position?: number };

const iso = (ms: number) => new Date(ms).toISOString();

function record(table: LeaseTable, event: LeaseEvent): void {
  table.events.push(event);
  if (table.events.length > MAX_LEASE_EVENTS) table.events.splice(0, table.events.length - MAX_LEASE_EVENTS);
}

function grant(table: LeaseTable, req: Omit<LeaseRequest, 'wait'>, now: number): Lease {
  const lease: Lease = {
    holder: req.holder,
    procedure: req.procedure,
    range: req.range,
    since: iso(now),
    renewedAt: iso(now),
    expiresAt: iso(now + req.ttlSeconds * 1000),
    ttlSeconds: req.ttlSeconds,
  };
  table.leases.push(lease);
  table.waiters = table.waiters.filter((w) => w.holder !== req.holder);
  record(table, { at: lease.since, kind: 'granted', holder: req.holder, range: req.range });
  return lease;
}

/** The held leases a request overlaps (its own lease excepted). */
export function conflictsOf(table: LeaseTable, holder: string, range: LeaseRange): Lease[] {
  return table.leases.filter((l) => l.holder !== holder && rangesOverlap(l.range, range));
}

/**
 * Grants the lease when no other holder's range overlaps; a holder asking again (a retry, or its next
 * run after continue-as-new) has its lease renewed. Otherwise refused, or queued with `wait`.
 */
export function acquire(table: LeaseTable, req: LeaseRequest, now: number): AcquireOutcome {
  const own = table.leases.find((l) => l.holder === req.holder);
  if (own) {
    own.renewedAt = iso(now);
    own.expiresAt = iso(now + own.ttlSeconds * 1000);
    return { granted: true, lease: own };
  }
  const conflicts = conflictsOf(table, req.holder, req.range);
  if (conflicts.length === 0) return { granted: true, lease: grant(table, req, now) };
  if (!req.wait) {
    record(table, {
      at: iso(now),
      kind: 'refused',
      holder: req.holder,
      range: req.range,
      reason: `held by ${conflicts.map((c) => c.holder).join(', ')}`,
    });
    return { granted: false, conflicts, queued: false };
  }
  let waiter = table.waiters.find((w) => w.holder === req.holder);
  if (waiter) waiter.lastSeen = iso(now);
  else {
    waiter = {
      holder: req.holder,
      procedure: req.procedure,
      range: req.range,
      ttlSeconds: req.ttlSeconds,
      since: iso(now),
      lastSeen: iso(now),
    };
    table.waiters.push(waiter);
  }
  return { granted: false, conflicts, queued: true, position: table.waiters.indexOf(waiter) + 1 };
}

/** Grants waiters, first come first served, whose range no held lease overlaps now. Returns them. */
export function grantWaiters(table: LeaseTable, now: number): Lease[] {
  const granted: Lease[] = [];
  for (const w of [...table.waiters]) {
    if (conflictsOf(table, w.holder, w.range).length === 0) granted.push(grant(table, w, now));
  }
  return granted;
}

export type RenewOutcome =
  { ok: true; lease: Lease } | { ok: false; reason: 'expired' | 'broken' | 'unknown'; detail: string };

/** The holder is alive: its lease runs for another ttl. A lease that is gone says why. */
export function renew(table: LeaseTable, holder: string, now: number): RenewOutcome {
  const lease = table.leases.find((l) => l.holder === holder);
  if (lease) {
    lease.renewedAt = iso(now);
    lease.expiresAt = iso(now + lease.ttlSeconds * 1000);
    return { ok: true, lease };
  }
  const last = [...table.events].reverse().find((e) => e.holder === holder && e.kind !== 'refused');
  if (last?.kind === 'broken')
    return {
      ok: false,
      reason: 'broken',
      detail: `broken by ${last.by ?? 'an operator'} at ${last.at}${last.reason ? `: ${last.reason}` : ''}`,
    };
  if (last?.kind === 'expired' || last?.kind === 'reclaimed')
    return {
      ok: false,
      reason: 'expired',
      detail: `${last.kind} at ${last.at}${last.reason ? `: ${last.reason}` : ''}`,
    };
  return { ok: false, reason: 'unknown', detail: 'no lease held' };
}

/** Ends a holder's lease (and its place in the queue). Returns the lease, if it held one. */
export function release(table: LeaseTable, holder: string, now: number, reason?: string): Lease | undefined {
  table.waiters = table.waiters.filter((w) => w.holder !== holder);
  const lease = table.leases.find((l) => l.holder === holder);
  if (!lease) return undefined;
  table.leases = table.leases.filter((l) => l !== lease);
  record(table, { at: iso(now), kind: 'released', holder, range: lease.range, reason });
  return lease;
}

/** An operator takes a lease away, with a reason that is kept. */
export function breakLease(
  table: LeaseTable,
  holder: string,
  by: string,
  reason: string,
  now: number,
): Lease | undefined {
  const lease = table.leases.find((l) => l.holder === holder);
  if (!lease) return undefined;
  table.leases = table.leases.filter((l) => l !== lease);
  record(table, { at: iso(now), kind: 'broken', holder, range: lease.range, by, reason });
  return lease;
}

/** Leases of holders known to have ended (completed, failed, terminated): they will never release. */
export function reclaim(table: LeaseTable, holder: string, status: string, now: number): Lease | undefined {
  table.waiters = table.waiters.filter((w) => w.holder !== holder);
  const lease = table.leases.find((l) => l.holder === holder);
  if (!lease) return undefined;
  table.leases = table.leases.filter((l) => l !== lease);
  record(table, {
    at: iso(now),
    kind: 'reclaimed',
    holder,
    range: lease.range,
    reason: `the holder is ${status.toLowerCase()}`,
  });
  return lease;
}

/** Drops leases not renewed within their ttl and waiters not seen within theirs. Returns the expired leases. */
export function expire(table: LeaseTable, now: number): Lease[] {
  const expired = table.leases.filter((l) => Date.parse(l.expiresAt) <= now);
  table.leases = table.leases.filter((l) => Date.parse(l.expiresAt) > now);
  for (const l of expired)
    record(table, {
      at: iso(now),
      kind: 'expired',
      holder: l.holder,
      range: l.range,
      reason: `not renewed since ${l.renewedAt} (ttl ${l.ttlSeconds} s)`,
    });
  table.waiters = table.waiters.filter((w) => Date.parse(w.lastSeen) + w.ttlSeconds * 1000 > now);
  return expired;
}

/** When the next lease or waiter runs out, in ms since the epoch; undefined when nothing is held or queued. */
export function nextExpiry(table: LeaseTable): number | undefined {
  const times = [
    ...table.leases.map((l) => Date.parse(l.expiresAt)),
    ...table.waiters.map((w) => Date.parse(w.lastSeen) + w.ttlSeconds * 1000),
  ];
  return times.length > 0 ? Math.min(...times) : undefined;
}

/** The lock workflow's type and the names of its updates and query (activities and the CLI call them by name). */
export const LOCK_WORKFLOW_TYPE = 'bucketLock';
export const LOCK_UPDATES = {
  acquire: 'acquireLease',
  renew: 'renewLease',
  release: 'releaseLease',
  break: 'breakLease',
} as const;
export const LOCK_QUERY = 'leases';

/** `lock/<region>/<bucket>`: one lock workflow per bucket, whichever way a job was started. */
export function lockWorkflowId(region: string, bucket: string): string {
  return `lock/${region}/${bucket}`;
}
