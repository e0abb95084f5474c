// Undoing an in-place point-in-time restore, as pure logic: from the undo manifest's record of a key
// (what it was before the restore touched it) and the key's versions now, what puts it back.
import { z } from 'zod';
import { ChangeKind } from './gate';
import { PreviousState, RestoreAction } from './pitr';
import { gateFields, leaseFields } from './safety';
import { currentEntry, deleteMarkersOnTop, newestFirst, VersionEntry } from './versions';

/** One line of an undo manifest (`<job>/undo/page-N/attempt-M.jsonl`), written before the key was touched. */
export interface UndoRecord {
  key: string;
  /** What the restore did to the key. */
  action: RestoreAction['action'];
  previous: PreviousState;
}

export type UndoAction =
  /** Copy the version that was current before the restore back on top (a new version, same bytes). */
  | { key: string; action: 'copy'; sourceVersionId: string; size: number; etag?: string }
  /** The restore put a delete marker on that version: removing the markers on top brings it back as it was. */
  | { key: string; action: 'remove-markers'; markerVersionIds: string[]; restoresVersionId: string }
  /** The key was deleted (or absent) before the restore: a delete marker makes it so again. */
  | { key: string; action: 'add-marker' }
  /** Written since by someone else, or no longer restorable: left alone and reported. */
  | { key: string; action: 'conflict'; reason: string };

export interface UndoCounts {
  keys: number;
  copy: number;
  removeMarkers: number;
  addMarker: number;
  unchanged: number;
  conflicts: number;
}

export const emptyUndoCounts = (): UndoCounts => ({
  keys: 0,
  copy: 0,
  removeMarkers: 0,
  addMarker: 0,
  unchanged: 0,
  conflicts: 0,
});

/** What an undo action does to the key a reader sees, for the blast-radius gate. */
export function undoChangeKind(a: UndoAction | null): ChangeKind {
  if (a === null || a.action === 'conflict') return 'none';
  if (a.action === 'add-marker') return 'delete';
  if (a.action === 'copy') return 'overwrite';
  return 'create';
}

export function countUndo(c: UndoCounts, a: UndoAction | null): UndoCounts {
  const n = { ...c, keys: c.keys + 1 };
  if (a === null) n.unchanged++;
  else if (a.action === 'copy') n.copy++;
  else if (a.action === 'remove-markers') n.removeMarkers++;
  else if (a.action === 'add-marker') n.addMarker++;
  else n.conflicts++;
  return n;
}

export function addUndoCounts(a: UndoCounts, b: UndoCounts): UndoCounts {
  return {
    keys: a.keys + b.keys,
    copy: a.copy + b.copy,
    removeMarkers: a.removeMarkers + b.removeMarkers,
    addMarker: a.addMarker + b.addMarker,
    unchanged: a.unchanged + b.unchanged,
    conflicts: a.conflicts + b.conflicts,
  };
}

export const UndoRestoreInput = z
  .object({
    /** The workflow id of the in-place point-in-time restore to undo. */
    jobId: z.string().min(1).max(1000),
    /** Plan and write the plan to the reports location, change nothing. */
    dryRun: z.boolean().default(false),
    /** Keys in flight at once. */
    concurrency: z.number().int().min(1).max(256).default(32),
    /** Manifest pages per workflow run before continuing as new (the server may suggest it sooner). */
    pagesPerRun: z.number().int().min(1).max(10000).default(500),
    reason: z.string().max(500).optional(),
    ...leaseFields,
    ...gateFields,
  })
  .strict();
export type UndoRestoreInput = z.input<typeof UndoRestoreInput>;

/** Versions and markers a restore writes to a key for each action (remove-markers writes none). */
const WRITTEN_BY_RESTORE: Record<RestoreAction['action'], number> = {
  copy: 1,
  delete: 1,
  'remove-markers': 0,
};

