// Test helpers for the unit tests: version entries written by hand, and random histories of one key.
import fc from 'fast-check';
import type { RestoreAction, TargetObject } from '../../core/pitr';
import { newestFirst, VersionEntry } from '../../core/versions';

export const KEY = 'reports/q3.csv';

/** A data version (a put). */
export function put(
  versionId: string,
  lastModified: string,
  etag: string,
  size: number,
  isLatest = false,
): VersionEntry {
  return { key: KEY, versionId, isDeleteMarker: false, isLatest, lastModified, etag, size };
}

/** A delete marker. */
export function marker(versionId: string, lastModified: string, isLatest = false): VersionEntry {
  return { key: KEY, versionId, isDeleteMarker: true, isLatest, lastModified };
}

/** One write to the key: a put (data) or a delete (a delete marker). */
export interface Op {
  kind: 'put' | 'delete';
  /** Seconds after the previous write; 0 makes several writes share a timestamp (AWS lists whole seconds). */
  gapSeconds: number;
  size: number;
}

export interface History {
  /** Oldest first: the order the writes happened in. */
  written: VersionEntry[];
  /** What ListObjectVersions returns: newest first, only the last write flagged latest. */
  listing: VersionEntry[];
  /** Milliseconds of the first and the last write. */
  firstMs: number;
  lastMs: number;
}

export const BASE_MS = Date.parse('2026-11-26T10:00:00Z');

export function buildHistory(ops: readonly Op[], firstIsNull: boolean): History {
  let t = BASE_MS;
  const written = ops.map((op, i): VersionEntry => {
    if (i > 0) t += op.gapSeconds * 1000;
    const versionId = i === 0 && firstIsNull ? 'null' : `v${i}`;
    const lastModified = new Date(t).toISOString();
    return op.kind === 'put'
      ? {
          key: KEY,
          versionId,
          isDeleteMarker: false,
          isLatest: false,
          lastModified,
          etag: `etag-${i}`,
          size: op.size,
        }
      : { key: KEY, versionId, isDeleteMarker: true, isLatest: false, lastModified };
  });
  if (written.length > 0) written[written.length - 1].isLatest = true;
  return { written, listing: [...written].reverse(), firstMs: BASE_MS, lastMs: t };
}

export const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom<'put' | 'delete'>('put', 'delete'),
  gapSeconds: fc.constantFrom(0, 0, 1, 2, 60),
  size: fc.nat({ max: 10_000 }),
});

/**
 * Random histories of one key: 1 to 12 puts and deletes with non-decreasing timestamps (often
 * equal), the first one sometimes written before versioning was enabled (version id "null").
 */
export const historyArb: fc.Arbitrary<History> = fc
  .tuple(fc.array(opArb, { minLength: 1, maxLength: 12 }), fc.boolean())
  .map(([ops, firstIsNull]) => buildHistory(ops, firstIsNull));

/** An instant from a little before the first write to a little after the last one. */
export function instantArb(h: History): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: h.firstMs - 5000, max: h.lastMs + 5000 }),
    // Exactly on a write's timestamp: the boundary that counts as live.
    fc.constantFrom(...h.written.map((e) => Date.parse(e.lastModified))),
  );
}

export const iso = (ms: number): string => new Date(ms).toISOString();

/** The model of "live at T": the last write at or before T, in write order. */
export function modelLiveAt(h: History, ms: number): VersionEntry | undefined {
  let live: VersionEntry | undefined;
  for (const e of h.written) if (Date.parse(e.lastModified) <= ms) live = e;
  return live;
}

// Properties over random histories of one key (shared by the planner and undo tests).

export interface Write {
  kind: 'put' | 'delete';
  /** Milliseconds after the previous write; 0 makes writes share a timestamp. */
  gapMs: number;
  etag: string;
  size: number;
}

export interface RandomHistory {
  /** Listing order: newest first, the first entry flagged latest. */
  listing: VersionEntry[];
  firstMs: number;
  lastMs: number;
}

