// Point-in-time restore as pure logic: for one key's versions and a time T, what makes it as it was at T.
import { z } from 'zod';
import { ChangeKind } from './gate';
import { gateFields, leaseFields, refineAtAfterS3Epoch, refinePrefixes } from './safety';
import { bucketName, isoInstant, regionName } from './schema';
import { currentEntry, deleteMarkersOnTop, entryLiveAt, newestFirst, VersionEntry } from './versions';

/** What a reader got from a key before the restore touched it: the undo information. */
export type PreviousState =
  | { kind: 'version'; versionId: string; etag?: string; size?: number }
  | { kind: 'deleted'; markerVersionId: string }
  /** Into another bucket: the target's object (its versions are not Lifeboat's to track). */
  | { kind: 'object'; etag?: string; size: number }
  | { kind: 'absent' };

export type RestoreAction =
  | {
      key: string;
      action: 'copy';
      sourceVersionId: string;
      size: number;
      etag?: string;
      previous: PreviousState;
    }
  | {
      key: string;
      action: 'remove-markers';
      /** Newest first; delete markers only, never data. */
      markerVersionIds: string[];
      restoresVersionId: string;
      size: number;
      etag?: string;
      previous: PreviousState;
    }
  /** Add a delete marker (in place) or delete the target's object (elsewhere): the key did not exist at T. */
  | { key: string; action: 'delete'; previous: PreviousState };

export interface PitrPlanOptions {
  /** Restore to the state at this instant. */
  at: string;
  /** Only keys with a change after this instant are considered (the window of an incident). */
  from?: string;
  /** Keys that did not exist at T but exist now get a delete marker (in place) or are deleted (elsewhere). */
  deleteKeysCreatedAfter: boolean;
  /** Into another bucket: skip keys whose target already has the same ETag and size (default true). */
  skipExisting?: boolean;
}

/** What the target currently holds for a key (restores into another bucket). */
export interface TargetObject {
  etag?: string;
  size: number;
}

function previousOf(entries: readonly VersionEntry[]): PreviousState {
  const current = currentEntry(entries);
  if (!current) return { kind: 'absent' };
  if (current.isDeleteMarker) return { kind: 'deleted', markerVersionId: current.versionId };
  return { kind: 'version', versionId: current.versionId, etag: current.etag, size: current.size };
}

function sameContent(a: { etag?: string; size?: number }, b: { etag?: string; size?: number }): boolean {
  return a.etag !== undefined && a.etag === b.etag && a.size === b.size;
}

function changedSince(entries: readonly VersionEntry[], from: string | undefined): boolean {
  if (from === undefined) return true;
  const t = Date.parse(from);
  return entries.some((e) => Date.parse(e.lastModified) > t);
}

/**
 * In place: what to do so that the key reads as it did at T. Null when it already does.
 * Never plans the removal of a version holding data: only delete markers are removed, and only when
 * the version beneath them is the one that was live at T.
 */
export function planKeyInPlace(
  key: string,
  entries: readonly VersionEntry[],
  options: PitrPlanOptions,
): RestoreAction | null {
  if (entries.length === 0 || !changedSince(entries, options.from)) return null;
  const live = entryLiveAt(entries, options.at);
  const current = currentEntry(entries);
  const previous = previousOf(entries);
  if (!live || live.isDeleteMarker) {
    // Absent at T.
    if (!current || current.isDeleteMarker || !options.deleteKeysCreatedAfter) return null;
    return { key, action: 'delete', previous };
  }
  if (current && !current.isDeleteMarker) {
    if (current.versionId === live.versionId || sameContent(current, live)) return null;
    return copyOf(key, live, previous);
  }
  // Deleted now: if the version beneath the markers is the one live at T, removing them restores it
  // with its own version id and no copy.
  const markers = deleteMarkersOnTop(entries);
  const beneath = newestFirst(entries).find((e) => !e.isDeleteMarker);
  if (beneath && beneath.versionId === live.versionId) {
    return {
      key,
      action: 'remove-markers',
      markerVersionIds: markers.map((m) => m.versionId),
      restoresVersionId: live.versionId,
      size: live.size ?? 0,
      etag: live.etag,
      previous,
    };
  }
  return copyOf(key, live, previous);
}

function copyOf(key: string, live: VersionEntry, previous: PreviousState): RestoreAction {
  return {
    key,
    action: 'copy',
    sourceVersionId: live.versionId,
    size: live.size ?? 0,
    etag: live.etag,
    previous,
  };
}

/**
 * Into another bucket (or prefix): what to do so that the target key holds what the source key held
 * at T. `target` is the target's current object for that key, if any. Null when it already does.
 */
