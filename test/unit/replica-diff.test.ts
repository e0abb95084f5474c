// The replica diff as pure logic: classifyKey for every class, the streaming merger against the
// whole-listing diff under arbitrary page splits, the RPO estimate, and the VerifyReplicaInput schema.
import fc from 'fast-check';
import { verifyReplicaWorkflowId } from '../../core/ids';
import {
  addDiffCounts,
  addExample,
  classifyKey,
  compareKeys,
  countDiff,
  DIFF_CLASSES,
  DiffClass,
  DiffExamples,
  DiffOptions,
  diffListings,
  earliest,
  emptyDiffCounts,
  inSample,
  KeyDiff,
  ListingMerger,
  ListingOrderError,
  rpoSeconds,
  VerifyReplicaInput,
  withDeepCheck,
  withReplicationStatus,
} from '../../core/replica-diff';
import { parseInput } from '../../core/validate';
import { VersionEntry } from '../../core/versions';

const K = 'docs/a.txt';
const ids: DiffOptions = { compareVersionIds: true };
const content: DiffOptions = { compareVersionIds: false };

const v = (versionId: string, minute: number, etag: string, size = 10, isLatest = false): VersionEntry => ({
  key: K,
  versionId,
  isDeleteMarker: false,
  isLatest,
  lastModified: `2026-11-26T10:${String(minute).padStart(2, '0')}:00.000Z`,
  etag,
  size,
});
const dm = (versionId: string, minute: number, isLatest = false): VersionEntry => ({
  key: K,
  versionId,
  isDeleteMarker: true,
  isLatest,
  lastModified: `2026-11-26T10:${String(minute).padStart(2, '0')}:00.000Z`,
});
/** Newest first, the first flagged latest: as a listing gives them. */
const hist = (...entries: VersionEntry[]) => entries.map((e, i) => ({ ...e, isLatest: i === 0 }));

const t = (minute: number) => `2026-11-26T10:${String(minute).padStart(2, '0')}:00.000Z`;

