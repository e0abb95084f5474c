// The lease table of a bucket's lock: which ranges overlap, and grant, refuse, queue, renew, release,
// expire, reclaim and break, by table and as properties over random sequences of requests.
import fc from 'fast-check';
import {
  acquire,
  breakLease,
  commonPrefix,
  describeRange,
  emptyLeaseTable,
  expire,
  grantWaiters,
  LeaseRange,
  LeaseTable,
  MAX_LEASE_EVENTS,
  MAX_LEASED_KEYS,
  nextExpiry,
  rangeForKeys,
  rangesOverlap,
  reclaim,
  release,
  renew,
} from '../../core/leases';

const P = (prefix: string): LeaseRange => ({ prefix });
const K = (...keys: string[]): LeaseRange => ({ keys });

describe('rangesOverlap', () => {
  test.each([
    [P(''), P('site/'), true],
    [P('site/'), P('site/img/'), true],
    [P('site/'), P('docs/'), false],
    [P('site'), P('site-old/'), true], // S3 prefixes are plain string prefixes: "site" covers "site-old/"
    [P('site/'), P('site'), true],
    [P('site/'), K('site/a.html'), true],
    [P('site/'), K('site'), false],
    [P('site/'), K('docs/a', 'docs/b'), false],
    [K('a', 'b'), K('b', 'c'), true],
    [K('a', 'b'), K('c'), false],
    [K('a'), P(''), true],
  ])('%j and %j: %s', (a, b, expected) => {
    expect(rangesOverlap(a, b)).toBe(expected);
    expect(rangesOverlap(b, a)).toBe(expected);
  });

  test('a range overlaps itself; a key range overlaps exactly the prefixes its keys start with', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 6 }), { minLength: 1, maxLength: 5 }),
        fc.string({ maxLength: 4 }),
        (keys, prefix) => {
          expect(rangesOverlap(K(...keys), K(...keys))).toBe(true);
          expect(rangesOverlap(P(prefix), P(prefix))).toBe(true);
          expect(rangesOverlap(K(...keys), P(prefix))).toBe(keys.some((k) => k.startsWith(prefix)));
        },
      ),
    );
  });
});