/**
 * What makes `entries` (the key's versions now) read as `record.previous` again. Null when they already
 * do. `restoreStartedAt` tells the restore's writes from later ones: a key with more entries written
 * since than the restore itself wrote was changed by someone else afterwards, and is a conflict, left
 * as it is (undoing would overwrite that change). Never removes a version holding data: only delete
 * markers, and only those on top of the version that was current before the restore.
 */
export function planUndoKey(
  record: UndoRecord,
  entries: readonly VersionEntry[],
  restoreStartedAt: string,
): UndoAction | null {
  const { key, previous } = record;
  const conflict = (reason: string): UndoAction => ({ key, action: 'conflict', reason });
  if (previous.kind === 'object')
    return conflict('restored into another bucket: its earlier object is not versioned by the restore');
  const current = currentEntry(entries);
  // The version current before, if it is still listed: its content, when the record lacks it.
  const before =
    previous.kind === 'version'
      ? entries.find((e) => e.versionId === previous.versionId && !e.isDeleteMarker)
      : undefined;
  if (previous.kind === 'version') {
    const etag = previous.etag ?? before?.etag;
    const size = previous.size ?? before?.size;
    if (
      current &&
      !current.isDeleteMarker &&
      (current.versionId === previous.versionId ||
        (etag !== undefined && current.etag === etag && current.size === size))
    )
      return null;
  } else if (!current || current.isDeleteMarker) {
    return null;
  }
  const since = Date.parse(restoreStartedAt);
  const written = entries.filter((e) => Date.parse(e.lastModified) > since).length;
  const expected = WRITTEN_BY_RESTORE[record.action];
  if (written > expected)
    return conflict(
      `changed since the restore: ${written} version(s) or marker(s) written after it started, ${expected} by the restore`,
    );
  if (previous.kind !== 'version') return { key, action: 'add-marker' };
  if (!before) return conflict(`version ${previous.versionId}, current before the restore, no longer exists`);
  if (current?.isDeleteMarker && newestFirst(entries).find((e) => !e.isDeleteMarker) === before) {
    return {
      key,
      action: 'remove-markers',
      markerVersionIds: deleteMarkersOnTop(entries).map((m) => m.versionId),
      restoresVersionId: before.versionId,
    };
  }
  return {
    key,
    action: 'copy',
    sourceVersionId: before.versionId,
    size: before.size ?? 0,
    etag: before.etag,
  };
}

/**
 * The records of one page's manifest files: a retried page writes a file per attempt, and keys an
 * earlier attempt had done plan to nothing in later ones, so each key's first record (attempts in
 * order) is what it was before the restore.
 */
export function firstRecordPerKey(attempts: readonly (readonly UndoRecord[])[]): UndoRecord[] {
  const seen = new Map<string, UndoRecord>();
  for (const records of attempts) for (const r of records) if (!seen.has(r.key)) seen.set(r.key, r);
  return [...seen.values()];
}

/** The attempt number of a manifest file name (`.../attempt-12.jsonl` -> 12), for ordering. */
export function attemptOf(name: string): number {
  const m = /attempt-(\d+)\.jsonl$/.exec(name);
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

const previousSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('version'),
    versionId: z.string(),
    etag: z.string().optional(),
    size: z.number().optional(),
  }),
  z.object({ kind: z.literal('deleted'), markerVersionId: z.string() }),
  z.object({ kind: z.literal('object'), etag: z.string().optional(), size: z.number() }),
  z.object({ kind: z.literal('absent') }),
]);

const recordSchema = z.object({
  key: z.string(),
  action: z.enum(['copy', 'remove-markers', 'delete']),
  previous: previousSchema,
});

/** Parses one manifest file (JSON lines); a malformed line is an error naming the file and line. */
export function parseUndoManifest(text: string, name: string): UndoRecord[] {
  const out: UndoRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new Error(`${name} line ${i + 1}: not JSON`);
    }
    const parsed = recordSchema.safeParse(value);
    if (!parsed.success)
      throw new Error(`${name} line ${i + 1}: not an undo record (${parsed.error.message})`);
    out.push(parsed.data);
  });
  return out;
}
