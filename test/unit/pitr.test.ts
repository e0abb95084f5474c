// Point-in-time restore as pure logic: planKeyInPlace and planKeyToTarget for every case, the helpers
// (groupByKey, targetKey, counts), the PointInTimeRestoreInput schema through parseInput, and
// properties over random histories of one key (never deletes data, restores the state at T, idempotent).
import fc from 'fast-check';
import {
  addCounts,
  countAction,
  emptyCounts,
  groupByKey,
  PitrPlanOptions,
  planKeyInPlace,
  planKeyToTarget,
  PlanCounts,
  PointInTimeRestoreInput,
  RestoreAction,
  TargetObject,
  targetKey,
} from '../../core/pitr';
import { parseInput } from '../../core/validate';
import { currentEntry, entryLiveAt, newestFirst, VersionEntry } from '../../core/versions';
import { afterAll, applyInPlace, iso, KEY, marker, put, RUNS, scenarioArb, targetArb } from './history';

const inPlace = (at: string, deleteKeysCreatedAfter = true, from?: string): PitrPlanOptions =>
  from === undefined ? { at, deleteKeysCreatedAfter } : { at, from, deleteKeysCreatedAfter };

const withKey = (key: string, entries: VersionEntry[]): VersionEntry[] => entries.map((e) => ({ ...e, key }));

/** v1, then v2 (current). */
const overwritten: VersionEntry[] = [
  put('v2', '2026-11-26T10:10:00Z', 'e2', 200, true),
  put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
];

/** v1, v2, then two delete markers on top. */
const deletedTwice: VersionEntry[] = [
  marker('dm2', '2026-11-26T10:30:00Z', true),
  marker('dm1', '2026-11-26T10:20:00Z'),
  put('v2', '2026-11-26T10:10:00Z', 'e2', 200),
  put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
];

/** v1, v2, deleted, v3 written, deleted again: v3 (not v2) is beneath the marker. */
const rewrittenAndDeleted: VersionEntry[] = [
  marker('dm3', '2026-11-26T10:40:00Z', true),
  put('v3', '2026-11-26T10:30:00Z', 'e3', 300),
  marker('dm2', '2026-11-26T10:20:00Z'),
  put('v2', '2026-11-26T10:10:00Z', 'e2', 200),
  put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
];

const v2Previous = { kind: 'version', versionId: 'v2', etag: 'e2', size: 200 } as const;