describe('classifyKey, comparing version ids (Ceph multisite, S3 CRR)', () => {
  it.each<[string, VersionEntry[], VersionEntry[], DiffClass, string | undefined]>([
    [
      'same current version',
      hist(v('v2', 2, 'b'), v('v1', 1, 'a')),
      hist(v('v2', 2, 'b'), v('v1', 1, 'a')),
      'in-sync',
      undefined,
    ],
    [
      'same current, replica kept less history',
      hist(v('v2', 2, 'b'), v('v1', 1, 'a')),
      hist(v('v2', 2, 'b')),
      'in-sync',
      undefined,
    ],
    [
      'both deleted (different markers)',
      hist(dm('d1', 3), v('v1', 1, 'a')),
      hist(dm('d9', 4), v('v1', 1, 'a')),
      'in-sync',
      undefined,
    ],
    ['only on the source', hist(v('v1', 1, 'a')), [], 'missing-on-replica', t(1)],
    [
      'only on the source, with older history',
      hist(v('v2', 2, 'b'), dm('d1', 1)),
      [],
      'missing-on-replica',
      t(1),
    ],
    [
      'overwritten on the source, not yet replicated',
      hist(v('v2', 5, 'b'), v('v1', 1, 'a')),
      hist(v('v1', 1, 'a')),
      'stale',
      t(5),
    ],
    [
      'two source changes not replicated: the oldest counts',
      hist(v('v3', 7, 'c'), v('v2', 5, 'b'), v('v1', 1, 'a')),
      hist(v('v1', 1, 'a')),
      'stale',
      t(5),
    ],
    [
      'deleted on the source, not yet on the replica',
      hist(dm('d1', 6), v('v1', 1, 'a')),
      hist(v('v1', 1, 'a')),
      'stale',
      t(6),
    ],
    [
      're-created on the source after an older delete',
      hist(v('v2', 6, 'b'), dm('d1', 4), v('v1', 1, 'a')),
      hist(dm('d1', 4), v('v1', 1, 'a')),
      'stale',
      t(6),
    ],
    [
      'deleted on the replica',
      hist(v('v1', 1, 'a')),
      hist(dm('r1', 3), v('v1', 1, 'a')),
      'diverged',
      undefined,
    ],
    [
      'overwritten on the replica',
      hist(v('v1', 1, 'a')),
      hist(v('r1', 3, 'x'), v('v1', 1, 'a')),
      'diverged',
      undefined,
    ],
    [
      'overwritten on both sides',
      hist(v('v2', 4, 'b'), v('v1', 1, 'a')),
      hist(v('r1', 3, 'x'), v('v1', 1, 'a')),
      'diverged',
      t(4),
    ],
    [
      'older source version re-applied on the replica',
      hist(v('v2', 2, 'b'), v('v1', 1, 'a')),
      hist(v('v1', 1, 'a'), v('v2', 2, 'b')).map((e) => ({ ...e, isLatest: e.versionId === 'v1' })),
      'diverged',
      undefined,
    ],
    ['only on the replica', [], hist(v('r1', 3, 'x')), 'extra-on-replica', undefined],
    [
      'deleted on the source long ago, written on the replica',
      hist(dm('d1', 2)),
      hist(v('r1', 3, 'x')),
      'extra-on-replica',
      undefined,
    ],
    [
      'same version id, different size',
      hist(v('v1', 1, 'a', 10)),
      hist(v('v1', 1, 'a', 11)),
      'content-mismatch',
      undefined,
    ],
    ['only delete markers on the replica', [], hist(dm('r1', 3)), 'in-sync', undefined],
  ])('%s', (_name, source, replica, expected, behindSince) => {
    const d = classifyKey(K, source, replica, ids)!;
    expect(d.class).toBe(expected);
    expect(d.behindSince).toBe(behindSince);
  });

  it('multipart ETags are not compared: same version id and size is in sync', () => {
    const d = classifyKey(K, hist(v('v1', 1, 'abc-3', 100)), hist(v('v1', 1, 'def-2', 100)), ids);
    expect(d?.class).toBe('in-sync');
  });

  it('no entries on either side is no key at all', () => {
    expect(classifyKey(K, [], [], ids)).toBeNull();
  });

  it('examples carry both currents and a note', () => {
    const d = classifyKey(K, hist(v('v1', 1, 'a')), hist(dm('r1', 3), v('v1', 1, 'a')), ids)!;
    expect(d).toMatchObject({
      source: { versionId: 'v1', isDeleteMarker: false, etag: 'a', size: 10 },
      replica: { versionId: 'r1', isDeleteMarker: true },
      note: 'deleted on the replica',
    });
  });
});

describe('classifyKey, comparing ETag and size (a copy in another bucket)', () => {
  it.each<[string, VersionEntry[], VersionEntry[], DiffClass]>([
    ['same content, other version ids', hist(v('v1', 1, 'a')), hist(v('c1', 9, 'a')), 'in-sync'],
    ['missing', hist(v('v1', 1, 'a')), [], 'missing-on-replica'],
    [
      'deleted on the replica reads as missing (markers cannot be told apart)',
      hist(v('v1', 1, 'a')),
      hist(dm('c2', 9), v('c1', 8, 'a')),
      'missing-on-replica',
    ],
    ['older content', hist(v('v2', 2, 'b'), v('v1', 1, 'a')), hist(v('c1', 9, 'a')), 'stale'],
    ['deleted on the source', hist(dm('d1', 3), v('v1', 1, 'a')), hist(v('c1', 9, 'a')), 'stale'],
    ['content the source never had', hist(v('v1', 1, 'a')), hist(v('c1', 9, 'x')), 'diverged'],
    ['only on the replica', [], hist(v('c1', 9, 'x')), 'extra-on-replica'],
    ['same ETag, other size', hist(v('v1', 1, 'a', 10)), hist(v('c1', 9, 'a', 12)), 'diverged'],
    [
      'multipart ETags: the size decides',
      hist(v('v1', 1, 'aaa-2', 50)),
      hist(v('c1', 9, 'bbb-5', 50)),
      'in-sync',
    ],
  ])('%s', (_name, source, replica, expected) => {
    expect(classifyKey(K, source, replica, content)?.class).toBe(expected);
  });
});

