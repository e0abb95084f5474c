// Version recovery as pure logic: the workflow's input schema and, for each key, what to do given its versions.
import { z } from 'zod';
import { ErrorType, Refusal } from './errors';
import { leaseFields } from './safety';
import { bucketName, isoInstant, objectKey, regionName, versionId } from './schema';
import { currentEntry, deleteMarkersOnTop, entryLiveAt, newestFirst, VersionEntry } from './versions';

export const RecoveryAction = z.enum(['copy-version', 'remove-delete-marker', 'download']);
export type RecoveryAction = z.infer<typeof RecoveryAction>;

const keyItem = z.union([
  objectKey,
  z.object({ key: objectKey, versionId: versionId.optional(), at: isoInstant.optional() }).strict(),
]);

export const VersionRecoveryInput = z
  .object({
    action: RecoveryAction,
    region: regionName.default('primary'),
    bucket: bucketName,
    /** Keys, as strings or as { key, versionId?, at? } to pick a version per key. */
    keys: z.array(keyItem).min(1, { message: 'expected at least one key' }).max(1000, {
      message: 'expected at most 1000 keys (use pointInTimeRestore for larger sets)',
    }),
    /** The version to act on, for a single key. */
    versionId: versionId.optional(),
    /** Act on the version that was current at this instant. */
    at: isoInstant.optional(),
    /** Plan and report, change nothing. */
    dryRun: z.boolean().default(false),
    /**
     * No longer taken: a presigned URL is a bearer credential and would be stored in the run's
     * history. `lifeboat recover download --presign` signs one on the operator's machine instead.
     */
    presignSeconds: z.unknown().optional(),
    /** Free text kept in the step log and report: why this recovery was run. */
    reason: z.string().max(500).optional(),
    ...leaseFields,
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.versionId !== undefined && input.at !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['at'], message: 'give either versionId or at, not both' });
    }
    if (input.versionId !== undefined && input.keys.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['versionId'],
        message: 'a version id belongs to one key: give { key, versionId } per key instead',
      });
    }
    if (input.presignSeconds !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['presignSeconds'],
        message:
          'is no longer taken: a presigned URL is a credential and would be kept in the history; the workflow returns the version id and "lifeboat recover download --presign <seconds>" signs a URL on your machine',
      });
    }
    input.keys.forEach((item, i) => {
      const own: { versionId?: string; at?: string } = typeof item === 'string' ? {} : item;
      const hasVersion = own.versionId !== undefined || input.versionId !== undefined;
      const hasAt = own.at !== undefined || input.at !== undefined;
      if (own.versionId !== undefined && own.at !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['keys', i, 'at'],
          message: 'give either versionId or at, not both',
        });
      }
      if (input.action === 'remove-delete-marker' && (hasVersion || hasAt)) {
        ctx.addIssue({
          code: 'custom',
          path:
            own.versionId !== undefined || own.at !== undefined ? ['keys', i] : [hasAt ? 'at' : 'versionId'],
          message: 'remove-delete-marker takes no version or time: it removes the delete markers on top',
        });
      }
      if (input.action === 'copy-version' && !hasVersion && !hasAt) {
        ctx.addIssue({
          code: 'custom',
          path: ['keys', i],
          message: 'copy-version needs a versionId or an "at" time for this key',
        });
      }
    });
  });
export type VersionRecoveryInput = z.input<typeof VersionRecoveryInput>;
export type VersionRecoveryRequest = z.output<typeof VersionRecoveryInput>;

/** One key to recover with its selector resolved from the per-key and the run-wide fields. */
export interface KeySelector {
  key: string;
  versionId?: string;
  at?: string;
}

export function keySelectors(req: VersionRecoveryRequest): KeySelector[] {
  return req.keys.map((item) => {
    const own = typeof item === 'string' ? { key: item } : item;
    if (own.versionId !== undefined || own.at !== undefined) return own;
    return { key: own.key, versionId: req.versionId, at: req.at };
  });
}

/** What recovering one key takes. `previousVersionId` is the undo information: what was current before. */
export type KeyPlan =
  | {
      key: string;
      action: 'copy';
      sourceVersionId: string;
      sourceEtag?: string;
      sourceSize?: number;
      previousVersionId?: string;
    }
  | {
      key: string;
      action: 'remove-markers';
      /** Newest first; each one is a delete marker, never data. */
      markerVersionIds: string[];
      restoresVersionId: string;
      restoresEtag?: string;
      restoresSize?: number;
    }
  | { key: string; action: 'download'; versionId: string; etag?: string; size?: number }
  | { key: string; action: 'none'; reason: 'already-current'; versionId: string };