describe('planKeyInPlace', () => {
  it.each<[string, VersionEntry[], PitrPlanOptions, RestoreAction | null]>([
    ['no entries', [], inPlace('2026-11-26T10:05:00Z'), null],
    ['unchanged since T (current is live at T)', overwritten, inPlace('2026-11-26T10:20:00Z'), null],
    [
      'overwritten after T: copies the version live at T over the current one',
      overwritten,
      inPlace('2026-11-26T10:05:00Z'),
      { key: KEY, action: 'copy', sourceVersionId: 'v1', size: 100, etag: 'e1', previous: v2Previous },
    ],
    [
      'overwritten several times after T: copies the version live at T',
      [
        put('v3', '2026-11-26T10:20:00Z', 'e3', 300, true),
        put('v2', '2026-11-26T10:10:00Z', 'e2', 200),
        put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
      ],
      inPlace('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'version', versionId: 'v3', etag: 'e3', size: 300 },
      },
    ],
    [
      'deleted after T, one marker on the live version: removes it',
      [marker('dm1', '2026-11-26T10:20:00Z', true), ...overwritten.map((e) => ({ ...e, isLatest: false }))],
      inPlace('2026-11-26T10:15:00Z'),
      {
        key: KEY,
        action: 'remove-markers',
        markerVersionIds: ['dm1'],
        restoresVersionId: 'v2',
        size: 200,
        etag: 'e2',
        previous: { kind: 'deleted', markerVersionId: 'dm1' },
      },
    ],
    [
      'deleted after T, two markers on the live version: removes both, newest first',
      deletedTwice,
      inPlace('2026-11-26T10:15:00Z'),
      {
        key: KEY,
        action: 'remove-markers',
        markerVersionIds: ['dm2', 'dm1'],
        restoresVersionId: 'v2',
        size: 200,
        etag: 'e2',
        previous: { kind: 'deleted', markerVersionId: 'dm2' },
      },
    ],
    [
      'deleted after T, but the live version is not beneath the markers (v1 live): copies',
      deletedTwice,
      inPlace('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'deleted', markerVersionId: 'dm2' },
      },
    ],
    [
      'deleted, rewritten and deleted again after T: copies (v3 is beneath the marker, not v2)',
      rewrittenAndDeleted,
      inPlace('2026-11-26T10:15:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v2',
        size: 200,
        etag: 'e2',
        previous: { kind: 'deleted', markerVersionId: 'dm3' },
      },
    ],
    [
      'deleted, rewritten and deleted again, T after the rewrite: removes the last marker',
      rewrittenAndDeleted,
      inPlace('2026-11-26T10:35:00Z'),
      {
        key: KEY,
        action: 'remove-markers',
        markerVersionIds: ['dm3'],
        restoresVersionId: 'v3',
        size: 300,
        etag: 'e3',
        previous: { kind: 'deleted', markerVersionId: 'dm3' },
      },
    ],
    [
      'created after T, deleteKeysCreatedAfter: adds a delete marker',
      [put('v1', '2026-11-26T10:10:00Z', 'e1', 100, true)],
      inPlace('2026-11-26T10:00:00Z', true),
      {
        key: KEY,
        action: 'delete',
        previous: { kind: 'version', versionId: 'v1', etag: 'e1', size: 100 },
      },
    ],
    [
      'created after T, not deleteKeysCreatedAfter: left alone',
      [put('v1', '2026-11-26T10:10:00Z', 'e1', 100, true)],
      inPlace('2026-11-26T10:00:00Z', false),
      null,
    ],
    [
      'deleted at T and rewritten after, deleteKeysCreatedAfter: adds a delete marker',
      [
        put('v2', '2026-11-26T10:30:00Z', 'e2', 200, true),
        marker('dm1', '2026-11-26T10:20:00Z'),
        put('v1', '2026-11-26T10:10:00Z', 'e1', 100),
      ],
      inPlace('2026-11-26T10:25:00Z', true),
      { key: KEY, action: 'delete', previous: v2Previous },
    ],
    [
      'deleted at T and rewritten after, not deleteKeysCreatedAfter: left alone',
      [
        put('v2', '2026-11-26T10:30:00Z', 'e2', 200, true),
        marker('dm1', '2026-11-26T10:20:00Z'),
        put('v1', '2026-11-26T10:10:00Z', 'e1', 100),
      ],
      inPlace('2026-11-26T10:25:00Z', false),
      null,
    ],
    [
      'absent at T and deleted now',
      [marker('dm1', '2026-11-26T10:20:00Z', true), put('v1', '2026-11-26T10:10:00Z', 'e1', 100)],
      inPlace('2026-11-26T10:00:00Z', true),
      null,
    ],
    ['deleted at T and deleted now', deletedTwice, inPlace('2026-11-26T10:25:00Z', true), null],
    [
      'only delete markers, T before them',
      [marker('dm2', '2026-11-26T10:20:00Z', true), marker('dm1', '2026-11-26T10:10:00Z')],
      inPlace('2026-11-26T10:00:00Z', true),
      null,
    ],
    [
      'only delete markers, T between them',
      [marker('dm2', '2026-11-26T10:20:00Z', true), marker('dm1', '2026-11-26T10:10:00Z')],
      inPlace('2026-11-26T10:15:00Z', true),
      null,
    ],
    [
      'only delete markers, T after them',
      [marker('dm2', '2026-11-26T10:20:00Z', true), marker('dm1', '2026-11-26T10:10:00Z')],
      inPlace('2026-11-26T10:30:00Z', true),
      null,
    ],
    [
      'current is another version with the same etag and size as the live one',
      [put('v2', '2026-11-26T10:10:00Z', 'e1', 100, true), put('v1', '2026-11-26T10:00:00Z', 'e1', 100)],
      inPlace('2026-11-26T10:05:00Z'),
      null,
    ],
    [
      'current has the same etag but another size: copies',
      [put('v2', '2026-11-26T10:10:00Z', 'e1', 101, true), put('v1', '2026-11-26T10:00:00Z', 'e1', 100)],
      inPlace('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'version', versionId: 'v2', etag: 'e1', size: 101 },
      },
    ],
    [
      'current has the same size but another etag: copies',
      [put('v2', '2026-11-26T10:10:00Z', 'e2', 100, true), put('v1', '2026-11-26T10:00:00Z', 'e1', 100)],
      inPlace('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'version', versionId: 'v2', etag: 'e2', size: 100 },
      },
    ],
    [
      'the "null" version (written before versioning) is live at T and overwritten: copies it',
      [put('v1', '2026-11-26T10:10:00Z', 'e1', 100, true), put('null', '2026-11-26T09:00:00Z', 'en', 50)],
      inPlace('2026-11-26T09:30:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'null',
        size: 50,
        etag: 'en',
        previous: { kind: 'version', versionId: 'v1', etag: 'e1', size: 100 },
      },
    ],
    [
      'the "null" version is live at T and deleted after: removes the marker',
      [marker('dm1', '2026-11-26T10:10:00Z', true), put('null', '2026-11-26T09:00:00Z', 'en', 50)],
      inPlace('2026-11-26T09:30:00Z'),
      {
        key: KEY,
        action: 'remove-markers',
        markerVersionIds: ['dm1'],
        restoresVersionId: 'null',
        size: 50,
        etag: 'en',
        previous: { kind: 'deleted', markerVersionId: 'dm1' },
      },
    ],
    [
      'the "null" version is live at T and current',
      [put('null', '2026-11-26T09:00:00Z', 'en', 50, true)],
      inPlace('2026-11-26T09:30:00Z'),
      null,
    ],
    [
      'the "null" version is current, a later version was live at T: copies that one',
      [put('null', '2026-11-26T10:20:00Z', 'en', 50, true), put('v1', '2026-11-26T10:00:00Z', 'e1', 100)],
      inPlace('2026-11-26T10:10:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'version', versionId: 'null', etag: 'en', size: 50 },
      },
    ],
    [
      'ties: T on the shared timestamp, the entry listed first is live and current',
      [
        put('b', '2026-11-26T10:00:00Z', 'eb', 2, true),
        put('a', '2026-11-26T10:00:00Z', 'ea', 1),
        put('o', '2026-11-26T09:00:00Z', 'eo', 3),
      ],
      inPlace('2026-11-26T10:00:00Z'),
      null,
    ],
    [
      'ties: T before the shared timestamp, copies the older version',
      [
        put('b', '2026-11-26T10:00:00Z', 'eb', 2, true),
        put('a', '2026-11-26T10:00:00Z', 'ea', 1),
        put('o', '2026-11-26T09:00:00Z', 'eo', 3),
      ],
      inPlace('2026-11-26T09:30:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'o',
        size: 3,
        etag: 'eo',
        previous: { kind: 'version', versionId: 'b', etag: 'eb', size: 2 },
      },
    ],
    [
      'ties, none latest: the entry listed first (b) is live at the shared timestamp',
      [
        put('z', '2026-11-26T11:00:00Z', 'ez', 9, true),
        put('b', '2026-11-26T10:00:00Z', 'eb', 2),
        put('a', '2026-11-26T10:00:00Z', 'ea', 1),
      ],
      inPlace('2026-11-26T10:30:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'b',
        size: 2,
        etag: 'eb',
        previous: { kind: 'version', versionId: 'z', etag: 'ez', size: 9 },
      },
    ],
    [
      'ties, none latest: a marker listed first makes the key absent at the shared timestamp',
      [
        put('z', '2026-11-26T11:00:00Z', 'ez', 9, true),
        marker('b', '2026-11-26T10:00:00Z'),
        put('a', '2026-11-26T10:00:00Z', 'ea', 1),
      ],
      inPlace('2026-11-26T10:30:00Z'),
      { key: KEY, action: 'delete', previous: { kind: 'version', versionId: 'z', etag: 'ez', size: 9 } },
    ],
    [
      'ties: a marker listed first (latest) on a version of the same timestamp, T on it: deleted at T',
      [
        marker('m', '2026-11-26T10:00:00Z', true),
        put('a', '2026-11-26T10:00:00Z', 'ea', 1),
        put('o', '2026-11-26T09:00:00Z', 'eo', 3),
      ],
      inPlace('2026-11-26T10:00:00Z'),
      null,
    ],
    [
      'ties: a version listed first on a marker of the same timestamp, T on it: live and current',
      [
        put('a', '2026-11-26T10:00:00Z', 'ea', 1, true),
        marker('m', '2026-11-26T10:00:00Z'),
        put('o', '2026-11-26T09:00:00Z', 'eo', 3),
      ],
      inPlace('2026-11-26T10:00:00Z'),
      null,
    ],
    [
      'ties: marker and version sharing a timestamp, both after T: the version beneath is not live, copies',
      [
        marker('m', '2026-11-26T10:00:00Z', true),
        put('a', '2026-11-26T10:00:00Z', 'ea', 1),
        put('o', '2026-11-26T09:00:00Z', 'eo', 3),
      ],
      inPlace('2026-11-26T09:30:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'o',
        size: 3,
        etag: 'eo',
        previous: { kind: 'deleted', markerVersionId: 'm' },
      },
    ],
    [
      'ties: two markers sharing a timestamp on the live version: removes both in listing order',
      [
        marker('m2', '2026-11-26T10:00:00Z', true),
        marker('m1', '2026-11-26T10:00:00Z'),
        put('o', '2026-11-26T09:00:00Z', 'eo', 3),
      ],
      inPlace('2026-11-26T09:30:00Z'),
      {
        key: KEY,
        action: 'remove-markers',
        markerVersionIds: ['m2', 'm1'],
        restoresVersionId: 'o',
        size: 3,
        etag: 'eo',
        previous: { kind: 'deleted', markerVersionId: 'm2' },
      },
    ],
    ['T exactly on the current version: it is live', overwritten, inPlace('2026-11-26T10:10:00Z'), null],
    [
      'T 1 ms before the current version: the previous one is live',
      overwritten,
      inPlace('2026-11-26T10:09:59.999Z'),
      { key: KEY, action: 'copy', sourceVersionId: 'v1', size: 100, etag: 'e1', previous: v2Previous },
    ],
    [
      'T exactly on the first version (with a +01:00 offset)',
      overwritten,
      inPlace('2026-11-26T11:00:00+01:00'),
      { key: KEY, action: 'copy', sourceVersionId: 'v1', size: 100, etag: 'e1', previous: v2Previous },
    ],
    [
      'T 1 ms before the first version: absent at T',
      overwritten,
      inPlace('2026-11-26T09:59:59.999Z'),
      { key: KEY, action: 'delete', previous: v2Previous },
    ],
    ['T exactly on a delete marker: deleted at T', deletedTwice, inPlace('2026-11-26T10:20:00Z'), null],
    [
      'from: every entry at or before from, planned as null although the key differs',
      overwritten,
      inPlace('2026-11-26T10:05:00Z', true, '2026-11-26T10:10:00Z'),
      null,
    ],
    [
      'from: every entry before from, planned as null although the key differs',
      overwritten,
      inPlace('2026-11-26T10:05:00Z', true, '2026-11-26T10:30:00Z'),
      null,
    ],
    [
      'from: a change 1 ms after from is planned',
      overwritten,
      inPlace('2026-11-26T10:05:00Z', true, '2026-11-26T10:09:59.999Z'),
      { key: KEY, action: 'copy', sourceVersionId: 'v1', size: 100, etag: 'e1', previous: v2Previous },
    ],
    [
      'from: a change after from (from before T) is planned',
      deletedTwice,
      inPlace('2026-11-26T10:15:00Z', true, '2026-11-26T10:12:00Z'),
      {
        key: KEY,
        action: 'remove-markers',
        markerVersionIds: ['dm2', 'dm1'],
        restoresVersionId: 'v2',
        size: 200,
        etag: 'e2',
        previous: { kind: 'deleted', markerVersionId: 'dm2' },
      },
    ],
    [
      'from: a key created after from is deleted',
      [put('v1', '2026-11-26T10:10:00Z', 'e1', 100, true)],
      inPlace('2026-11-26T10:05:00Z', true, '2026-11-26T10:00:00Z'),
      { key: KEY, action: 'delete', previous: { kind: 'version', versionId: 'v1', etag: 'e1', size: 100 } },
    ],
    [
      'zero-byte version overwritten: copied with size 0',
      [
        put('v2', '2026-11-26T10:10:00Z', 'e2', 200, true),
        put('v1', '2026-11-26T10:00:00Z', 'd41d8cd98f00b204e9800998ecf8427e', 0),
      ],
      inPlace('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 0,
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        previous: v2Previous,
      },
    ],
    [
      'zero-byte current version, a non-empty one live at T: copied',
      [
        put('v2', '2026-11-26T10:10:00Z', 'd41d8cd98f00b204e9800998ecf8427e', 0, true),
        put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
      ],
      inPlace('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'version', versionId: 'v2', etag: 'd41d8cd98f00b204e9800998ecf8427e', size: 0 },
      },
    ],
    [
      'zero-byte version deleted after T: markers removed, size 0',
      [
        marker('dm1', '2026-11-26T10:10:00Z', true),
        put('v1', '2026-11-26T10:00:00Z', 'd41d8cd98f00b204e9800998ecf8427e', 0),
      ],
      inPlace('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'remove-markers',
        markerVersionIds: ['dm1'],
        restoresVersionId: 'v1',
        size: 0,
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        previous: { kind: 'deleted', markerVersionId: 'dm1' },
      },
    ],
  ])('%s', (_name, entries, options, expected) => {
    expect(planKeyInPlace(KEY, entries, options)).toEqual(expected);
  });

  it.each([
    'my report.csv',
    'données/été 2026/é.csv',
    '日本語/ファイル.txt',
    'a+b=c.txt',
    '100%/x%20y',
    'folder/',
  ])('key %j is passed through unchanged (copy, remove-markers, delete)', (key) => {
    const at = '2026-11-26T10:05:00Z';
    expect(planKeyInPlace(key, withKey(key, overwritten), inPlace(at))).toEqual({
      key,
      action: 'copy',
      sourceVersionId: 'v1',
      size: 100,
      etag: 'e1',
      previous: v2Previous,
    });
    expect(planKeyInPlace(key, withKey(key, deletedTwice), inPlace('2026-11-26T10:15:00Z'))).toMatchObject({
      key,
      action: 'remove-markers',
    });
    expect(planKeyInPlace(key, withKey(key, overwritten), inPlace('2026-11-26T09:00:00Z'))).toEqual({
      key,
      action: 'delete',
      previous: v2Previous,
    });
  });

  it('does not modify its input', () => {
    const entries = deletedTwice.map((e) => ({ ...e }));
    planKeyInPlace(KEY, entries, inPlace('2026-11-26T10:15:00Z'));
    expect(entries).toEqual(deletedTwice);
  });
});