describe('refinements', () => {
  const missing = classifyKey(K, hist(v('v1', 1, 'a')), [], ids)!;
  const inSync = classifyKey(K, hist(v('v1', 1, 'a')), hist(v('v1', 1, 'a')), ids)!;
  it.each<[string | undefined, DiffClass]>([
    ['PENDING', 'pending'],
    ['FAILED', 'failed'],
    ['COMPLETED', 'missing-on-replica'],
    [undefined, 'missing-on-replica'],
  ])('replication status %s of a missing key => %s', (status, cls) => {
    const d = withReplicationStatus(missing, status);
    expect(d.class).toBe(cls);
    expect(d.behindSince).toBe(t(1));
  });
  it('replication status does not touch keys that are not behind', () => {
    expect(withReplicationStatus(inSync, 'PENDING').class).toBe('in-sync');
  });
  it('a deep check with different bytes makes an in-sync key a content mismatch', () => {
    expect(withDeepCheck(inSync, false).class).toBe('content-mismatch');
    expect(withDeepCheck(inSync, true).class).toBe('in-sync');
    expect(withDeepCheck(missing, false).class).toBe('missing-on-replica');
  });
  it('the sample is stable and about the rate', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `k/${i}`);
    const picked = keys.filter((k) => inSample(k, 0.1)).length;
    expect(picked).toBeGreaterThan(800);
    expect(picked).toBeLessThan(1200);
    expect(keys.filter((k) => inSample(k, 0.1))).toEqual(keys.filter((k) => inSample(k, 0.1)));
    expect(keys.every((k) => inSample(k, 1))).toBe(true);
  });
});

describe('counts, examples, RPO', () => {
  it('counts every key and keeps the first N examples of each class except in-sync', () => {
    let counts = emptyDiffCounts();
    let examples: DiffExamples = {};
    const diffs: KeyDiff[] = [
      ...Array.from({ length: 5 }, (_, i): KeyDiff => ({ key: `m${i}`, class: 'missing-on-replica' })),
      { key: 's', class: 'in-sync' },
    ];
    for (const d of diffs) {
      counts = countDiff(counts, d);
      examples = addExample(examples, d, 3);
    }
    expect(counts.keys).toBe(6);
    expect(counts['missing-on-replica']).toBe(5);
    expect(examples['missing-on-replica']?.map((d) => d.key)).toEqual(['m0', 'm1', 'm2']);
    expect(examples['in-sync']).toBeUndefined();
    expect(addDiffCounts(counts, counts).keys).toBe(12);
  });
  it('RPO is the age of the oldest missing change, 0 when none', () => {
    expect(rpoSeconds(undefined, t(10))).toBe(0);
    expect(rpoSeconds(t(4), t(10))).toBe(360);
    expect(earliest(t(4), t(2))).toBe(t(2));
    expect(earliest(undefined, t(2))).toBe(t(2));
  });
  it('the merger refuses a listing out of key order', () => {
    const m = new ListingMerger(ids);
    m.push('source', [{ ...v('v1', 1, 'a'), key: 'b' }], false);
    expect(() => m.push('source', [{ ...v('v2', 1, 'a'), key: 'a' }], true)).toThrow(ListingOrderError);
  });
  it('keys compare in UTF-8 byte order, as S3 lists them', () => {
    const keys = ['a', 'ab', '\uffff', '😀', 'Z', 'é'];
    const utf8 = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...keys].sort(compareKeys)).toEqual(utf8);
  });
});

// ---- properties over random pairs of listings ----

interface KeyPlan {
  key: string;
  /** The source's writes, oldest first. */
  ops: ('put' | 'delete')[];
  /** How many of the source's writes reached the replica. */
  replicated: number;
  /** Writes made on the replica itself afterwards. */
  replicaOwn: ('put' | 'delete')[];
}