describe('rangeForKeys and describeRange', () => {
  test('a few keys are leased exactly; many by their common prefix', () => {
    expect(rangeForKeys(['b', 'a', 'a'])).toEqual(K('a', 'b'));
    const many = Array.from({ length: MAX_LEASED_KEYS + 1 }, (_, i) => `logs/2026/${i}`);
    expect(rangeForKeys(many)).toEqual(P('logs/2026/'));
    expect(commonPrefix(['abc', 'abd', 'ab'])).toBe('ab');
    expect(commonPrefix(['x', 'y'])).toBe('');
    // Never half a surrogate pair.
    expect(commonPrefix(['\u{1F600}a', '\u{1F601}b'])).toBe('');
  });

  test('the common prefix of many keys covers each of them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 8 }), { minLength: MAX_LEASED_KEYS + 1, maxLength: 150 }),
        (keys) => {
          const r = rangeForKeys(keys);
          for (const k of keys) expect(rangesOverlap(r, K(k))).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  test.each([
    [P(''), 'the whole bucket'],
    [P('site/'), 'prefix "site/"'],
    [K('a'), 'key "a"'],
    [K('a', 'b'), 'keys "a", "b"'],
    [K('a', 'b', 'c', 'd', 'e'), 'keys "a", "b", "c" and 2 more'],
  ])('%j reads "%s"', (r, text) => expect(describeRange(r)).toBe(text));
});

const req = (holder: string, range: LeaseRange, wait = false, ttlSeconds = 60) => ({
  holder,
  procedure: 'pointInTimeRestore',
  range,
  ttlSeconds,
  wait,
});
const T0 = Date.parse('2026-12-03T10:00:00Z');

describe('the lease table', () => {
  test('grants disjoint ranges, refuses an overlap naming the holder, queues with wait', () => {
    const t = emptyLeaseTable();
    expect(acquire(t, req('a', P('site/')), T0)).toMatchObject({ granted: true });
    expect(acquire(t, req('b', P('docs/')), T0)).toMatchObject({ granted: true });
    const refused = acquire(t, req('c', P('')), T0);
    expect(refused).toMatchObject({ granted: false, queued: false });
    expect(refused.granted === false && refused.conflicts.map((l) => l.holder).sort()).toEqual(['a', 'b']);
    expect(acquire(t, req('d', P('site/img/'), true), T0)).toMatchObject({
      granted: false,
      queued: true,
      position: 1,
    });
    expect(acquire(t, req('e', P('docs/x'), true), T0)).toMatchObject({
      granted: false,
      queued: true,
      position: 2,
    });
    expect(t.events.filter((e) => e.kind === 'refused').map((e) => e.holder)).toEqual(['c']);
  });

  test('asking again (a retry, the next run after continue-as-new) renews the lease it holds', () => {
    const t = emptyLeaseTable();
    acquire(t, req('a', P('site/')), T0);
    const again = acquire(t, req('a', P('site/')), T0 + 30_000);
    expect(again).toMatchObject({
      granted: true,
      lease: { since: new Date(T0).toISOString(), expiresAt: new Date(T0 + 90_000).toISOString() },
    });
    expect(t.leases).toHaveLength(1);
  });

  test('release grants the waiters in order whose ranges are free; the others wait on', () => {
    const t = emptyLeaseTable();
    acquire(t, req('a', P('site/')), T0);
    acquire(t, req('b', P('docs/')), T0);
    acquire(t, req('w1', P(''), true), T0); // needs both
    acquire(t, req('w2', P('site/img/'), true), T0); // needs a
    expect(release(t, 'a', T0)).toMatchObject({ holder: 'a' });
    expect(grantWaiters(t, T0).map((l) => l.holder)).toEqual(['w2']);
    release(t, 'b', T0);
    expect(grantWaiters(t, T0)).toEqual([]); // w1 still overlaps w2
    release(t, 'w2', T0);
    expect(grantWaiters(t, T0).map((l) => l.holder)).toEqual(['w1']);
    expect(t.waiters).toEqual([]);
  });

  test('a lease not renewed within its ttl expires, and renewing it afterwards says so', () => {
    const t = emptyLeaseTable();
    acquire(t, req('a', P('site/'), false, 10), T0);
    expect(renew(t, 'a', T0 + 9_000)).toMatchObject({ ok: true });
    expect(nextExpiry(t)).toBe(T0 + 19_000);
    expect(expire(t, T0 + 18_999)).toEqual([]);
    expect(expire(t, T0 + 19_000).map((l) => l.holder)).toEqual(['a']);
    expect(renew(t, 'a', T0 + 20_000)).toMatchObject({ ok: false, reason: 'expired' });
    expect(nextExpiry(t)).toBeUndefined();
  });

  test('a waiter not seen within its ttl leaves the queue', () => {
    const t = emptyLeaseTable();
    acquire(t, req('a', P('site/'), false, 600), T0);
    acquire(t, req('w', P('site/'), true, 10), T0);
    expect(expire(t, T0 + 10_001)).toEqual([]);
    expect(t.waiters).toEqual([]);
  });

  test('a broken lease records who and why; the holder learns it on its next renewal', () => {
    const t = emptyLeaseTable();
    acquire(t, req('a', P('site/')), T0);
    expect(breakLease(t, 'a', 'alice', 'stuck', T0)).toMatchObject({ holder: 'a' });
    expect(t.events.at(-1)).toMatchObject({ kind: 'broken', holder: 'a', by: 'alice', reason: 'stuck' });
    expect(renew(t, 'a', T0)).toMatchObject({
      ok: false,
      reason: 'broken',
      detail: expect.stringMatching(/broken by alice .*: stuck/),
    });
    expect(breakLease(t, 'nobody', 'alice', 'x', T0)).toBeUndefined();
  });

  test('the lease of a holder that ended is reclaimed with its status', () => {
    const t = emptyLeaseTable();
    acquire(t, req('a', P('site/')), T0);
    reclaim(t, 'a', 'TERMINATED', T0);
    expect(t.leases).toEqual([]);
    expect(t.events.at(-1)).toMatchObject({ kind: 'reclaimed', reason: 'the holder is terminated' });
  });

  test('the events kept are bounded', () => {
    const t = emptyLeaseTable();
    for (let i = 0; i < 3 * MAX_LEASE_EVENTS; i++) {
      acquire(t, req(`h${i}`, P('x/')), T0);
      release(t, `h${i}`, T0);
    }
    expect(t.events).toHaveLength(MAX_LEASE_EVENTS);
    expect(t.events.at(-1)).toMatchObject({ kind: 'released', holder: `h${3 * MAX_LEASE_EVENTS - 1}` });
  });
});

// Random sequences of requests over a few holders and ranges: the invariants the lock stands for.
const holderArb = fc.constantFrom('h1', 'h2', 'h3', 'h4', 'h5');
const rangeArb = fc.oneof(
  fc.constantFrom('', 'a/', 'a/b/', 'b/', 'c').map(P),
  fc
    .array(fc.constantFrom('a/1', 'a/b/2', 'b/3', 'c'), { minLength: 1, maxLength: 3 })
    .map((k) => K(...new Set(k))),
);
const opArb = fc.oneof(
  fc.record({
    op: fc.constant('acquire' as const),
    holder: holderArb,
    range: rangeArb,
    wait: fc.boolean(),
    ttl: fc.integer({ min: 1, max: 30 }),
  }),
  fc.record({ op: fc.constant('release' as const), holder: holderArb }),
  fc.record({ op: fc.constant('renew' as const), holder: holderArb }),
  fc.record({ op: fc.constant('break' as const), holder: holderArb }),
  fc.record({ op: fc.constant('tick' as const), seconds: fc.integer({ min: 0, max: 40 }) }),
);

type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function run(ops: Op[]): LeaseTable {
  const t = emptyLeaseTable();
  let now = T0;
  for (const o of ops) {
    if (o.op === 'acquire') acquire(t, req(o.holder, o.range, o.wait, o.ttl), now);
    if (o.op === 'release') release(t, o.holder, now);
    if (o.op === 'renew') renew(t, o.holder, now);
    if (o.op === 'break') breakLease(t, o.holder, 'op', 'test', now);
    if (o.op === 'tick') {
      now += o.seconds * 1000;
      expire(t, now);
    }
    grantWaiters(t, now);
    // Invariants after every step: no two leases overlap; a holder holds one lease at most and is
    // never both holding and waiting; no lease outlives its ttl since its last renewal.
    for (let i = 0; i < t.leases.length; i++)
      for (let j = i + 1; j < t.leases.length; j++)
        expect(rangesOverlap(t.leases[i].range, t.leases[j].range)).toBe(false);
    const holders = t.leases.map((l) => l.holder);
    expect(new Set(holders).size).toBe(holders.length);
    for (const w of t.waiters) expect(holders).not.toContain(w.holder);
    for (const l of t.leases)
      expect(Date.parse(l.expiresAt)).toBe(Date.parse(l.renewedAt) + l.ttlSeconds * 1000);
    for (const l of t.leases) expect(Date.parse(l.expiresAt)).toBeGreaterThan(now - 1);
  }
  return t;
}

test('property: over any sequence of requests, no two leases overlap and none outlives its ttl', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => void run(ops)),
    { numRuns: 500 },
  );
});

test('property: a waiter whose range is free after a step holds its lease by the end of it', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
      const t = run(ops);
      for (const w of t.waiters) expect(t.leases.some((l) => rangesOverlap(l.range, w.range))).toBe(true);
    }),
    { numRuns: 500 },
  );
});
