// Test helpers for the unit tests: version entries written by hand, and random histories of one key.
import fc from 'fast-check';
import type { VersionEntry } from '../../core/versions';

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