const keyChars = fc.constantFrom('a', 'b', '/', 'é', '😀', 'Z', '0');
const planArb: fc.Arbitrary<KeyPlan[]> = fc
  .uniqueArray(fc.string({ unit: keyChars, minLength: 1, maxLength: 4 }), { maxLength: 12 })
  .chain((keys) =>
    fc.tuple(
      ...keys.map((key) =>
        fc.record({
          key: fc.constant(key),
          ops: fc.array(fc.constantFrom<'put' | 'delete'>('put', 'put', 'delete'), {
            minLength: 0,
            maxLength: 4,
          }),
          replicated: fc.nat({ max: 4 }),
          replicaOwn: fc.array(fc.constantFrom<'put' | 'delete'>('put', 'delete'), { maxLength: 2 }),
        }),
      ),
    ),
  );

const BASE = Date.parse('2026-11-26T10:00:00Z');

/** Builds both listings: key order, newest first within a key, the newest flagged latest. */
function listings(plans: readonly KeyPlan[], withOwn: boolean) {
  let clock = 0;
  const source: VersionEntry[] = [];
  const replica: VersionEntry[] = [];
  const byKey = [...plans].sort((a, b) => compareKeys(a.key, b.key));
  for (const p of byKey) {
    const written = p.ops.map((kind, i): VersionEntry => {
      clock += 1000;
      return {
        key: p.key,
        versionId: `${p.key}-s${i}`,
        isDeleteMarker: kind === 'delete',
        isLatest: false,
        lastModified: new Date(BASE + clock).toISOString(),
        ...(kind === 'put' ? { etag: `e-${p.key}-${i}`, size: i } : {}),
      };
    });
    const own = (withOwn ? p.replicaOwn : []).map((kind, i): VersionEntry => {
      clock += 1000;
      return {
        key: p.key,
        versionId: `${p.key}-r${i}`,
        isDeleteMarker: kind === 'delete',
        isLatest: false,
        lastModified: new Date(BASE + clock).toISOString(),
        ...(kind === 'put' ? { etag: `own-${p.key}-${i}`, size: 100 + i } : {}),
      };
    });
    const rep = [...written.slice(0, Math.min(p.replicated, written.length)), ...own];
    const newest = (list: VersionEntry[]) => list.reverse().map((e, i) => ({ ...e, isLatest: i === 0 }));
    source.push(...newest([...written]));
    replica.push(...newest(rep));
  }
  return { source, replica, now: new Date(BASE + clock + 60_000).toISOString() };
}

/** Feeds both listings to the merger in pages of the given sizes, always listing the side it asks for. */
function streamed(source: VersionEntry[], replica: VersionEntry[], sizes: number[], options: DiffOptions) {
  const merger = new ListingMerger(options);
  const pos = { source: 0, replica: 0 };
  const lists = { source, replica };
  const out: KeyDiff[] = [];
  let n = 0;
  let maxPending = 0;
  for (let side = merger.next(); side !== undefined; side = merger.next()) {
    const size = sizes[n++ % sizes.length];
    const page = lists[side].slice(pos[side], pos[side] + size);
    pos[side] += page.length;
    out.push(...merger.push(side, page, pos[side] >= lists[side].length));
    maxPending = Math.max(maxPending, merger.pendingEntries);
  }
  expect(merger.finished).toBe(true);
  return { out, maxPending };
}

const sizesArb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 6 });

