// Undo of an in-place restore as pure logic: planUndoKey for every case, the manifest helpers, and
// properties over random histories: restore then undo gives back the state before the restore, never
// removes data, is idempotent, and leaves keys written since alone.
import fc from 'fast-check';
import { planKeyInPlace } from '../../core/pitr';
import {
  attemptOf,
  countUndo,
  emptyUndoCounts,
  firstRecordPerKey,
  parseUndoManifest,
  planUndoKey,
  UndoAction,
  UndoRecord,
  UndoRestoreInput,
} from '../../core/undo';
import { parseInput } from '../../core/validate';
import { currentEntry, newestFirst, VersionEntry } from '../../core/versions';
import { afterAll, applyInPlace, iso, KEY, marker, put, RUNS, scenarioArb } from './history';

const STARTED = '2026-11-26T12:00:00.000Z';
const BEFORE = '2026-11-26T11:00:00.000Z';
const AFTER = '2026-11-26T12:00:05.000Z';
const LATER = '2026-11-26T12:30:00.000Z';

describe('planUndoKey', () => {
  it.each<[string, UndoRecord, VersionEntry[], UndoAction | null]>([
    [
      'copy undone by copying the earlier version back',
      { key: KEY, action: 'copy', previous: { kind: 'version', versionId: 'v2', etag: 'e2', size: 2 } },
      [put('r1', AFTER, 'e1', 1, true), put('v2', BEFORE, 'e2', 2), put('v1', BEFORE, 'e1', 1)],
      { key: KEY, action: 'copy', sourceVersionId: 'v2', size: 2, etag: 'e2' },
    ],
    [
      'a marker added by the restore is removed, bringing back the same version',
      { key: KEY, action: 'delete', previous: { kind: 'version', versionId: 'v2', etag: 'e2', size: 2 } },
      [marker('m1', AFTER, true), put('v2', BEFORE, 'e2', 2)],
      { key: KEY, action: 'remove-markers', markerVersionIds: ['m1'], restoresVersionId: 'v2' },
    ],
    [
      'markers removed by the restore: a new marker deletes the key again',
      { key: KEY, action: 'remove-markers', previous: { kind: 'deleted', markerVersionId: 'm1' } },
      [put('v1', BEFORE, 'e1', 1, true)],
      { key: KEY, action: 'add-marker' },
    ],
    [
      'deleted before, copied by the restore: a new marker',
      { key: KEY, action: 'copy', previous: { kind: 'deleted', markerVersionId: 'm1' } },
      [put('r1', AFTER, 'e1', 1, true), marker('m1', BEFORE), put('v1', BEFORE, 'e1', 1)],
      { key: KEY, action: 'add-marker' },
    ],
    [
      'already as before (the restore failed on it): nothing',
      { key: KEY, action: 'copy', previous: { kind: 'version', versionId: 'v2', etag: 'e2', size: 2 } },
      [put('v2', BEFORE, 'e2', 2, true), put('v1', BEFORE, 'e1', 1)],
      null,
    ],
    [
      'already as before by content (undone once): nothing',
      { key: KEY, action: 'copy', previous: { kind: 'version', versionId: 'v2', etag: 'e2', size: 2 } },
      [put('u1', LATER, 'e2', 2, true), put('r1', AFTER, 'e1', 1), put('v2', BEFORE, 'e2', 2)],
      null,
    ],
    [
      'a record without the content: compared with the listed version it names',
      { key: KEY, action: 'copy', previous: { kind: 'version', versionId: 'v2' } },
      [put('u1', LATER, 'e2', 2, true), put('r1', AFTER, 'e1', 1), put('v2', BEFORE, 'e2', 2)],
      null,
    ],
    [
      'deleted before and deleted now: nothing',
      { key: KEY, action: 'remove-markers', previous: { kind: 'deleted', markerVersionId: 'm1' } },
      [marker('m2', LATER, true), put('v1', BEFORE, 'e1', 1)],
      null,
    ],
    [
      'written again since the restore: a conflict, left alone',
      { key: KEY, action: 'copy', previous: { kind: 'version', versionId: 'v2', etag: 'e2', size: 2 } },
      [put('x1', LATER, 'e9', 9, true), put('r1', AFTER, 'e1', 1), put('v2', BEFORE, 'e2', 2)],
      {
        key: KEY,
        action: 'conflict',
        reason:
          'changed since the restore: 2 version(s) or marker(s) written after it started, 1 by the restore',
      },
    ],
    [
      'deleted since a restore that removed markers: nothing (already deleted)',
      { key: KEY, action: 'remove-markers', previous: { kind: 'deleted', markerVersionId: 'm1' } },
      [marker('x1', LATER, true), put('v1', BEFORE, 'e1', 1)],
      null,
    ],
    [
      'written since a restore that only removed markers: a conflict',
      { key: KEY, action: 'remove-markers', previous: { kind: 'deleted', markerVersionId: 'm1' } },
      [put('x1', LATER, 'e9', 9, true), put('v1', BEFORE, 'e1', 1)],
      {
        key: KEY,
        action: 'conflict',
        reason:
          'changed since the restore: 1 version(s) or marker(s) written after it started, 0 by the restore',
      },
    ],
    [
      'the earlier version is gone (deleted by someone by version id): a conflict',
      { key: KEY, action: 'copy', previous: { kind: 'version', versionId: 'v2', etag: 'e2', size: 2 } },
      [put('r1', AFTER, 'e1', 1, true), put('v1', BEFORE, 'e1', 1)],
      { key: KEY, action: 'conflict', reason: 'version v2, current before the restore, no longer exists' },
    ],
    [
      'restored into another bucket: not undone here',
      { key: KEY, action: 'copy', previous: { kind: 'object', etag: 'e2', size: 2 } },
      [put('r1', AFTER, 'e1', 1, true)],
      {
        key: KEY,
        action: 'conflict',
        reason: 'restored into another bucket: its earlier object is not versioned by the restore',
      },
    ],
  ])('%s', (_name, record, entries, expected) => {
    expect(planUndoKey(record, entries, STARTED)).toEqual(expected);
  });
});