describe('planKeyToTarget', () => {
  const toTarget = (at: string, deleteKeysCreatedAfter = false, from?: string): PitrPlanOptions =>
    inPlace(at, deleteKeysCreatedAfter, from);

  it.each<[string, VersionEntry[], TargetObject | undefined, PitrPlanOptions, RestoreAction | null]>([
    ['no entries, target missing', [], undefined, toTarget('2026-11-26T10:05:00Z', true), null],
    [
      'no entries, target has an object',
      [],
      { etag: 'x', size: 1 },
      toTarget('2026-11-26T10:05:00Z', true),
      null,
    ],
    [
      'target missing: copies the version live at T',
      overwritten,
      undefined,
      toTarget('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'absent' },
      },
    ],
    [
      'target missing, T after the last write: copies the current version',
      overwritten,
      undefined,
      toTarget('2026-11-26T10:20:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v2',
        size: 200,
        etag: 'e2',
        previous: { kind: 'absent' },
      },
    ],
    [
      'target with the same etag and size: nothing to do',
      overwritten,
      { etag: 'e1', size: 100 },
      toTarget('2026-11-26T10:05:00Z'),
      null,
    ],
    [
      'target with the same etag and size, skipExisting true: nothing to do',
      overwritten,
      { etag: 'e1', size: 100 },
      { ...toTarget('2026-11-26T10:05:00Z'), skipExisting: true },
      null,
    ],
    [
      'target with the same etag and size, skipExisting false: copies anyway',
      overwritten,
      { etag: 'e1', size: 100 },
      { ...toTarget('2026-11-26T10:05:00Z'), skipExisting: false },
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'object', etag: 'e1', size: 100 },
      },
    ],
    [
      'target with another etag: copies, previous is the target object',
      overwritten,
      { etag: 'e2', size: 200 },
      toTarget('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'object', etag: 'e2', size: 200 },
      },
    ],
    [
      'target with the same etag but another size: copies',
      overwritten,
      { etag: 'e1', size: 99 },
      toTarget('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'object', etag: 'e1', size: 99 },
      },
    ],
    [
      'target without an etag: copies (the content cannot be proven equal)',
      overwritten,
      { size: 100 },
      toTarget('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'object', size: 100 },
      },
    ],
    [
      'source deleted now, live at T: copies the live version (never removes markers in the source)',
      deletedTwice,
      undefined,
      toTarget('2026-11-26T10:15:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v2',
        size: 200,
        etag: 'e2',
        previous: { kind: 'absent' },
      },
    ],
    [
      'absent at T, target has an object, deleteKeysCreatedAfter: deletes it',
      overwritten,
      { etag: 'e2', size: 200 },
      toTarget('2026-11-26T09:00:00Z', true),
      { key: KEY, action: 'delete', previous: { kind: 'object', etag: 'e2', size: 200 } },
    ],
    [
      'absent at T, target has an object, not deleteKeysCreatedAfter: left alone',
      overwritten,
      { etag: 'e2', size: 200 },
      toTarget('2026-11-26T09:00:00Z', false),
      null,
    ],
    [
      'absent at T, target missing, deleteKeysCreatedAfter: nothing to do',
      overwritten,
      undefined,
      toTarget('2026-11-26T09:00:00Z', true),
      null,
    ],
    [
      'deleted at T (a marker live), target has an object, deleteKeysCreatedAfter: deletes it',
      deletedTwice,
      { etag: 'e2', size: 200 },
      toTarget('2026-11-26T10:25:00Z', true),
      { key: KEY, action: 'delete', previous: { kind: 'object', etag: 'e2', size: 200 } },
    ],
    [
      'zero-byte version live at T, target missing: copies size 0',
      [put('v1', '2026-11-26T10:00:00Z', 'd41d8cd98f00b204e9800998ecf8427e', 0, true)],
      undefined,
      toTarget('2026-11-26T10:05:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 0,
        etag: 'd41d8cd98f00b204e9800998ecf8427e',
        previous: { kind: 'absent' },
      },
    ],
    [
      'zero-byte target, same etag and size 0: nothing to do',
      [put('v1', '2026-11-26T10:00:00Z', 'd41d8cd98f00b204e9800998ecf8427e', 0, true)],
      { etag: 'd41d8cd98f00b204e9800998ecf8427e', size: 0 },
      toTarget('2026-11-26T10:05:00Z'),
      null,
    ],
    [
      'from: every entry at or before from, planned as null although the target is missing',
      overwritten,
      undefined,
      toTarget('2026-11-26T10:05:00Z', false, '2026-11-26T10:10:00Z'),
      null,
    ],
    [
      'from: a change after from is planned',
      overwritten,
      undefined,
      toTarget('2026-11-26T10:05:00Z', false, '2026-11-26T10:01:00Z'),
      {
        key: KEY,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'absent' },
      },
    ],
  ])('%s', (_name, entries, target, options, expected) => {
    expect(planKeyToTarget(KEY, entries, target, options)).toEqual(expected);
  });

  it.each(['my report.csv', 'données/é.csv', '日本語/ファイル.txt', 'a+b=c.txt', '100%/x%20y', 'folder/'])(
    'key %j is passed through unchanged',
    (key) => {
      expect(
        planKeyToTarget(key, withKey(key, overwritten), undefined, toTarget('2026-11-26T10:05:00Z')),
      ).toEqual({
        key,
        action: 'copy',
        sourceVersionId: 'v1',
        size: 100,
        etag: 'e1',
        previous: { kind: 'absent' },
      });
    },
  );
});