describe('properties', () => {
  it('streaming with arbitrary page splits gives the whole-listing diff, holding about two pages', () => {
    fc.assert(
      fc.property(planArb, sizesArb, fc.boolean(), fc.boolean(), (plans, sizes, withOwn, useIds) => {
        const { source, replica } = listings(plans, withOwn);
        const options = { compareVersionIds: useIds };
        const { out, maxPending } = streamed(source, replica, sizes, options);
        expect(out).toEqual(diffListings(source, replica, options));
        // At most one page per side beyond the key in progress (a key with many versions is held whole).
        const longestKey = Math.max(0, ...plans.map((p) => p.ops.length + p.replicaOwn.length));
        expect(maxPending).toBeLessThanOrEqual(2 * Math.max(...sizes) + 2 * longestKey);
      }),
    );
  });

  it('identical listings are all in sync, with RPO 0', () => {
    fc.assert(
      fc.property(planArb, fc.boolean(), (plans, useIds) => {
        const { source, now } = listings(plans, false);
        const diffs = diffListings(source, source, { compareVersionIds: useIds });
        expect(diffs.every((d) => d.class === 'in-sync')).toBe(true);
        expect(rpoSeconds(diffs.map((d) => d.behindSince).reduce(earliest, undefined), now)).toBe(0);
      }),
    );
  });

  it('a replica that is only behind is never diverged or extra, and RPO > 0 iff some key is behind', () => {
    fc.assert(
      fc.property(planArb, fc.boolean(), (plans, useIds) => {
        const { source, replica, now } = listings(plans, false);
        const diffs = diffListings(source, replica, { compareVersionIds: useIds });
        for (const d of diffs) expect(['in-sync', 'missing-on-replica', 'stale']).toContain(d.class);
        const behind = diffs.filter((d) => d.behindSince !== undefined);
        // Keys behind are exactly the keys not in sync (by ids; by content a repeat may look in sync).
        if (useIds)
          expect(behind.map((d) => d.key)).toEqual(
            diffs.filter((d) => d.class !== 'in-sync').map((d) => d.key),
          );
        const rpo = rpoSeconds(diffs.map((d) => d.behindSince).reduce(earliest, undefined), now);
        expect(rpo > 0).toBe(behind.length > 0);
      }),
    );
  });

  it('every key of either listing is classified exactly once, in key order', () => {
    fc.assert(
      fc.property(planArb, fc.boolean(), (plans, withOwn) => {
        const { source, replica } = listings(plans, withOwn);
        const diffs = diffListings(source, replica, ids);
        const keys = [...new Set([...source, ...replica].map((e) => e.key))].sort(compareKeys);
        expect(diffs.map((d) => d.key)).toEqual(keys);
        let counts = emptyDiffCounts();
        for (const d of diffs) counts = countDiff(counts, d);
        expect(DIFF_CLASSES.reduce((n, c) => n + counts[c], 0)).toBe(counts.keys);
      }),
    );
  });
});

describe('VerifyReplicaInput', () => {
  it('fills the defaults', () => {
    const parsed = parseInput(
      VerifyReplicaInput,
      { source: { bucket: 'docs' }, replica: { region: 'secondary' } },
      'verifyReplica',
    );
    expect(parsed).toMatchObject({
      ok: true,
      value: {
        source: { region: 'primary', bucket: 'docs' },
        replica: { region: 'secondary' },
        prefix: '',
        deepCheck: 'none',
        examplesPerClass: 20,
        compareVersionIds: true,
      },
    });
  });
  it.each<[string, unknown, string]>([
    ['bad bucket', { source: { bucket: 'No_Such' }, replica: { region: 'secondary' } }, 'source.bucket'],
    ['replica is the source', { source: { bucket: 'docs' }, replica: { region: 'primary' } }, 'replica'],
    [
      'bad deep check',
      { source: { bucket: 'docs' }, replica: { region: 'secondary' }, deepCheck: 'some' },
      'deepCheck',
    ],
    [
      'bad sample rate',
      { source: { bucket: 'docs' }, replica: { region: 'secondary' }, sampleRate: 2 },
      'sampleRate',
    ],
    [
      'unknown field',
      { source: { bucket: 'docs' }, replica: { region: 'secondary' }, deep: 'all' },
      '(input)',
    ],
  ])('%s names the field', (_name, input, field) => {
    const parsed = parseInput(VerifyReplicaInput, input, 'verifyReplica');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.field).toBe(field);
  });
  it('the workflow id is derived from the pair, the prefix and the minute', () => {
    const id = verifyReplicaWorkflowId({
      source: { bucket: 'docs' },
      replica: { region: 'secondary' },
      prefix: 'a/',
      at: '2026-11-26T10:41:37.123Z',
    });
    expect(id).toBe('verify/primary/docs/a//to/secondary/docs@2026-11-26T10:41Z');
  });
});