describe('undo manifests', () => {
  it('keeps each key’s first record, attempts in order', () => {
    const a = (key: string, versionId: string): UndoRecord => ({
      key,
      action: 'copy',
      previous: { kind: 'version', versionId },
    });
    expect(
      firstRecordPerKey([
        [a('k1', 'v1'), a('k2', 'v2')],
        [a('k2', 'later'), a('k3', 'v3')],
      ]),
    ).toEqual([a('k1', 'v1'), a('k2', 'v2'), a('k3', 'v3')]);
  });

  it('orders attempt files by number, not by name', () => {
    const files = ['p/attempt-10.jsonl', 'p/attempt-9.jsonl', 'p/attempt-1.jsonl'];
    expect([...files].sort((x, y) => attemptOf(x) - attemptOf(y))).toEqual([
      'p/attempt-1.jsonl',
      'p/attempt-9.jsonl',
      'p/attempt-10.jsonl',
    ]);
  });

  it('parses the lines the restore writes and names the file and line of a bad one', () => {
    const good = [
      {
        key: 'a b+%/ü',
        action: 'copy',
        previous: { kind: 'version', versionId: 'null', etag: 'e', size: 0 },
      },
      { key: 'k', action: 'delete', previous: { kind: 'version', versionId: 'v' } },
      { key: 'd', action: 'remove-markers', previous: { kind: 'deleted', markerVersionId: 'm' } },
    ];
    const text = good.map((g) => JSON.stringify(g)).join('\n') + '\n';
    expect(parseUndoManifest(text, 'f.jsonl')).toEqual(good);
    expect(() => parseUndoManifest(`${text}{oops\n`, 'f.jsonl')).toThrow('f.jsonl line 4: not JSON');
    expect(() => parseUndoManifest('{"key":"k","action":"shred","previous":{"kind":"absent"}}', 'g')).toThrow(
      /g line 1: not an undo record/,
    );
  });

  it('counts each plan by its kind', () => {
    const c = [
      null,
      { key: 'a', action: 'copy', sourceVersionId: 'v', size: 1 },
      { key: 'b', action: 'add-marker' },
      { key: 'c', action: 'remove-markers', markerVersionIds: ['m'], restoresVersionId: 'v' },
      { key: 'd', action: 'conflict', reason: 'x' },
    ].reduce((n, a) => countUndo(n, a as UndoAction | null), emptyUndoCounts());
    expect(c).toEqual({ keys: 5, copy: 1, removeMarkers: 1, addMarker: 1, unchanged: 1, conflicts: 1 });
  });

  it('validates the workflow input', () => {
    expect(parseInput(UndoRestoreInput, { jobId: 'pitr/x' }, 'undoRestore')).toEqual({
      ok: true,
      value: {
        jobId: 'pitr/x',
        dryRun: false,
        concurrency: 32,
        pagesPerRun: 500,
        waitForLease: false,
        leaseTtlSeconds: 600,
        autoApprove: false,
        approvalTimeoutSeconds: 3600,
      },
    });
    expect(parseInput(UndoRestoreInput, { jobId: '' }, 'undoRestore')).toMatchObject({
      ok: false,
      field: 'jobId',
    });
    expect(parseInput(UndoRestoreInput, { jobId: 'j', concurrency: 0 }, 'undoRestore')).toMatchObject({
      ok: false,
      field: 'concurrency',
    });
    expect(parseInput(UndoRestoreInput, { jobId: 'j', bucket: 'b' }, 'undoRestore')).toMatchObject({
      ok: false,
    });
  });
});