function describeSelector(s: KeySelector): string {
  if (s.versionId !== undefined) return `version ${s.versionId}`;
  if (s.at !== undefined) return `the version current at ${s.at}`;
  return 'the current version';
}

/** Resolve which version a selector names. The key's entries come from ListObjectVersions. */
export function resolveVersion(
  selector: KeySelector,
  entries: readonly VersionEntry[],
): VersionEntry | Refusal {
  const { key } = selector;
  if (entries.length === 0) {
    return { type: ErrorType.NoSuchKey, message: `key "${key}" has no versions in this bucket` };
  }
  let entry: VersionEntry | undefined;
  if (selector.versionId !== undefined) {
    entry = entries.find((e) => e.versionId === selector.versionId);
    if (!entry) {
      return { type: ErrorType.NoSuchVersion, message: `key "${key}" has no version ${selector.versionId}` };
    }
  } else if (selector.at !== undefined) {
    entry = entryLiveAt(entries, selector.at);
    if (!entry) {
      const first = entries.reduce((a, b) =>
        Date.parse(a.lastModified) <= Date.parse(b.lastModified) ? a : b,
      );
      return {
        type: ErrorType.NoVersionAtTime,
        message: `key "${key}" did not exist at ${selector.at}: its oldest version is from ${first.lastModified}`,
      };
    }
  } else {
    entry = currentEntry(entries);
  }
  if (!entry) return { type: ErrorType.NoSuchKey, message: `key "${key}" has no versions in this bucket` };
  if (entry.isDeleteMarker) {
    return {
      type: ErrorType.VersionIsDeleteMarker,
      message: `${describeSelector(selector)} of key "${key}" is a delete marker (${entry.versionId}): name a version with data`,
    };
  }
  return entry;
}

function isRefusal(x: VersionEntry | Refusal): x is Refusal {
  return (x as Refusal).type !== undefined && (x as VersionEntry).versionId === undefined;
}

/** Decide what to do for one key. Never plans the removal of anything but delete markers. */
export function planKeyRecovery(
  action: RecoveryAction,
  selector: KeySelector,
  entries: readonly VersionEntry[],
): KeyPlan | Refusal {
  const { key } = selector;
  const current = currentEntry(entries);
  if (action === 'remove-delete-marker') {
    if (!current)
      return { type: ErrorType.NoSuchKey, message: `key "${key}" has no versions in this bucket` };
    const markers = deleteMarkersOnTop(entries);
    if (markers.length === 0) {
      return {
        type: ErrorType.NoDeleteMarker,
        message: `key "${key}" is not deleted: its current version ${current.versionId} is data, not a delete marker`,
      };
    }
    // The newest entry that is not a marker is the one the markers hide.
    const restores = newestFirst(entries).find((e) => !e.isDeleteMarker);
    if (!restores) {
      return {
        type: ErrorType.NoSuchVersion,
        message: `key "${key}" has only delete markers: there is no version beneath them to bring back`,
      };
    }
    return {
      key,
      action: 'remove-markers',
      markerVersionIds: markers.map((m) => m.versionId),
      restoresVersionId: restores.versionId,
      restoresEtag: restores.etag,
      restoresSize: restores.size,
    };
  }
  const entry = resolveVersion(selector, entries);
  if (isRefusal(entry)) return entry;
  if (action === 'download') {
    return { key, action: 'download', versionId: entry.versionId, etag: entry.etag, size: entry.size };
  }
  if (current && current.versionId === entry.versionId) {
    return { key, action: 'none', reason: 'already-current', versionId: entry.versionId };
  }
  return {
    key,
    action: 'copy',
    sourceVersionId: entry.versionId,
    sourceEtag: entry.etag,
    sourceSize: entry.size,
    previousVersionId: current?.versionId,
  };
}

export function isKeyPlan(x: KeyPlan | Refusal): x is KeyPlan {
  return (x as KeyPlan).action !== undefined;
}

/** Counts of a plan, for the dry-run summary and the report. */
export function summarizePlans(plans: readonly KeyPlan[]): Record<KeyPlan['action'], number> {
  const counts = { copy: 0, 'remove-markers': 0, download: 0, none: 0 };
  for (const p of plans) counts[p.action] += 1;
  return counts;
}