describe('groupByKey', () => {
  const e = (key: string, versionId: string): VersionEntry => ({
    ...put(versionId, '2026-11-26T10:00:00Z', 'e', 1),
    key,
  });

  it.each<[string, VersionEntry[], { key: string; ids: string[] }[]]>([
    ['empty', [], []],
    ['one entry', [e('a', '1')], [{ key: 'a', ids: ['1'] }]],
    [
      'consecutive keys, order kept',
      [e('a', '2'), e('a', '1'), e('b', '1'), e('c', '3'), e('c', '2'), e('c', '1')],
      [
        { key: 'a', ids: ['2', '1'] },
        { key: 'b', ids: ['1'] },
        { key: 'c', ids: ['3', '2', '1'] },
      ],
    ],
    [
      'a key that comes back after another one starts a new group',
      [e('a', '2'), e('b', '1'), e('a', '1')],
      [
        { key: 'a', ids: ['2'] },
        { key: 'b', ids: ['1'] },
        { key: 'a', ids: ['1'] },
      ],
    ],
    [
      'keys that only differ by a trailing slash are different keys',
      [e('dir', '1'), e('dir/', '1')],
      [
        { key: 'dir', ids: ['1'] },
        { key: 'dir/', ids: ['1'] },
      ],
    ],
  ])('%s', (_name, entries, expected) => {
    const groups = groupByKey(entries);
    expect(groups.map((g) => ({ key: g.key, ids: g.entries.map((x) => x.versionId) }))).toEqual(expected);
    for (const g of groups) for (const x of g.entries) expect(x.key).toBe(g.key);
  });

  it('keeps the entries themselves (same objects, same order)', () => {
    const entries = [e('a', '2'), e('a', '1'), e('b', '1')];
    const groups = groupByKey(entries);
    expect(groups[0].entries[0]).toBe(entries[0]);
    expect(groups.flatMap((g) => g.entries)).toEqual(entries);
  });
});

