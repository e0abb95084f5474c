// How a replica differs from its source, key by key: a streaming merge-join of two version listings.
import { z } from 'zod';
import { fnv1a } from './ids';
import { bucketName, regionName } from './schema';
import { currentEntry, newestFirst, VersionEntry } from './versions';

/**
 * What a key is on the replica, compared with the source:
 * - `in-sync`: both sides read the same (same current version, or both absent / deleted);
 * - `missing-on-replica`: the source has data for the key, the replica has nothing readable and no
 *   sign of a change of its own (never arrived, or the key was not replicated yet);
 * - `stale`: the replica's current is an older change of the source (an overwrite or a delete on the
 *   source has not arrived yet);
 * - `extra-on-replica`: the replica has data the source does not have at all;
 * - `pending` / `failed`: missing or stale, and the source says its replication is PENDING / FAILED
 *   (S3 CRR's ReplicationStatus; Ceph RGW does not report it, so these keys stay missing or stale);
 * - `content-mismatch`: same version (or same ETag and size) on both sides but different bytes (deep
 *   check), or the same version id with a different size or ETag;
 * - `diverged`: the replica's current is a change the source never had (overwritten or deleted on
 *   the replica itself): replicating again will not fix it, someone has to decide.
 */
export const DIFF_CLASSES = [
  'in-sync',
  'missing-on-replica',
  'stale',
  'extra-on-replica',
  'pending',
  'failed',
  'content-mismatch',
  'diverged',
] as const;
export type DiffClass = (typeof DIFF_CLASSES)[number];

/** The classes where the replica lacks a change of the source: they make the RPO. */
export const BEHIND_CLASSES: readonly DiffClass[] = [
  'missing-on-replica',
  'stale',
  'pending',
  'failed',
  'diverged',
];

export interface DiffOptions {
  /**
   * Compare versions by version id: right where the platform replicates version ids as they are
   * (S3 CRR, Ceph multisite). Otherwise by ETag and size (a plain copy into another bucket).
   */
  compareVersionIds: boolean;
}

/** The current entry of one side, as kept in examples and reports. */
export interface EntrySummary {
  versionId: string;
  isDeleteMarker: boolean;
  lastModified: string;
  size?: number;
  etag?: string;
}

export interface KeyDiff {
  key: string;
  class: DiffClass;
  /** The source's current entry (absent: the source has no entry for the key). */
  source?: EntrySummary;
  replica?: EntrySummary;
  /** The oldest change of the source the replica does not have (ISO); absent when it is not behind. */
  behindSince?: string;
  /** Why, when the class alone does not say it (e.g. "deleted on the replica"). */
  note?: string;
}

export type DiffCounts = Record<DiffClass, number> & { keys: number };
export type DiffExamples = Partial<Record<DiffClass, KeyDiff[]>>;

export const emptyDiffCounts = (): DiffCounts =>
  Object.fromEntries([['keys', 0], ...DIFF_CLASSES.map((c) => [c, 0])]) as DiffCounts;

export function addDiffCounts(a: DiffCounts, b: DiffCounts): DiffCounts {
  const out = emptyDiffCounts();
  out.keys = a.keys + b.keys;
  for (const c of DIFF_CLASSES) out[c] = a[c] + b[c];
  return out;
}

export function countDiff(counts: DiffCounts, diff: KeyDiff): DiffCounts {
  return { ...counts, keys: counts.keys + 1, [diff.class]: counts[diff.class] + 1 };
}

/** Keeps the first `cap` keys of each class (in-sync keys are not examples of anything). */
export function addExample(examples: DiffExamples, diff: KeyDiff, cap: number): DiffExamples {
  if (diff.class === 'in-sync') return examples;
  const list = examples[diff.class] ?? [];
  if (list.length >= cap) return examples;
  return { ...examples, [diff.class]: [...list, diff] };
}

export function mergeExamples(a: DiffExamples, b: DiffExamples, cap: number): DiffExamples {
  let out = a;
  for (const c of DIFF_CLASSES) for (const d of b[c] ?? []) out = addExample(out, d, cap);
  return out;
}

/** The earlier of two ISO instants (either may be absent). */
export function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}

