// Pure questions asked of one key's versions: bare ETags, ordering, current entry, live-at-T, markers on top.
import fc from 'fast-check';
import {
  bareEtag,
  currentEntry,
  deleteMarkersOnTop,
  entryLiveAt,
  newestFirst,
  VersionEntry,
} from '../../core/versions';
import { historyArb, instantArb, iso, marker, modelLiveAt, put } from './history';

const ids = (entries: readonly VersionEntry[]): string[] => entries.map((e) => e.versionId);

describe('bareEtag', () => {
  it.each<[string | undefined, string | undefined]>([
    ['"9b2cf535f27731c974343645a3985328"', '9b2cf535f27731c974343645a3985328'],
    ['9b2cf535f27731c974343645a3985328', '9b2cf535f27731c974343645a3985328'],
    ['"d41d8cd98f00b204e9800998ecf8427e-3"', 'd41d8cd98f00b204e9800998ecf8427e-3'],
    ['""abc""', 'abc'],
    ['"abc', 'abc'],
    ['abc"', 'abc'],
    ['a"b', 'a"b'],
    ['""', ''],
    ['', ''],
    [undefined, undefined],
  ])('bareEtag(%j) is %j', (input, expected) => {
    expect(bareEtag(input)).toBe(expected);
  });
});

describe('newestFirst', () => {
  it.each<[string, VersionEntry[], string[]]>([
    ['empty', [], []],
    [
      'distinct times, listed out of order',
      [
        put('b', '2026-11-26T10:10:00Z', 'e', 1),
        put('c', '2026-11-26T10:20:00Z', 'e', 1, true),
        put('a', '2026-11-26T10:00:00Z', 'e', 1),
      ],
      ['c', 'b', 'a'],
    ],
    [
      'same timestamp: the entry flagged latest first, even when listed last',
      [
        put('old', '2026-11-26T09:00:00Z', 'e', 1),
        put('x', '2026-11-26T10:00:00Z', 'e', 1),
        put('y', '2026-11-26T10:00:00Z', 'e', 1),
        marker('latest', '2026-11-26T10:00:00Z', true),
      ],
      ['latest', 'x', 'y', 'old'],
    ],
    [
      'same timestamp, none latest: listing order kept',
      [
        put('p', '2026-11-26T10:00:00Z', 'e', 1),
        marker('q', '2026-11-26T10:00:00Z'),
        put('r', '2026-11-26T10:00:00Z', 'e', 1),
      ],
      ['p', 'q', 'r'],
    ],
    [
      'compares instants, not strings (a +01:00 offset)',
      [put('early', '2026-11-26T11:00:00+01:00', 'e', 1), put('late', '2026-11-26T10:30:00Z', 'e', 1)],
      ['late', 'early'],
    ],
    [
      'millisecond precision',
      [put('a', '2026-11-26T10:00:00.001Z', 'e', 1), put('b', '2026-11-26T10:00:00.002Z', 'e', 1)],
      ['b', 'a'],
    ],
  ])('%s', (_name, entries, expected) => {
    expect(ids(newestFirst(entries))).toEqual(expected);
  });

  it('does not reorder its input', () => {
    const entries = [put('a', '2026-11-26T10:00:00Z', 'e', 1), put('b', '2026-11-26T11:00:00Z', 'e', 1)];
    const sorted = newestFirst(entries);
    expect(ids(sorted)).toEqual(['b', 'a']);
    expect(ids(entries)).toEqual(['a', 'b']);
  });

  it('property: a permutation of its input, sorted by time descending', () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) => fc.shuffledSubarray(h.listing, { minLength: h.listing.length })),
        (entries) => {
          const sorted = newestFirst(entries);
          expect(sorted).toHaveLength(entries.length);
          expect([...sorted].sort(byId)).toEqual([...entries].sort(byId));
          for (let i = 1; i < sorted.length; i++) {
            expect(Date.parse(sorted[i - 1].lastModified)).toBeGreaterThanOrEqual(
              Date.parse(sorted[i].lastModified),
            );
          }
        },
      ),
    );
  });

  it('property: on a listing (newest first) it gives the writes in reverse order', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        expect(ids(newestFirst(h.listing))).toEqual(ids([...h.written].reverse()));
      }),
    );
  });
});