export function planKeyToTarget(
  key: string,
  entries: readonly VersionEntry[],
  target: TargetObject | undefined,
  options: PitrPlanOptions,
): RestoreAction | null {
  if (entries.length === 0 || !changedSince(entries, options.from)) return null;
  const live = entryLiveAt(entries, options.at);
  const previous: PreviousState = target
    ? { kind: 'object', etag: target.etag, size: target.size }
    : { kind: 'absent' };
  if (!live || live.isDeleteMarker) {
    if (!target || !options.deleteKeysCreatedAfter) return null;
    return { key, action: 'delete', previous };
  }
  if (target && options.skipExisting !== false && sameContent(target, live)) return null;
  return copyOf(key, live, previous);
}

/** Groups a listing's entries by key, keeping the listing order (newest first within a key). */
export function groupByKey(entries: readonly VersionEntry[]): { key: string; entries: VersionEntry[] }[] {
  const groups: { key: string; entries: VersionEntry[] }[] = [];
  for (const e of entries) {
    const last = groups[groups.length - 1];
    if (last && last.key === e.key) last.entries.push(e);
    else groups.push({ key: e.key, entries: [e] });
  }
  return groups;
}

export interface PlanCounts {
  keys: number;
  copy: number;
  removeMarkers: number;
  delete: number;
  unchanged: number;
  bytes: number;
}

export const emptyCounts = (): PlanCounts => ({
  keys: 0,
  copy: 0,
  removeMarkers: 0,
  delete: 0,
  unchanged: 0,
  bytes: 0,
});

export function addCounts(a: PlanCounts, b: PlanCounts): PlanCounts {
  return {
    keys: a.keys + b.keys,
    copy: a.copy + b.copy,
    removeMarkers: a.removeMarkers + b.removeMarkers,
    delete: a.delete + b.delete,
    unchanged: a.unchanged + b.unchanged,
    bytes: a.bytes + b.bytes,
  };
}

/**
 * What an action does to the key a reader sees, for the blast-radius gate: a delete; an overwrite
 * (the current object is replaced by other content); a create (content where there was none).
 */
export function changeKindOf(action: RestoreAction | null): ChangeKind {
  if (!action) return 'none';
  if (action.action === 'delete') return 'delete';
  if (action.action === 'remove-markers') return 'create';
  const p = action.previous.kind;
  return p === 'version' || p === 'object' ? 'overwrite' : 'create';
}

export function countAction(counts: PlanCounts, action: RestoreAction | null): PlanCounts {
  const c = { ...counts, keys: counts.keys + 1 };
  if (!action) c.unchanged += 1;
  else if (action.action === 'copy') {
    c.copy += 1;
    c.bytes += action.size;
  } else if (action.action === 'remove-markers') c.removeMarkers += 1;
  else c.delete += 1;
  return c;
}

/** Maps a source key to its target key: the source prefix is replaced by the target prefix. */
export function targetKey(sourceKey: string, sourcePrefix: string, targetPrefix: string): string {
  return targetPrefix + sourceKey.slice(sourcePrefix.length);
}

const keyRange = z
  .object({ afterKey: z.string().min(1).optional(), untilKey: z.string().min(1).optional() })
  .strict();

function refineParts(input: { parts: number; range?: unknown }, ctx: z.RefinementCtx) {
  if (input.parts > 1 && input.range !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['parts'], message: 'a part of a split job cannot be split again' });
  }
}

export const PointInTimeRestoreInput = z
  .object({
    source: z
      .object({ region: regionName.default('primary'), bucket: bucketName, prefix: z.string().default('') })
      .strict(),
    /** Restore to the state at this instant. */
    at: isoInstant,
    /** Only keys changed after this instant. */
    from: isoInstant.optional(),
    /** Omit to restore in place. */
    target: z
      .object({ region: regionName.default('primary'), bucket: bucketName, prefix: z.string().default('') })
      .strict()
      .optional(),
    dryRun: z.boolean().default(false),
    /** Default: true in place, false into another bucket. */
    deleteKeysCreatedAfter: z.boolean().optional(),
    concurrency: z.number().int().min(1).max(256).default(32),
    /** Versions listed per page (one activity per page). */
    pageSize: z.number().int().min(1).max(1000).default(1000),
    /** Pages per workflow run before continuing as new (the server may suggest it sooner). */
    pagesPerRun: z.number().int().min(1).max(10000).default(500),
    /**
     * Split the key space into this many ranges of about equal size, each run by a child workflow
     * (`<jobId>/part-<n>`) with its own history: for buckets of millions of keys, and to spread a job
     * over several workers. 1: no split.
     */
    parts: z.number().int().min(1).max(64).default(1),
    /** Set by the parent of a split job: the key range of this part (after `afterKey`, up to `untilKey`). */
    range: keyRange.optional(),
    reason: z.string().max(500).optional(),
    /**
     * An `at` before the oldest version in scope plans "delete everything" (in place) or "copy
     * nothing": refused as a mistyped time unless this is set.
     */
    allowDeleteAll: z.boolean().default(false),
    ...leaseFields,
    ...gateFields,
  })
  .strict()
  .superRefine((input, ctx) => {
    refineParts(input, ctx);
    refinePrefixes(
      [
        { path: ['source'], prefix: input.source.prefix },
        { path: ['target'], prefix: input.target?.prefix },
      ],
      ctx,
    );
    refineAtAfterS3Epoch(input.at, ctx, input.allowDeleteAll);
    if (input.from !== undefined && Date.parse(input.from) >= Date.parse(input.at)) {
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be before "at"' });
    }
    const t = input.target;
    const s = input.source;
    if (t && t.region === s.region && t.bucket === s.bucket) {
      if (t.prefix === s.prefix) {
        ctx.addIssue({
          code: 'custom',
          path: ['target'],
          message: 'is the source itself: omit target to restore in place',
        });
      } else if (t.prefix.startsWith(s.prefix) || s.prefix.startsWith(t.prefix)) {
        // The restore would list its own output (or overwrite its input) as it goes.
        ctx.addIssue({
          code: 'custom',
          path: ['target', 'prefix'],
          message: 'overlaps the source prefix in the same bucket',
        });
      }
    }
  });