/** RPO estimate: the age, at `now`, of the oldest change the replica does not have; 0 when none. */
export function rpoSeconds(oldestMissingChange: string | undefined, now: string): number {
  if (oldestMissingChange === undefined) return 0;
  return Math.max(0, (Date.parse(now) - Date.parse(oldestMissingChange)) / 1000);
}

/**
 * S3 lists keys in UTF-8 byte order. JavaScript compares UTF-16 code units, which puts characters
 * above U+FFFF (surrogate pairs) before U+E000-U+FFFF; shifting the code units fixes the order.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return fixup(x) - fixup(y);
  }
  return a.length - b.length;
}

function fixup(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** A multipart upload's ETag ("<md5 of md5s>-<parts>") depends on the part sizes, not only the bytes. */
export function isMultipartEtag(etag: string | undefined): boolean {
  return etag !== undefined && /-\d+$/.test(etag);
}

/**
 * Same size and ETag. Multipart ETags are not comparable across services or part sizes: then the
 * size alone decides here, and a deep check (bytes) settles it.
 */
export function sameContent(a: VersionEntry, b: VersionEntry): boolean {
  if (a.size !== b.size) return false;
  return a.etag === b.etag || isMultipartEtag(a.etag) || isMultipartEtag(b.etag);
}

/** `b` is the same change as `a`: same version id, or (without ids) same content; markers carry none. */
function sameChange(a: VersionEntry, b: VersionEntry, options: DiffOptions): boolean {
  if (a.isDeleteMarker !== b.isDeleteMarker) return false;
  if (options.compareVersionIds) return a.versionId === b.versionId;
  return a.isDeleteMarker || sameContent(a, b);
}

function summary(e: VersionEntry | undefined): EntrySummary | undefined {
  if (!e) return undefined;
  const s: EntrySummary = {
    versionId: e.versionId,
    isDeleteMarker: e.isDeleteMarker,
    lastModified: e.lastModified,
  };
  if (!e.isDeleteMarker) {
    s.size = e.size;
    s.etag = e.etag;
  }
  return s;
}

/**
 * The oldest change of the source the replica does not have: walking the source's history from the
 * newest, every entry until the first one the replica has is missing there.
 */
function oldestMissingChange(
  source: readonly VersionEntry[],
  replica: readonly VersionEntry[],
  options: DiffOptions,
): string | undefined {
  let oldest: string | undefined;
  for (const e of newestFirst(source)) {
    if (replica.some((r) => sameChange(e, r, options))) break;
    oldest = e.lastModified;
  }
  return oldest;
}

/** Classifies one key from its entries on each side. Null when neither side has any. */
export function classifyKey(
  key: string,
  source: readonly VersionEntry[],
  replica: readonly VersionEntry[],
  options: DiffOptions,
): KeyDiff | null {
  if (source.length === 0 && replica.length === 0) return null;
  const sc = currentEntry(source);
  const rc = currentEntry(replica);
  const sourceReads = sc !== undefined && !sc.isDeleteMarker;
  const replicaReads = rc !== undefined && !rc.isDeleteMarker;
  const base = { key, source: summary(sc), replica: summary(rc) };
  const inSource = (e: VersionEntry) => source.some((s) => sameChange(e, s, options));
  const inReplica = (e: VersionEntry) => replica.some((r) => sameChange(e, r, options));
  const behind = (cls: DiffClass, note?: string): KeyDiff => {
    const since = oldestMissingChange(source, replica, options);
    return {
      ...base,
      class: cls,
      ...(since !== undefined ? { behindSince: since } : {}),
      ...(note ? { note } : {}),
    };
  };

  // Both read as absent: a reader of either side sees the same thing, whatever the histories hold.
  if (!sourceReads && !replicaReads) return { ...base, class: 'in-sync' };
  if (sourceReads && replicaReads && sameChange(sc, rc, options)) {
    if (options.compareVersionIds && !sameContent(sc, rc)) {
      return { ...base, class: 'content-mismatch', note: 'same version id, different size or ETag' };
    }
    return { ...base, class: 'in-sync' };
  }
  if (replicaReads && !source.some((e) => !e.isDeleteMarker)) {
    return { ...base, class: 'extra-on-replica' };
  }
  if (sourceReads && (rc === undefined || (!replicaReads && !options.compareVersionIds))) {
    // Without version ids a replica's delete marker cannot be told from the source's: read as missing.
    return behind('missing-on-replica');
  }
  // Both sides have entries and read differently.
  if (inSource(rc!)) {
    // Without ids, a repeated content or any marker would match: only ids can tell a re-applied change.
    if (options.compareVersionIds && inReplica(sc!))
      return behind('diverged', 'an older source change was applied on the replica over the current one');
    return behind('stale', sc!.isDeleteMarker ? 'deleted on the source, not yet on the replica' : undefined);
  }
  return behind('diverged', rc!.isDeleteMarker ? 'deleted on the replica' : 'written on the replica');
}