/** The model of S3 applying an undo plan at instant `ms`; returns the new listing. */
function applyUndo(entries: readonly VersionEntry[], plan: UndoAction | null, ms: number): VersionEntry[] {
  if (plan === null || plan.action === 'conflict') return entries.map((e) => ({ ...e }));
  const cleared = entries.map((e) => ({ ...e, isLatest: false }));
  const lastModified = iso(ms);
  switch (plan.action) {
    case 'copy': {
      const source = entries.find((e) => e.versionId === plan.sourceVersionId)!;
      expect(source.isDeleteMarker).toBe(false);
      return [
        {
          key: KEY,
          versionId: `undo-${ms}`,
          isDeleteMarker: false,
          isLatest: true,
          lastModified,
          etag: source.etag,
          size: source.size,
        },
        ...cleared,
      ];
    }
    case 'remove-markers': {
      const removed = new Set(plan.markerVersionIds);
      const rest = newestFirst(cleared.filter((e) => !removed.has(e.versionId)));
      if (rest.length > 0) rest[0].isLatest = true;
      return rest;
    }
    case 'add-marker':
      return [
        { key: KEY, versionId: `undo-marker-${ms}`, isDeleteMarker: true, isLatest: true, lastModified },
        ...cleared,
      ];
  }
}

const data = (entries: readonly VersionEntry[]) =>
  entries
    .filter((e) => !e.isDeleteMarker)
    .map((e) => e.versionId)
    .sort();

/** A restore of the random history to T, applied; its undo record; when it started and ended. */
function restored(h: Parameters<typeof afterAll>[0], atMs: number, deleteKeysCreatedAfter: boolean) {
  const plan = planKeyInPlace(KEY, h.listing, { at: iso(atMs), deleteKeysCreatedAfter });
  const restoreMs = afterAll(h, atMs);
  const record: UndoRecord | undefined = plan
    ? { key: KEY, action: plan.action, previous: plan.previous }
    : undefined;
  return {
    plan,
    record,
    after: applyInPlace(h.listing, plan, restoreMs),
    startedAt: iso(restoreMs - 1),
    restoreMs,
  };
}

describe('planUndoKey properties', () => {
  it('(U1) restore then undo: the key reads as it did before the restore, and undo again plans nothing', () => {
    fc.assert(
      fc.property(scenarioArb, ({ h, atMs, deleteKeysCreatedAfter }) => {
        const { record, after, startedAt, restoreMs } = restored(h, atMs, deleteKeysCreatedAfter);
        if (!record) return;
        const undo = planUndoKey(record, after, startedAt);
        expect(undo?.action).not.toBe('conflict');
        const undone = applyUndo(after, undo, restoreMs + 1000);
        const was = currentEntry(h.listing)!;
        const now = currentEntry(undone);
        if (was.isDeleteMarker) expect(now === undefined || now.isDeleteMarker).toBe(true);
        else
          expect({ marker: now?.isDeleteMarker, etag: now?.etag, size: now?.size }).toEqual({
            marker: false,
            etag: was.etag,
            size: was.size,
          });
        expect(planUndoKey(record, undone, startedAt)).toBeNull();
      }),
      RUNS,
    );
  });

  it('(U2) never removes data: every data version after the restore is still there after the undo', () => {
    fc.assert(
      fc.property(scenarioArb, ({ h, atMs, deleteKeysCreatedAfter }) => {
        const { record, after, startedAt, restoreMs } = restored(h, atMs, deleteKeysCreatedAfter);
        if (!record) return;
        const undo = planUndoKey(record, after, startedAt);
        if (undo?.action === 'remove-markers')
          for (const id of undo.markerVersionIds)
            expect(after.find((e) => e.versionId === id)?.isDeleteMarker).toBe(true);
        const undone = applyUndo(after, undo, restoreMs + 1000);
        for (const id of data(after)) expect(data(undone)).toContain(id);
      }),
      RUNS,
    );
  });

  it('(U3) a key written after the restore is never changed: its undo is nothing or a conflict', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.constantFrom('put', 'delete'),
        fc.constantFrom('e-a', 'e-z'),
        ({ h, atMs, deleteKeysCreatedAfter }, kind, etag) => {
          const { record, after, startedAt, restoreMs } = restored(h, atMs, deleteKeysCreatedAfter);
          if (!record) return;
          const write: VersionEntry =
            kind === 'put'
              ? put('someone', iso(restoreMs + 500), etag, 7, true)
              : marker('someone', iso(restoreMs + 500), true);
          const changed = [write, ...after.map((e) => ({ ...e, isLatest: false }))];
          const undo = planUndoKey(record, changed, startedAt);
          expect(undo === null || undo.action === 'conflict').toBe(true);
        },
      ),
      RUNS,
    );
  });
});