describe('targetKey', () => {
  it.each<[string, string, string, string]>([
    ['data/2026/x.csv', 'data/', 'restored/', 'restored/2026/x.csv'],
    ['data/2026/x.csv', 'data/', 'restored/data/', 'restored/data/2026/x.csv'],
    ['data/2026/x.csv', 'data/', '', '2026/x.csv'],
    ['x.csv', '', 'restored/', 'restored/x.csv'],
    ['x.csv', '', '', 'x.csv'],
    ['data/x.csv', 'data/', 'data/', 'data/x.csv'],
    ['data/', 'data/', 'out/', 'out/'],
    ['data/été 2026/a+b%20.csv', 'data/', 'restored/', 'restored/été 2026/a+b%20.csv'],
    ['logs-2026-11-26.gz', 'logs-', 'archive/logs-', 'archive/logs-2026-11-26.gz'],
  ])('targetKey(%j, %j, %j) is %j', (key, sourcePrefix, targetPrefix, expected) => {
    expect(targetKey(key, sourcePrefix, targetPrefix)).toBe(expected);
  });
});

describe('countAction and addCounts', () => {
  const copy: RestoreAction = {
    key: KEY,
    action: 'copy',
    sourceVersionId: 'v1',
    size: 100,
    etag: 'e1',
    previous: { kind: 'absent' },
  };
  const removeMarkers: RestoreAction = {
    key: KEY,
    action: 'remove-markers',
    markerVersionIds: ['dm1'],
    restoresVersionId: 'v1',
    size: 300,
    etag: 'e1',
    previous: { kind: 'deleted', markerVersionId: 'dm1' },
  };
  const del: RestoreAction = { key: KEY, action: 'delete', previous: { kind: 'absent' } };
  const zero = emptyCounts();

  it('emptyCounts is all zeros, and a fresh object each time', () => {
    expect(zero).toEqual({ keys: 0, copy: 0, removeMarkers: 0, delete: 0, unchanged: 0, bytes: 0 });
    expect(emptyCounts()).not.toBe(emptyCounts());
  });

  it.each<[string, RestoreAction | null, PlanCounts]>([
    ['null (unchanged)', null, { keys: 1, copy: 0, removeMarkers: 0, delete: 0, unchanged: 1, bytes: 0 }],
    [
      'copy: counts its bytes',
      copy,
      { keys: 1, copy: 1, removeMarkers: 0, delete: 0, unchanged: 0, bytes: 100 },
    ],
    [
      'zero-byte copy',
      { ...copy, size: 0 },
      { keys: 1, copy: 1, removeMarkers: 0, delete: 0, unchanged: 0, bytes: 0 },
    ],
    [
      'remove-markers: no bytes copied',
      removeMarkers,
      { keys: 1, copy: 0, removeMarkers: 1, delete: 0, unchanged: 0, bytes: 0 },
    ],
    ['delete', del, { keys: 1, copy: 0, removeMarkers: 0, delete: 1, unchanged: 0, bytes: 0 }],
  ])('countAction(empty, %s)', (_name, action, expected) => {
    expect(countAction(zero, action)).toEqual(expected);
    expect(zero).toEqual(emptyCounts());
  });

  it('countAction accumulates over several actions', () => {
    const counts = [copy, null, { ...copy, size: 50 }, removeMarkers, del, null].reduce<PlanCounts>(
      (c, a) => countAction(c, a),
      emptyCounts(),
    );
    expect(counts).toEqual({ keys: 6, copy: 2, removeMarkers: 1, delete: 1, unchanged: 2, bytes: 150 });
  });

  it.each<[string, PlanCounts, PlanCounts, PlanCounts]>([
    ['empty + empty', emptyCounts(), emptyCounts(), emptyCounts()],
    [
      'field by field',
      { keys: 10, copy: 3, removeMarkers: 2, delete: 1, unchanged: 4, bytes: 1000 },
      { keys: 5, copy: 1, removeMarkers: 0, delete: 2, unchanged: 2, bytes: 24 },
      { keys: 15, copy: 4, removeMarkers: 2, delete: 3, unchanged: 6, bytes: 1024 },
    ],
    [
      'empty is the identity',
      { keys: 7, copy: 1, removeMarkers: 2, delete: 3, unchanged: 1, bytes: 5 },
      emptyCounts(),
      { keys: 7, copy: 1, removeMarkers: 2, delete: 3, unchanged: 1, bytes: 5 },
    ],
  ])('addCounts: %s', (_name, a, b, expected) => {
    expect(addCounts(a, b)).toEqual(expected);
    expect(addCounts(b, a)).toEqual(expected);
  });

  it('counting pages separately and adding them equals counting everything at once', () => {
    const page1 = [copy, null, del];
    const page2 = [removeMarkers, { ...copy, size: 7 }];
    const count = (actions: (RestoreAction | null)[]): PlanCounts =>
      actions.reduce<PlanCounts>((c, a) => countAction(c, a), emptyCounts());
    expect(addCounts(count(page1), count(page2))).toEqual(count([...page1, ...page2]));
  });
});