/** Groups entries by key, keeping the listing order. */
function groupByKey(entries: readonly VersionEntry[]): Map<string, VersionEntry[]> {
  const groups = new Map<string, VersionEntry[]>();
  for (const e of entries) {
    const g = groups.get(e.key);
    if (g) g.push(e);
    else groups.set(e.key, [e]);
  }
  return groups;
}

/** The whole-listing diff (reference for the streaming merger; fine for small listings). */
export function diffListings(
  source: readonly VersionEntry[],
  replica: readonly VersionEntry[],
  options: DiffOptions,
): KeyDiff[] {
  const s = groupByKey(source);
  const r = groupByKey(replica);
  const keys = [...new Set([...s.keys(), ...r.keys()])].sort(compareKeys);
  return keys
    .map((k) => classifyKey(k, s.get(k) ?? [], r.get(k) ?? [], options))
    .filter((d): d is KeyDiff => d !== null);
}

export type Side = 'source' | 'replica';

/** A listing that is not in key order: the merge-join cannot work on it, and retrying will not help. */
export class ListingOrderError extends Error {}

/**
 * Merge-joins two listings that arrive page by page, each in key order. A key is emitted once it is
 * complete on both sides (its side has listed a later key, or is done): a key's versions may be split
 * across pages. Asking `next()` which side to list keeps the two sides within one page of each other,
 * so memory is bounded by the page size.
 */
export class ListingMerger {
  private readonly buffered: Record<Side, VersionEntry[]> = { source: [], replica: [] };
  private readonly lastKey: Record<Side, string | undefined> = { source: undefined, replica: undefined };
  private readonly done: Record<Side, boolean> = { source: false, replica: false };

  constructor(private readonly options: DiffOptions) {}

  /** Adds one page of `side` (listing order); `done` when it was the last. Returns the keys now complete. */
  push(side: Side, entries: readonly VersionEntry[], done: boolean): KeyDiff[] {
    if (this.done[side]) throw new ListingOrderError(`the ${side} listing was already done`);
    for (const e of entries) {
      const last = this.lastKey[side];
      if (last !== undefined && compareKeys(e.key, last) < 0) {
        throw new ListingOrderError(`the ${side} listing is out of key order: "${e.key}" after "${last}"`);
      }
      this.buffered[side].push(e);
      this.lastKey[side] = e.key;
    }
    this.done[side] = done;
    return this.drain();
  }

  /** The side to list next: the one behind (the other can then emit up to it). Undefined when both are done. */
  next(): Side | undefined {
    if (this.done.source && this.done.replica) return undefined;
    if (this.done.source) return 'replica';
    if (this.done.replica) return 'source';
    const s = this.lastKey.source;
    const r = this.lastKey.replica;
    if (s === undefined) return 'source';
    if (r === undefined) return 'replica';
    return compareKeys(s, r) <= 0 ? 'source' : 'replica';
  }

  get finished(): boolean {
    return this.next() === undefined && this.pendingEntries === 0;
  }

  /** Entries held until their key is complete on both sides. */
  get pendingEntries(): number {
    return this.buffered.source.length + this.buffered.replica.length;
  }

  pendingOf(side: Side): number {
    return this.buffered[side].length;
  }

  private complete(side: Side, key: string): boolean {
    const last = this.lastKey[side];
    return this.done[side] || (last !== undefined && compareKeys(key, last) < 0);
  }

