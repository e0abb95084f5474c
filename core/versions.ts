// Versions of one S3 key as plain data, and the questions asked of them: what is current, what was live at T.

/** One entry of ListObjectVersions for a key: a version or a delete marker. */
export interface VersionEntry {
  key: string;
  /** "null" for objects written before versioning was enabled. */
  versionId: string;
  isDeleteMarker: boolean;
  isLatest: boolean;
  /** ISO 8601 instant. */
  lastModified: string;
  /** Absent for delete markers. */
  size?: number;
  /** Without the surrounding quotes. Absent for delete markers. */
  etag?: string;
  storageClass?: string;
}

/** S3 quotes ETags in some responses and not in others; compare them bare. */
export function bareEtag(etag: string | undefined): string | undefined {
  return etag === undefined ? undefined : etag.replace(/^"+|"+$/g, '');
}

/**
 * Newest first. Several entries may share a timestamp (AWS lists whole seconds), so ties go to the
 * entry flagged latest, then to the listing order, which S3 gives newest first within a key.
 */
export function newestFirst(entries: readonly VersionEntry[]): VersionEntry[] {
  return entries
    .map((e, i) => ({ e, i }))
    .sort(
      (a, b) =>
        Date.parse(b.e.lastModified) - Date.parse(a.e.lastModified) ||
        Number(b.e.isLatest) - Number(a.e.isLatest) ||
        a.i - b.i,
    )
    .map(({ e }) => e);
}

/** The current entry: the one flagged latest, else the newest. Undefined when the key has no entries. */
export function currentEntry(entries: readonly VersionEntry[]): VersionEntry | undefined {
  return entries.find((e) => e.isLatest) ?? newestFirst(entries)[0];
}

/**
 * The entry that was current at instant `at`: the newest entry written at or before it.
 * Undefined when the key did not exist yet at `at`. A delete marker may be returned: the key was
 * deleted at that time.
 */
export function entryLiveAt(entries: readonly VersionEntry[], at: string): VersionEntry | undefined {
  const t = Date.parse(at);
  return newestFirst(entries).find((e) => Date.parse(e.lastModified) <= t);
}

/** The delete markers stacked on top of the newest real version (all of them, newest first). */
export function deleteMarkersOnTop(entries: readonly VersionEntry[]): VersionEntry[] {
  const markers: VersionEntry[] = [];
  for (const e of newestFirst(entries)) {
    if (!e.isDeleteMarker) break;
    markers.push(e);
  }
  return markers;
}

/**
 * S3's key order: UTF-8 bytes, which is code point order. JavaScript's `<` compares UTF-16 code
 * units and puts keys with characters above U+FFFF (surrogates, 0xD800-0xDFFF) before those with
 * U+E000-U+FFFF; this puts them after, as S3 lists them.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let ca = a.charCodeAt(i);
    let cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca >= 0xd800 && cb >= 0xd800) {
      ca = ca >= 0xe000 ? ca - 0x800 : ca + 0x2000;
      cb = cb >= 0xe000 ? cb - 0x800 : cb + 0x2000;
    }
    return ca - cb;
  }
  return a.length - b.length;
}