describe('PointInTimeRestoreInput', () => {
  const AT = '2026-11-26T10:00:00Z';
  const parse = (input: unknown) => parseInput(PointInTimeRestoreInput, input, 'point-in-time restore');

  it('minimal valid in-place input: defaults filled in', () => {
    const result = parse({ source: { bucket: 'my-bucket' }, at: AT });
    expect(result).toEqual({
      ok: true,
      value: {
        source: { region: 'primary', bucket: 'my-bucket', prefix: '' },
        at: AT,
        dryRun: false,
        concurrency: 32,
        pageSize: 1000,
        pagesPerRun: 500,
        parts: 1,
        // The lease and the gate: refused on overlap, stop past the thresholds, ask for an hour.
        allowDeleteAll: false,
        waitForLease: false,
        leaseTtlSeconds: 600,
        autoApprove: false,
        approvalTimeoutSeconds: 3600,
      },
    });
    if (!result.ok) throw new Error('expected ok');
    expect(result.value.target).toBeUndefined();
    expect(result.value.from).toBeUndefined();
    expect(result.value.deleteKeysCreatedAfter).toBeUndefined();
  });

  it('a full valid input into another bucket is kept as given', () => {
    const input = {
      source: { region: 'secondary', bucket: 'my-bucket', prefix: 'data/' },
      at: AT,
      from: '2026-11-26T09:00:00Z',
      target: { region: 'primary', bucket: 'other-bucket', prefix: 'restored/' },
      dryRun: true,
      deleteKeysCreatedAfter: true,
      concurrency: 8,
      pageSize: 500,
      pagesPerRun: 500,
      parts: 4,
      reason: 'INC-42',
      allowDeleteAll: true,
      waitForLease: true,
      leaseTtlSeconds: 120,
      autoApprove: true,
      maxDeleteFraction: 0.5,
      maxDeleteKeys: 5000,
      maxOverwriteFraction: 1,
      maxOverwriteKeys: 100000,
      approvalTimeoutSeconds: 600,
    };
    expect(parse(input)).toEqual({ ok: true, value: input });
  });

  it.each<[string, Record<string, unknown>]>([
    ['from 1 ms before at', { from: '2026-11-26T09:59:59.999Z' }],
    ['from before at, written with an offset', { from: '2026-11-26T10:59:00+01:00' }],
    ['target in another bucket, same prefix', { target: { bucket: 'other-bucket' } }],
    [
      'target in another bucket, overlapping prefix',
      {
        source: { bucket: 'my-bucket', prefix: 'data/' },
        target: { bucket: 'other-bucket', prefix: 'data/x/' },
      },
    ],
    [
      'same bucket, prefixes that do not overlap',
      {
        source: { bucket: 'my-bucket', prefix: 'data/' },
        target: { bucket: 'my-bucket', prefix: 'restored/' },
      },
    ],
    ['same bucket in another region profile', { target: { region: 'secondary', bucket: 'my-bucket' } }],
    ['a part of a split job', { range: { afterKey: 'a', untilKey: 'm' } }],
    ['the first part (open start)', { range: { untilKey: 'm' } }],
  ])('valid: %s', (_name, overrides) => {
    expect(parse({ source: { bucket: 'my-bucket' }, at: AT, ...overrides })).toMatchObject({ ok: true });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['from equal to at', { from: AT }, 'from'],
    ['from after at', { from: '2026-11-26T10:00:01Z' }, 'from'],
    ['from equal to at, written with an offset', { from: '2026-11-26T11:00:00+01:00' }, 'from'],
    ['target equal to the source (defaults)', { target: { bucket: 'my-bucket' } }, 'target'],
    [
      'target equal to the source (explicit)',
      {
        source: { region: 'primary', bucket: 'my-bucket', prefix: 'data/' },
        target: { region: 'primary', bucket: 'my-bucket', prefix: 'data/' },
      },
      'target',
    ],
    [
      'same bucket, target prefix inside the source prefix',
      {
        source: { bucket: 'my-bucket', prefix: 'data/' },
        target: { bucket: 'my-bucket', prefix: 'data/restored/' },
      },
      'target.prefix',
    ],
    [
      'same bucket, source prefix inside the target prefix',
      {
        source: { bucket: 'my-bucket', prefix: 'data/x/' },
        target: { bucket: 'my-bucket', prefix: 'data/' },
      },
      'target.prefix',
    ],
    [
      'same bucket, whole-bucket source',
      { target: { bucket: 'my-bucket', prefix: 'restored/' } },
      'target.prefix',
    ],
    [
      'same bucket, whole-bucket target',
      { source: { bucket: 'my-bucket', prefix: 'data/' }, target: { bucket: 'my-bucket' } },
      'target.prefix',
    ],
    ['unknown top-level field', { restoreEverything: true }, '(input)'],
    ['unknown field in source', { source: { bucket: 'my-bucket', versioned: true } }, 'source'],
    ['unknown field in target', { target: { bucket: 'other-bucket', acl: 'private' } }, 'target'],
    ['at not an instant', { at: 'yesterday' }, 'at'],
    ['at without an offset', { at: '2026-11-26T10:00:00' }, 'at'],
    ['bad bucket name', { source: { bucket: 'My_Bucket' } }, 'source.bucket'],
    ['concurrency 0', { concurrency: 0 }, 'concurrency'],
    ['concurrency 257', { concurrency: 257 }, 'concurrency'],
    ['pageSize 1001', { pageSize: 1001 }, 'pageSize'],
    ['reason too long', { reason: 'x'.repeat(501) }, 'reason'],
    ['parts 0', { parts: 0 }, 'parts'],
    ['parts 65', { parts: 65 }, 'parts'],
    ['a part split again', { parts: 2, range: { afterKey: 'a' } }, 'parts'],
    ['an empty range key', { range: { afterKey: '' } }, 'range.afterKey'],
  ])('invalid: %s -> field %j', (_name, overrides, field) => {
    const result = parse({ source: { bucket: 'my-bucket' }, at: AT, ...overrides });
    expect(result).toMatchObject({ ok: false, field });
    if (result.ok) throw new Error('expected an error');
    expect(result.message).toContain(`field "${field}"`);
  });

  it('a missing source is rejected', () => {
    expect(parse({ at: AT })).toMatchObject({ ok: false, field: 'source' });
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties over random histories of one key.

describe('planKeyInPlace properties', () => {
  it('(P1) never deletes data: only copies, adds a marker, or removes markers on top of the newest data', () => {
    fc.assert(
      fc.property(scenarioArb, ({ h, atMs, deleteKeysCreatedAfter }) => {
        const plan = planKeyInPlace(KEY, h.listing, { at: iso(atMs), deleteKeysCreatedAfter });
        if (!plan) return;
        expect(plan.key).toBe(KEY);
        const byId = new Map(h.listing.map((e) => [e.versionId, e]));
        if (plan.action === 'copy') {
          const source = byId.get(plan.sourceVersionId);
          expect(source?.isDeleteMarker).toBe(false);
          expect(plan.etag).toBe(source?.etag);
          expect(plan.size).toBe(source?.size);
        } else if (plan.action === 'remove-markers') {
          const ordered = newestFirst(h.listing);
          const newestData = ordered.findIndex((e) => !e.isDeleteMarker);
          expect(newestData).toBeGreaterThanOrEqual(0);
          expect(plan.markerVersionIds.length).toBeGreaterThan(0);
          expect(new Set(plan.markerVersionIds).size).toBe(plan.markerVersionIds.length);
          for (const id of plan.markerVersionIds) {
            const at = ordered.findIndex((e) => e.versionId === id);
            expect(at).toBeGreaterThanOrEqual(0);
            expect(ordered[at].isDeleteMarker).toBe(true);
            expect(at).toBeLessThan(newestData);
          }
          expect(plan.restoresVersionId).toBe(ordered[newestData].versionId);
        } else {
          expect(plan.action).toBe('delete');
          expect(deleteKeysCreatedAfter).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('(P2) applying the plan makes the key read as it did at T', () => {
    fc.assert(
      fc.property(scenarioArb, ({ h, atMs, deleteKeysCreatedAfter }) => {
        const at = iso(atMs);
        const live = entryLiveAt(h.listing, at);
        const plan = planKeyInPlace(KEY, h.listing, { at, deleteKeysCreatedAfter });
        const after = applyInPlace(h.listing, plan, afterAll(h, atMs));
        const current = currentEntry(after);
        expect(after.filter((e) => e.isLatest).length).toBeLessThanOrEqual(1);
        if (live && !live.isDeleteMarker) {
          expect(current?.isDeleteMarker).toBe(false);
          expect({ etag: current?.etag, size: current?.size }).toEqual({ etag: live.etag, size: live.size });
        } else if (deleteKeysCreatedAfter) {
          expect(current === undefined || current.isDeleteMarker).toBe(true);
        } else {
          // Absent at T and keys created after are kept: nothing is planned.
          expect(plan).toBeNull();
        }
      }),
      RUNS,
    );
  });

  it('(P3) idempotent: planning again on the applied state returns null', () => {
    fc.assert(
      fc.property(scenarioArb, ({ h, atMs, deleteKeysCreatedAfter }) => {
        const options = { at: iso(atMs), deleteKeysCreatedAfter };
        const plan = planKeyInPlace(KEY, h.listing, options);
        const after = applyInPlace(h.listing, plan, afterAll(h, atMs));
        expect(planKeyInPlace(KEY, after, options)).toBeNull();
      }),
      RUNS,
    );
  });

  it('the undo information is the current state before the restore', () => {
    fc.assert(
      fc.property(scenarioArb, ({ h, atMs, deleteKeysCreatedAfter }) => {
        const plan = planKeyInPlace(KEY, h.listing, { at: iso(atMs), deleteKeysCreatedAfter });
        if (!plan) return;
        const current = h.listing[0];
        expect(plan.previous).toEqual(
          current.isDeleteMarker
            ? { kind: 'deleted', markerVersionId: current.versionId }
            : { kind: 'version', versionId: current.versionId, etag: current.etag, size: current.size },
        );
      }),
      RUNS,
    );
  });
});

describe('planKeyToTarget properties', () => {
  it('(P4) applying the plan to the target gives the content live at T, and planning again returns null', () => {
    fc.assert(
      fc.property(scenarioArb, targetArb, ({ h, atMs, deleteKeysCreatedAfter }, target) => {
        const options = { at: iso(atMs), deleteKeysCreatedAfter };
        const live = entryLiveAt(h.listing, options.at);
        const plan = planKeyToTarget(KEY, h.listing, target, options);
        let after: TargetObject | undefined = target;
        if (plan?.action === 'copy') after = { etag: plan.etag, size: plan.size };
        else if (plan?.action === 'delete') after = undefined;
        else expect(plan).toBeNull();

        expect(planKeyToTarget(KEY, h.listing, after, options)).toBeNull();
        if (live && !live.isDeleteMarker) expect(after).toEqual({ etag: live.etag, size: live.size });
        else if (deleteKeysCreatedAfter) expect(after).toBeUndefined();
        else expect(after).toBe(target);
      }),
      RUNS,
    );
  });
});