  private drain(): KeyDiff[] {
    const out: KeyDiff[] = [];
    const s = this.buffered.source;
    const r = this.buffered.replica;
    let i = 0;
    let j = 0;
    for (;;) {
      const ks = i < s.length ? s[i].key : undefined;
      const kr = j < r.length ? r[j].key : undefined;
      if (ks === undefined && kr === undefined) break;
      const key = ks === undefined ? kr! : kr === undefined ? ks : compareKeys(ks, kr) <= 0 ? ks : kr;
      if (!this.complete('source', key) || !this.complete('replica', key)) break;
      const si = i;
      while (i < s.length && s[i].key === key) i++;
      const ri = j;
      while (j < r.length && r[j].key === key) j++;
      const diff = classifyKey(key, s.slice(si, i), r.slice(ri, j), this.options);
      if (diff) out.push(diff);
    }
    this.buffered.source = s.slice(i);
    this.buffered.replica = r.slice(j);
    return out;
  }
}

/**
 * The source's replication status of a behind key (S3's ReplicationStatus of the source object):
 * PENDING and FAILED are classes of their own; anything else leaves the key as it was.
 */
export function withReplicationStatus(diff: KeyDiff, status: string | undefined): KeyDiff {
  if (diff.class !== 'missing-on-replica' && diff.class !== 'stale') return diff;
  if (status === 'PENDING') return { ...diff, class: 'pending' };
  if (status === 'FAILED') return { ...diff, class: 'failed' };
  return diff;
}

/** The deep check's verdict on a key that looked in sync: different bytes make it a content mismatch. */
export function withDeepCheck(diff: KeyDiff, sameBytes: boolean): KeyDiff {
  if (diff.class !== 'in-sync' || sameBytes) return diff;
  return {
    ...diff,
    class: 'content-mismatch',
    note: 'different bytes (sha256) under the same version or ETag',
  };
}

/** Whether a key is in the deep check's sample: a hash of the key, so a retry picks the same keys. */
export function inSample(key: string, rate: number): boolean {
  if (rate >= 1) return true;
  return parseInt(fnv1a(key), 16) / 0x100000000 < rate;
}

/** A key worth a deep check: in sync by the listing, with data on both sides. */
export function deepCheckable(diff: KeyDiff): boolean {
  return (
    diff.class === 'in-sync' &&
    diff.source?.isDeleteMarker === false &&
    diff.replica?.isDeleteMarker === false
  );
}

const side = z.object({ region: regionName, bucket: bucketName }).strict();

export const VerifyReplicaInput = z
  .object({
    source: side.extend({ region: regionName.default('primary') }).strict(),
    /** Bucket defaults to the source's name (Ceph multisite and many CRR set-ups keep it). */
    replica: z.object({ region: regionName, bucket: bucketName.optional() }).strict(),
    prefix: z.string().default(''),
    /** Hash the bytes of both sides for keys that look in sync: none, a sample, or all. */
    deepCheck: z.enum(['none', 'sample', 'all']).default('none'),
    /** Fraction of keys in the deep check's sample. */
    sampleRate: z.number().gt(0).max(1).default(0.01),
    /** Keys kept as examples of each class (all of them are counted). */
    // Capped so the heartbeat checkpoint and the result stay small (Temporal payloads are limited).
    examplesPerClass: z.number().int().min(0).max(100).default(20),
    /** Compare version ids (S3 CRR, Ceph multisite); false: ETag and size (a copy into another bucket). */
    compareVersionIds: z.boolean().default(true),
    /** Versions per listing request. */
    pageSize: z.number().int().min(1).max(1000).default(1000),
    /** Listing requests (both sides together) per activity call. */
    pagesPerActivity: z.number().int().min(1).max(10000).default(100),
    /** Activity calls per workflow run before continuing as new. */
    callsPerRun: z.number().int().min(1).max(10000).default(200),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (
      input.replica.region === input.source.region &&
      (input.replica.bucket ?? input.source.bucket) === input.source.bucket
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['replica'],
        message: 'is the source itself: give another region or bucket',
      });
    }
  });
export type VerifyReplicaInput = z.input<typeof VerifyReplicaInput>;
export type VerifyReplicaRequest = z.output<typeof VerifyReplicaInput>;

/**
 * Where the last full verification of a pair is kept (relative to the reports prefix, as a job id
 * whose report.json it is): found again when the source is down.
 */
export function lastVerificationJobId(req: {
  source: { region: string; bucket: string };
  replica: { region: string; bucket: string };
  prefix: string;
}): string {
  const prefixPart = req.prefix === '' ? 'all' : `prefix-${fnv1a(req.prefix)}`;
  return `verify/latest/${req.source.region}/${req.source.bucket}/to/${req.replica.region}/${req.replica.bucket}/${prefixPart}`;
}