function byId(a: VersionEntry, b: VersionEntry): number {
  return a.versionId < b.versionId ? -1 : a.versionId > b.versionId ? 1 : 0;
}

describe('currentEntry', () => {
  it.each<[string, VersionEntry[], string | undefined]>([
    ['no entries', [], undefined],
    [
      'the entry flagged latest',
      [put('b', '2026-11-26T10:10:00Z', 'e', 1, true), put('a', '2026-11-26T10:00:00Z', 'e', 1)],
      'b',
    ],
    [
      'the flag wins over a newer timestamp',
      [put('newer', '2026-11-26T11:00:00Z', 'e', 1), put('flagged', '2026-11-26T10:00:00Z', 'e', 1, true)],
      'flagged',
    ],
    [
      'none flagged: the newest',
      [
        put('a', '2026-11-26T10:00:00Z', 'e', 1),
        put('c', '2026-11-26T10:30:00Z', 'e', 1),
        put('b', '2026-11-26T10:10:00Z', 'e', 1),
      ],
      'c',
    ],
    [
      'a delete marker can be current',
      [marker('dm', '2026-11-26T10:10:00Z', true), put('a', '2026-11-26T10:00:00Z', 'e', 1)],
      'dm',
    ],
    ['the null version', [put('null', '2026-11-26T10:00:00Z', 'e', 1, true)], 'null'],
  ])('%s', (_name, entries, expected) => {
    expect(currentEntry(entries)?.versionId).toBe(expected);
  });
});

describe('entryLiveAt', () => {
  // Listed newest first, as ListObjectVersions gives them.
  const history = [
    put('v3', '2026-11-26T10:30:00Z', 'e3', 3, true),
    marker('dm1', '2026-11-26T10:20:00Z'),
    put('v2', '2026-11-26T10:10:00Z', 'e2', 2),
    put('v1', '2026-11-26T10:00:00Z', 'e1', 1),
  ];

  it.each<[string, string, string | undefined]>([
    ['before the first entry', '2026-11-26T09:59:59Z', undefined],
    ['1 ms before the first entry', '2026-11-26T09:59:59.999Z', undefined],
    ['exactly at the first entry', '2026-11-26T10:00:00Z', 'v1'],
    ['between two entries', '2026-11-26T10:05:00Z', 'v1'],
    ['1 ms before the second entry', '2026-11-26T10:09:59.999Z', 'v1'],
    ['exactly at the second entry', '2026-11-26T10:10:00Z', 'v2'],
    ['while deleted: the delete marker', '2026-11-26T10:25:00Z', 'dm1'],
    ['exactly at the delete marker', '2026-11-26T10:20:00Z', 'dm1'],
    ['after every entry: the newest', '2027-01-01T00:00:00Z', 'v3'],
    ['an instant given with an offset (10:15Z)', '2026-11-26T11:15:00+01:00', 'v2'],
    ['an instant given with a negative offset (10:25Z)', '2026-11-26T05:25:00-05:00', 'dm1'],
  ])('%s (%s) -> %s', (_name, at, expected) => {
    expect(entryLiveAt(history, at)?.versionId).toBe(expected);
  });

  it('is undefined for a key with no entries', () => {
    expect(entryLiveAt([], '2026-11-26T10:00:00Z')).toBeUndefined();
  });

  it('several entries sharing the timestamp: the one flagged latest', () => {
    const entries = [
      put('a', '2026-11-26T10:00:00Z', 'e', 1),
      put('b', '2026-11-26T10:00:00Z', 'e', 1, true),
      put('c', '2026-11-26T09:00:00Z', 'e', 1),
    ];
    expect(entryLiveAt(entries, '2026-11-26T10:00:00Z')?.versionId).toBe('b');
  });

  it('several entries sharing the timestamp, none latest: the first listed', () => {
    const entries = [
      put('z', '2026-11-26T11:00:00Z', 'e', 1, true),
      marker('b', '2026-11-26T10:00:00Z'),
      put('a', '2026-11-26T10:00:00Z', 'e', 1),
    ];
    expect(entryLiveAt(entries, '2026-11-26T10:30:00Z')?.versionId).toBe('b');
  });

  it('property: never newer than T, and undefined only before the first entry', () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) => fc.tuple(fc.constant(h), instantArb(h))),
        ([h, ms]) => {
          const live = entryLiveAt(h.listing, iso(ms));
          if (ms < h.firstMs) {
            expect(live).toBeUndefined();
          } else {
            expect(live).toBeDefined();
            expect(Date.parse(live!.lastModified)).toBeLessThanOrEqual(ms);
          }
        },
      ),
    );
  });

  it('property: equals the last write at or before T', () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) => fc.tuple(fc.constant(h), instantArb(h))),
        ([h, ms]) => {
          expect(entryLiveAt(h.listing, iso(ms))?.versionId).toBe(modelLiveAt(h, ms)?.versionId);
        },
      ),
    );
  });

  it('property: for T after every entry it is the newest entry, whatever the listing order', () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) =>
          fc.tuple(
            fc.constant(h),
            fc.shuffledSubarray(h.listing, { minLength: h.listing.length }),
            fc.integer({ min: 0, max: 10 * 24 * 3600 * 1000 }),
          ),
        ),
        ([h, shuffled, after]) => {
          const newest = h.written[h.written.length - 1];
          expect(entryLiveAt(shuffled, iso(h.lastMs + after))).toBe(newest);
          expect(newestFirst(shuffled)[0]).toBe(newest);
        },
      ),
    );
  });
});