const START_MS = Date.parse('2026-11-26T10:00:00Z');

export const writeArb: fc.Arbitrary<Write> = fc.record({
  kind: fc.constantFrom<'put' | 'delete'>('put', 'delete'),
  gapMs: fc.constantFrom(0, 0, 1, 999, 1000, 60_000),
  // Few distinct etags and sizes, so that different versions often hold the same content.
  etag: fc.constantFrom('e-a', 'e-b', 'e-c'),
  size: fc.constantFrom(0, 1, 100, 5_000),
});

export function buildRandomHistory(writes: readonly Write[], firstIsNull: boolean): RandomHistory {
  let t = START_MS;
  const written = writes.map((w, i): VersionEntry => {
    if (i > 0) t += w.gapMs;
    const versionId = i === 0 && firstIsNull ? 'null' : `v${i}`;
    const lastModified = iso(t);
    return w.kind === 'put'
      ? {
          key: KEY,
          versionId,
          isDeleteMarker: false,
          isLatest: false,
          lastModified,
          etag: w.etag,
          size: w.size,
        }
      : { key: KEY, versionId, isDeleteMarker: true, isLatest: false, lastModified };
  });
  const listing = [...written].reverse();
  if (listing.length > 0) listing[0].isLatest = true;
  return { listing, firstMs: START_MS, lastMs: t };
}

export const randomHistoryArb: fc.Arbitrary<RandomHistory> = fc
  .tuple(fc.array(writeArb, { minLength: 1, maxLength: 10 }), fc.boolean())
  .map(([writes, firstIsNull]) => buildRandomHistory(writes, firstIsNull));

/** A history, an instant T within or around it (often exactly on a write), and deleteKeysCreatedAfter. */
export const scenarioArb = randomHistoryArb.chain((h) =>
  fc.record({
    h: fc.constant(h),
    atMs: fc.oneof(
      fc.integer({ min: h.firstMs - 2000, max: h.lastMs + 2000 }),
      fc.constantFrom(...h.listing.map((e) => Date.parse(e.lastModified))),
    ),
    deleteKeysCreatedAfter: fc.boolean(),
  }),
);

export const targetArb: fc.Arbitrary<TargetObject | undefined> = fc.option(
  fc.record({ etag: fc.constantFrom('e-a', 'e-b', 'e-c'), size: fc.constantFrom(0, 1, 100, 5_000) }),
  { nil: undefined },
);

export const RUNS = { numRuns: 500 };

/** The model of S3 applying a plan in place at instant `ms`; returns the new listing (newest first). */
export function applyInPlace(
  entries: readonly VersionEntry[],
  plan: RestoreAction | null,
  ms: number,
): VersionEntry[] {
  if (!plan) return entries.map((e) => ({ ...e }));
  const cleared = entries.map((e) => ({ ...e, isLatest: false }));
  const lastModified = iso(ms);
  switch (plan.action) {
    case 'copy': {
      const source = entries.find((e) => e.versionId === plan.sourceVersionId);
      if (!source) throw new Error(`copy of a version that is not in the listing: ${plan.sourceVersionId}`);
      const copy: VersionEntry = {
        key: plan.key,
        versionId: `restored-${ms}`,
        isDeleteMarker: false,
        isLatest: true,
        lastModified,
        etag: source.etag,
        size: source.size,
      };
      return [copy, ...cleared];
    }
    case 'remove-markers': {
      const removed = new Set(plan.markerVersionIds);
      const rest = newestFirst(cleared.filter((e) => !removed.has(e.versionId)));
      if (rest.length > 0) rest[0].isLatest = true;
      return rest;
    }
    case 'delete':
      return [
        { key: plan.key, versionId: `marker-${ms}`, isDeleteMarker: true, isLatest: true, lastModified },
        ...cleared,
      ];
  }
}

/** An instant after every write of the history and after T. */
export const afterAll = (h: RandomHistory, atMs: number): number => Math.max(h.lastMs, atMs) + 1000;