export type PointInTimeRestoreInput = z.input<typeof PointInTimeRestoreInput>;
export type PointInTimeRestoreRequest = z.output<typeof PointInTimeRestoreInput>;

const location = z
  .object({ region: regionName.default('primary'), bucket: bucketName, prefix: z.string().default('') })
  .strict();

export const BulkCopyInput = z
  .object({
    source: location,
    target: location,
    /** Copy the state at this instant (default: when the job started, i.e. as it is now). */
    at: isoInstant.optional(),
    /** Skip keys whose target already has the same ETag and size. */
    skipExisting: z.boolean().default(true),
    dryRun: z.boolean().default(false),
    concurrency: z.number().int().min(1).max(256).default(32),
    pageSize: z.number().int().min(1).max(1000).default(1000),
    /** Pages per workflow run before continuing as new (the server may suggest it sooner). */
    pagesPerRun: z.number().int().min(1).max(10000).default(500),
    /**
     * Split the key space into this many ranges of about equal size, each run by a child workflow
     * (`<jobId>/part-<n>`) with its own history: for buckets of millions of keys, and to spread a job
     * over several workers. 1: no split.
     */
    parts: z.number().int().min(1).max(64).default(1),
    /** Set by the parent of a split job: the key range of this part (after `afterKey`, up to `untilKey`). */
    range: keyRange.optional(),
    reason: z.string().max(500).optional(),
    ...leaseFields,
    ...gateFields,
  })
  .strict()
  .superRefine((input, ctx) => {
    refineParts(input, ctx);
    refinePrefixes(
      [
        { path: ['source'], prefix: input.source.prefix },
        { path: ['target'], prefix: input.target.prefix },
      ],
      ctx,
    );
    refineAtAfterS3Epoch(input.at, ctx);
    const { source: s, target: t } = input;
    if (
      t.region === s.region &&
      t.bucket === s.bucket &&
      (t.prefix.startsWith(s.prefix) || s.prefix.startsWith(t.prefix))
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'prefix'],
        message: 'overlaps the source prefix in the same bucket',
      });
    }
  });
export type BulkCopyInput = z.input<typeof BulkCopyInput>;
export type BulkCopyRequest = z.output<typeof BulkCopyInput>;

/**
 * A key that an earlier attempt of the same page recorded in its undo manifest (before touching it)
 * and that plans to nothing now: when it no longer reads as the record's `previous`, that attempt
 * changed it before its worker was lost. Returns the action it carried out (for exact counts), or null
 * when the key is still as it was (the earlier attempt never got to it, or someone put it back).
 */
export function doneByEarlierAttempt(
  key: string,
  record: { action: RestoreAction['action']; previous: PreviousState },
  entries: readonly VersionEntry[],
  target: TargetObject | undefined,
  at: string,
  inPlace: boolean,
): RestoreAction | null {
  const p = record.previous;
  let changed: boolean;
  if (inPlace) {
    const current = currentEntry(entries);
    if (p.kind === 'version') changed = current?.versionId !== p.versionId;
    else if (p.kind === 'deleted')
      changed = !(current?.isDeleteMarker && current.versionId === p.markerVersionId);
    else if (p.kind === 'absent') changed = current !== undefined;
    else changed = false;
  } else if (p.kind === 'object') changed = !target || target.etag !== p.etag || target.size !== p.size;
  else if (p.kind === 'absent') changed = target !== undefined;
  else changed = false;
  if (!changed) return null;
  const live = entryLiveAt(entries, at);
  switch (record.action) {
    case 'copy':
      return copyOf(
        key,
        live ?? { key, versionId: '', isDeleteMarker: false, isLatest: false, lastModified: at },
        p,
      );
    case 'remove-markers':
      return {
        key,
        action: 'remove-markers',
        markerVersionIds: [],
        restoresVersionId: live?.versionId ?? '',
        size: live?.size ?? 0,
        etag: live?.etag,
        previous: p,
      };
    case 'delete':
      return { key, action: 'delete', previous: p };
  }
}