describe('deleteMarkersOnTop', () => {
  it.each<[string, VersionEntry[], string[]]>([
    ['no entries', [], []],
    [
      'current is data',
      [
        put('v2', '2026-11-26T10:10:00Z', 'e', 1, true),
        marker('dm', '2026-11-26T10:05:00Z'),
        put('v1', '2026-11-26T10:00:00Z', 'e', 1),
      ],
      [],
    ],
    [
      'one marker on top',
      [marker('dm', '2026-11-26T10:10:00Z', true), put('v1', '2026-11-26T10:00:00Z', 'e', 1)],
      ['dm'],
    ],
    [
      'several markers on top, newest first; the marker beneath data is not included',
      [
        put('v1', '2026-11-26T10:00:00Z', 'e', 1),
        marker('dm3', '2026-11-26T10:30:00Z', true),
        marker('dm2', '2026-11-26T10:20:00Z'),
        put('v2', '2026-11-26T10:10:00Z', 'e', 1),
        marker('dm0', '2026-11-26T10:05:00Z'),
      ],
      ['dm3', 'dm2'],
    ],
    [
      'only markers: all of them',
      [marker('dm1', '2026-11-26T10:00:00Z'), marker('dm2', '2026-11-26T10:10:00Z', true)],
      ['dm2', 'dm1'],
    ],
    [
      'a marker sharing the timestamp of the data beneath it',
      [marker('dm', '2026-11-26T10:00:00Z', true), put('v1', '2026-11-26T10:00:00Z', 'e', 1)],
      ['dm'],
    ],
    [
      'data flagged latest sharing the timestamp of a marker',
      [marker('dm', '2026-11-26T10:00:00Z'), put('v1', '2026-11-26T10:00:00Z', 'e', 1, true)],
      [],
    ],
  ])('%s', (_name, entries, expected) => {
    expect(ids(deleteMarkersOnTop(entries))).toEqual(expected);
  });

  it('property: the deletes written after the last put, newest first', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const lastPut = h.written.map((e) => e.isDeleteMarker).lastIndexOf(false);
        const expected = h.written.slice(lastPut + 1).reverse();
        expect(ids(deleteMarkersOnTop(h.listing))).toEqual(ids(expected));
      }),
    );
  });
});
