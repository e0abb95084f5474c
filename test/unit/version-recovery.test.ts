// Version recovery as pure logic: planKeyRecovery for every case, properties over random histories,
// and the VersionRecoveryInput schema through parseInput.
import fc from 'fast-check';
import { ErrorType, Refusal } from '../../core/errors';
import { parseInput } from '../../core/validate';
import {
  isKeyPlan,
  KeyPlan,
  keySelectors,
  planKeyRecovery,
  summarizePlans,
  VersionRecoveryInput,
  VersionRecoveryRequest,
} from '../../core/version-recovery';
import { currentEntry, deleteMarkersOnTop, VersionEntry } from '../../core/versions';
import { History, historyArb, instantArb, iso, KEY, marker, modelLiveAt, put } from './history';

/** v1, v2, a delete marker, then v3 (current). Listed newest first. */
const live: VersionEntry[] = [
  put('v3', '2026-11-26T10:30:00Z', 'e3', 300, true),
  marker('dm1', '2026-11-26T10:20:00Z'),
  put('v2', '2026-11-26T10:10:00Z', 'e2', 200),
  put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
];

/** v1, v2, then two delete markers on top: the key is deleted. */
const deletedTwice: VersionEntry[] = [
  marker('dm2', '2026-11-26T10:30:00Z', true),
  marker('dm1', '2026-11-26T10:20:00Z'),
  put('v2', '2026-11-26T10:10:00Z', 'e2', 200),
  put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
];

function refusalType(x: KeyPlan | Refusal): string | undefined {
  return isKeyPlan(x) ? undefined : x.type;
}

describe('planKeyRecovery: copy-version', () => {
  it('by versionId: copies that version over the current one', () => {
    expect(planKeyRecovery('copy-version', { key: KEY, versionId: 'v1' }, live)).toEqual({
      key: KEY,
      action: 'copy',
      sourceVersionId: 'v1',
      sourceEtag: 'e1',
      sourceSize: 100,
      previousVersionId: 'v3',
    });
  });

  it.each<[string, string, string]>([
    ['between v1 and v2', '2026-11-26T10:05:00Z', 'v1'],
    ['exactly at v2', '2026-11-26T10:10:00Z', 'v2'],
    ['1 ms before v2', '2026-11-26T10:09:59.999Z', 'v1'],
    ['with a +01:00 offset (10:15Z)', '2026-11-26T11:15:00+01:00', 'v2'],
  ])('by at, %s: copies %s', (_name, at, expected) => {
    const plan = planKeyRecovery('copy-version', { key: KEY, at }, live);
    expect(plan).toMatchObject({
      key: KEY,
      action: 'copy',
      sourceVersionId: expected,
      previousVersionId: 'v3',
    });
  });

  it.each<[string, { versionId?: string; at?: string }]>([
    ['by versionId', { versionId: 'v3' }],
    ['by at, after the current version', { at: '2026-11-26T12:00:00Z' }],
    ['by at, exactly at the current version', { at: '2026-11-26T10:30:00Z' }],
  ])('current version already the target (%s): action none', (_name, sel) => {
    expect(planKeyRecovery('copy-version', { key: KEY, ...sel }, live)).toEqual({
      key: KEY,
      action: 'none',
      reason: 'already-current',
      versionId: 'v3',
    });
  });

  it('unknown versionId: NoSuchVersion', () => {
    const r = planKeyRecovery('copy-version', { key: KEY, versionId: 'nope' }, live);
    expect(r).toEqual({ type: ErrorType.NoSuchVersion, message: expect.stringContaining('nope') });
  });

  it('versionId of a delete marker: VersionIsDeleteMarker', () => {
    const r = planKeyRecovery('copy-version', { key: KEY, versionId: 'dm1' }, live);
    expect(refusalType(r)).toBe(ErrorType.VersionIsDeleteMarker);
    expect((r as Refusal).message).toContain('dm1');
  });

  it('at a time the key was deleted: VersionIsDeleteMarker', () => {
    const r = planKeyRecovery('copy-version', { key: KEY, at: '2026-11-26T10:25:00Z' }, live);
    expect(refusalType(r)).toBe(ErrorType.VersionIsDeleteMarker);
    expect((r as Refusal).message).toContain('2026-11-26T10:25:00Z');
  });

  it('at before the key existed: NoVersionAtTime, naming the oldest version time', () => {
    const r = planKeyRecovery('copy-version', { key: KEY, at: '2026-11-26T09:59:59Z' }, live);
    expect(refusalType(r)).toBe(ErrorType.NoVersionAtTime);
    expect((r as Refusal).message).toContain('2026-11-26T10:00:00Z');
  });

  it.each<[string, { versionId?: string; at?: string }]>([
    ['by versionId', { versionId: 'v1' }],
    ['by at', { at: '2026-11-26T10:00:00Z' }],
    ['no selector', {}],
  ])('no entries (%s): NoSuchKey', (_name, sel) => {
    expect(refusalType(planKeyRecovery('copy-version', { key: KEY, ...sel }, []))).toBe(ErrorType.NoSuchKey);
  });

  it('when the key is deleted, copying a version brings it back; previousVersionId is the marker', () => {
    expect(planKeyRecovery('copy-version', { key: KEY, versionId: 'v2' }, deletedTwice)).toEqual({
      key: KEY,
      action: 'copy',
      sourceVersionId: 'v2',
      sourceEtag: 'e2',
      sourceSize: 200,
      previousVersionId: 'dm2',
    });
  });
});

describe('planKeyRecovery: remove-delete-marker', () => {
  it('one marker on top', () => {
    const entries = [
      marker('dm1', '2026-11-26T10:10:00Z', true),
      put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
    ];
    expect(planKeyRecovery('remove-delete-marker', { key: KEY }, entries)).toEqual({
      key: KEY,
      action: 'remove-markers',
      markerVersionIds: ['dm1'],
      restoresVersionId: 'v1',
      restoresEtag: 'e1',
      restoresSize: 100,
    });
  });

  it('several markers on top: all of them newest first, restoring the newest real version beneath', () => {
    expect(planKeyRecovery('remove-delete-marker', { key: KEY }, deletedTwice)).toEqual({
      key: KEY,
      action: 'remove-markers',
      markerVersionIds: ['dm2', 'dm1'],
      restoresVersionId: 'v2',
      restoresEtag: 'e2',
      restoresSize: 200,
    });
  });

  it('a marker buried under data is left alone', () => {
    const entries = [
      marker('dmB', '2026-11-26T10:30:00Z', true),
      put('v2', '2026-11-26T10:20:00Z', 'e2', 200),
      marker('dmA', '2026-11-26T10:10:00Z'),
      put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
    ];
    expect(planKeyRecovery('remove-delete-marker', { key: KEY }, entries)).toMatchObject({
      action: 'remove-markers',
      markerVersionIds: ['dmB'],
      restoresVersionId: 'v2',
    });
  });

  it('markers sharing a timestamp with the data beneath them', () => {
    const entries = [
      marker('dm2', '2026-11-26T10:00:00Z', true),
      marker('dm1', '2026-11-26T10:00:00Z'),
      put('v1', '2026-11-26T10:00:00Z', 'e1', 100),
    ];
    expect(planKeyRecovery('remove-delete-marker', { key: KEY }, entries)).toMatchObject({
      action: 'remove-markers',
      markerVersionIds: ['dm2', 'dm1'],
      restoresVersionId: 'v1',
    });
  });

  it('no marker on top: NoDeleteMarker, naming the current version', () => {
    const r = planKeyRecovery('remove-delete-marker', { key: KEY }, live);
    expect(refusalType(r)).toBe(ErrorType.NoDeleteMarker);
    expect((r as Refusal).message).toContain('v3');
  });

  it('only markers: NoSuchVersion', () => {
    const entries = [marker('dm2', '2026-11-26T10:10:00Z', true), marker('dm1', '2026-11-26T10:00:00Z')];
    expect(refusalType(planKeyRecovery('remove-delete-marker', { key: KEY }, entries))).toBe(
      ErrorType.NoSuchVersion,
    );
  });

  it('no entries: NoSuchKey', () => {
    expect(refusalType(planKeyRecovery('remove-delete-marker', { key: KEY }, []))).toBe(ErrorType.NoSuchKey);
  });
});

describe('planKeyRecovery: download', () => {
  it('the current version', () => {
    expect(planKeyRecovery('download', { key: KEY }, live)).toEqual({
      key: KEY,
      action: 'download',
      versionId: 'v3',
      etag: 'e3',
      size: 300,
    });
  });

  it('a version by id', () => {
    expect(planKeyRecovery('download', { key: KEY, versionId: 'v1' }, live)).toEqual({
      key: KEY,
      action: 'download',
      versionId: 'v1',
      etag: 'e1',
      size: 100,
    });
  });

  it('the version live at a time', () => {
    expect(planKeyRecovery('download', { key: KEY, at: '2026-11-26T10:15:00Z' }, live)).toMatchObject({
      action: 'download',
      versionId: 'v2',
    });
  });

  it('current is a delete marker: VersionIsDeleteMarker', () => {
    const r = planKeyRecovery('download', { key: KEY }, deletedTwice);
    expect(refusalType(r)).toBe(ErrorType.VersionIsDeleteMarker);
    expect((r as Refusal).message).toContain('dm2');
  });

  it('unknown version: NoSuchVersion; no entries: NoSuchKey', () => {
    expect(refusalType(planKeyRecovery('download', { key: KEY, versionId: 'x' }, live))).toBe(
      ErrorType.NoSuchVersion,
    );
    expect(refusalType(planKeyRecovery('download', { key: KEY }, []))).toBe(ErrorType.NoSuchKey);
  });
});

describe('planKeyRecovery: "null" version ids (objects written before versioning)', () => {
  const preVersioning = put('null', '2026-11-26T09:00:00Z', 'e0', 50);

  it('copies the null version back over a later one', () => {
    const entries = [put('v1', '2026-11-26T10:00:00Z', 'e1', 100, true), preVersioning];
    expect(planKeyRecovery('copy-version', { key: KEY, versionId: 'null' }, entries)).toEqual({
      key: KEY,
      action: 'copy',
      sourceVersionId: 'null',
      sourceEtag: 'e0',
      sourceSize: 50,
      previousVersionId: 'v1',
    });
  });

  it('by at, resolves to the null version', () => {
    const entries = [put('v1', '2026-11-26T10:00:00Z', 'e1', 100, true), preVersioning];
    expect(planKeyRecovery('copy-version', { key: KEY, at: '2026-11-26T09:30:00Z' }, entries)).toMatchObject({
      action: 'copy',
      sourceVersionId: 'null',
    });
  });

  it('the null version is current: action none', () => {
    const entries = [{ ...preVersioning, isLatest: true }];
    expect(planKeyRecovery('copy-version', { key: KEY, versionId: 'null' }, entries)).toEqual({
      key: KEY,
      action: 'none',
      reason: 'already-current',
      versionId: 'null',
    });
  });

  it('remove-delete-marker restores the null version', () => {
    const entries = [marker('dm1', '2026-11-26T10:00:00Z', true), preVersioning];
    expect(planKeyRecovery('remove-delete-marker', { key: KEY }, entries)).toMatchObject({
      action: 'remove-markers',
      markerVersionIds: ['dm1'],
      restoresVersionId: 'null',
      restoresEtag: 'e0',
    });
  });

  it('a delete marker with version id "null" (deleted while versioning was suspended) is removed', () => {
    const entries = [
      marker('null', '2026-11-26T10:00:00Z', true),
      put('v1', '2026-11-26T09:00:00Z', 'e1', 100),
    ];
    expect(planKeyRecovery('remove-delete-marker', { key: KEY }, entries)).toMatchObject({
      action: 'remove-markers',
      markerVersionIds: ['null'],
      restoresVersionId: 'v1',
    });
  });

  it('download of the null version by id', () => {
    const entries = [put('v1', '2026-11-26T10:00:00Z', 'e1', 100, true), preVersioning];
    expect(planKeyRecovery('download', { key: KEY, versionId: 'null' }, entries)).toEqual({
      key: KEY,
      action: 'download',
      versionId: 'null',
      etag: 'e0',
      size: 50,
    });
  });
});

describe('isKeyPlan and summarizePlans', () => {
  it('tells plans from refusals', () => {
    expect(isKeyPlan(planKeyRecovery('download', { key: KEY }, live))).toBe(true);
    expect(isKeyPlan(planKeyRecovery('download', { key: KEY }, []))).toBe(false);
  });

  it('counts plans by action', () => {
    const plans = [
      planKeyRecovery('copy-version', { key: KEY, versionId: 'v1' }, live),
      planKeyRecovery('copy-version', { key: KEY, versionId: 'v2' }, live),
      planKeyRecovery('copy-version', { key: KEY, versionId: 'v3' }, live),
      planKeyRecovery('remove-delete-marker', { key: KEY }, deletedTwice),
    ].filter(isKeyPlan);
    expect(summarizePlans(plans)).toEqual({ copy: 2, 'remove-markers': 1, download: 0, none: 1 });
    expect(summarizePlans([])).toEqual({ copy: 0, 'remove-markers': 0, download: 0, none: 0 });
  });
});

/** Applies a copy plan as S3 would: a new latest version with the source's data; the others lose the flag. */
function applyCopy(h: History, plan: Extract<KeyPlan, { action: 'copy' }>, gapMs: number): VersionEntry[] {
  const source = h.listing.find((e) => e.versionId === plan.sourceVersionId)!;
  const copied: VersionEntry = {
    key: KEY,
    versionId: 'copied',
    isDeleteMarker: false,
    isLatest: true,
    lastModified: iso(h.lastMs + gapMs),
    etag: source.etag,
    size: source.size,
  };
  return [copied, ...h.listing.map((e) => ({ ...e, isLatest: false }))];
}

/** Applies a remove-markers plan: drops those entries and flags the restored version latest. */
function applyRemoveMarkers(
  entries: readonly VersionEntry[],
  plan: Extract<KeyPlan, { action: 'remove-markers' }>,
) {
  return entries
    .filter((e) => !plan.markerVersionIds.includes(e.versionId))
    .map((e) => ({ ...e, isLatest: e.versionId === plan.restoresVersionId }));
}

describe('planKeyRecovery: properties over random histories of one key', () => {
  it('(a) remove-delete-marker names only delete markers, and restores data', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const plan = planKeyRecovery('remove-delete-marker', { key: KEY }, h.listing);
        const byId = new Map(h.listing.map((e) => [e.versionId, e]));
        const lastPut = [...h.written].reverse().find((e) => !e.isDeleteMarker);
        const top = h.written[h.written.length - 1];
        if (!top.isDeleteMarker) {
          expect(refusalType(plan)).toBe(ErrorType.NoDeleteMarker);
        } else if (!lastPut) {
          expect(refusalType(plan)).toBe(ErrorType.NoSuchVersion);
        } else {
          if (!isKeyPlan(plan) || plan.action !== 'remove-markers')
            throw new Error(`expected a plan: ${JSON.stringify(plan)}`);
          expect(plan.markerVersionIds.length).toBeGreaterThan(0);
          for (const id of plan.markerVersionIds) expect(byId.get(id)?.isDeleteMarker).toBe(true);
          expect(plan.restoresVersionId).toBe(lastPut.versionId);
          expect(byId.get(plan.restoresVersionId)?.isDeleteMarker).toBe(false);
          expect(plan.restoresEtag).toBe(lastPut.etag);
        }
      }),
    );
  });

  it('(a) no plan of any action names a delete marker as data to copy or download', () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) =>
          fc.tuple(
            fc.constant(h),
            fc.constantFrom<'copy-version' | 'download'>('copy-version', 'download'),
            fc.oneof(
              instantArb(h).map((ms) => ({ at: iso(ms) })),
              fc.constantFrom(...h.written.map((e) => ({ versionId: e.versionId }))),
            ),
          ),
        ),
        ([h, action, sel]) => {
          const plan = planKeyRecovery(action, { key: KEY, ...sel }, h.listing);
          const named = !isKeyPlan(plan)
            ? undefined
            : plan.action === 'copy'
              ? plan.sourceVersionId
              : plan.action === 'download' || plan.action === 'none'
                ? plan.versionId
                : undefined;
          if (named !== undefined) {
            expect(h.listing.find((e) => e.versionId === named)?.isDeleteMarker).toBe(false);
          }
        },
      ),
    );
  });

  it('copy-version at T picks the last write at or before T, or refuses with the right type', () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) => fc.tuple(fc.constant(h), instantArb(h))),
        ([h, ms]) => {
          const plan = planKeyRecovery('copy-version', { key: KEY, at: iso(ms) }, h.listing);
          const expected = modelLiveAt(h, ms);
          const current = h.written[h.written.length - 1];
          if (!expected) expect(refusalType(plan)).toBe(ErrorType.NoVersionAtTime);
          else if (expected.isDeleteMarker) expect(refusalType(plan)).toBe(ErrorType.VersionIsDeleteMarker);
          else if (expected === current)
            expect(plan).toMatchObject({ action: 'none', versionId: current.versionId });
          else
            expect(plan).toMatchObject({
              action: 'copy',
              sourceVersionId: expected.versionId,
              sourceEtag: expected.etag,
              sourceSize: expected.size,
              previousVersionId: current.versionId,
            });
        },
      ),
    );
  });

  it('(b) after applying a copy plan, copy-version of the new version is action none', () => {
    fc.assert(
      fc.property(
        historyArb.chain((h) => fc.tuple(fc.constant(h), instantArb(h), fc.constantFrom(0, 1000))),
        ([h, ms, gapMs]) => {
          const plan = planKeyRecovery('copy-version', { key: KEY, at: iso(ms) }, h.listing);
          fc.pre(isKeyPlan(plan) && plan.action === 'copy');
          if (!isKeyPlan(plan) || plan.action !== 'copy') return;
          const after = applyCopy(h, plan, gapMs);
          expect(currentEntry(after)?.versionId).toBe('copied');
          expect(currentEntry(after)?.etag).toBe(plan.sourceEtag);
          expect(planKeyRecovery('copy-version', { key: KEY, versionId: 'copied' }, after)).toEqual({
            key: KEY,
            action: 'none',
            reason: 'already-current',
            versionId: 'copied',
          });
        },
      ),
    );
  });

  it('(c) after applying a remove-markers plan, the current entry is the restored data version', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const plan = planKeyRecovery('remove-delete-marker', { key: KEY }, h.listing);
        fc.pre(isKeyPlan(plan) && plan.action === 'remove-markers');
        if (!isKeyPlan(plan) || plan.action !== 'remove-markers') return;
        const after = applyRemoveMarkers(h.listing, plan);
        const current = currentEntry(after);
        expect(current?.isDeleteMarker).toBe(false);
        expect(current?.versionId).toBe(plan.restoresVersionId);
        expect(deleteMarkersOnTop(after)).toEqual([]);
        expect(after).toHaveLength(h.listing.length - plan.markerVersionIds.length);
        // With no flag to help (as after a re-listing that lost it), the newest entry is still the restored one.
        expect(currentEntry(after.map((e) => ({ ...e, isLatest: false })))?.versionId).toBe(
          plan.restoresVersionId,
        );
      }),
    );
  });
});

describe('VersionRecoveryInput through parseInput', () => {
  const parse = (input: unknown) => parseInput(VersionRecoveryInput, input, 'versionRecovery');
  const T = '2026-11-26T10:41:00Z';

  it.each<[string, unknown, Partial<VersionRecoveryRequest>]>([
    [
      'copy-version by versionId',
      { action: 'copy-version', bucket: 'photos', keys: ['a.jpg'], versionId: 'v1' },
      {
        action: 'copy-version',
        region: 'primary',
        bucket: 'photos',
        keys: ['a.jpg'],
        versionId: 'v1',
        dryRun: false,
      },
    ],
    [
      'copy-version by at',
      { action: 'copy-version', bucket: 'photos', keys: ['a.jpg', 'b.jpg'], at: T },
      { action: 'copy-version', keys: ['a.jpg', 'b.jpg'], at: T, dryRun: false },
    ],
    [
      'copy-version with per-key selectors',
      {
        action: 'copy-version',
        bucket: 'photos',
        keys: [
          { key: 'a.jpg', versionId: 'v1' },
          { key: 'b.jpg', at: T },
        ],
      },
      {
        keys: [
          { key: 'a.jpg', versionId: 'v1' },
          { key: 'b.jpg', at: T },
        ],
      },
    ],
    [
      'remove-delete-marker',
      { action: 'remove-delete-marker', bucket: 'photos', keys: ['a.jpg'] },
      { action: 'remove-delete-marker', region: 'primary', keys: ['a.jpg'], dryRun: false },
    ],
    [
      'download',
      { action: 'download', bucket: 'photos', keys: ['a.jpg'] },
      { action: 'download', region: 'primary', keys: ['a.jpg'] },
    ],
    [
      'download with region, dryRun, reason and a wait for the lease',
      {
        action: 'download',
        region: 'dr',
        bucket: 'photos',
        keys: ['a.jpg'],
        dryRun: true,
        reason: 'ticket 42',
        waitForLease: true,
      },
      { region: 'dr', dryRun: true, reason: 'ticket 42', waitForLease: true, leaseTtlSeconds: 600 },
    ],
    [
      'at with an offset and fractional seconds',
      { action: 'copy-version', bucket: 'photos', keys: ['a.jpg'], at: '2026-11-26T11:41:00.250+01:00' },
      { at: '2026-11-26T11:41:00.250+01:00' },
    ],
    [
      'at without seconds',
      { action: 'copy-version', bucket: 'photos', keys: ['a.jpg'], at: '2026-11-26T10:41Z' },
      { at: '2026-11-26T10:41Z' },
    ],
  ])('accepts %s', (_name, input, expected) => {
    const r = parse(input);
    if (!r.ok) throw new Error(r.message);
    expect(r.value).toMatchObject(expected);
  });

  it.each<[string, unknown, string]>([
    ['a bad bucket name', { action: 'download', bucket: 'My_Bucket', keys: ['a'] }, 'bucket'],
    ['a bucket name too short', { action: 'download', bucket: 'ab', keys: ['a'] }, 'bucket'],
    ['an unknown action', { action: 'restore', bucket: 'photos', keys: ['a'] }, 'action'],
    ['no keys', { action: 'download', bucket: 'photos', keys: [] }, 'keys'],
    [
      '1001 keys',
      { action: 'download', bucket: 'photos', keys: Array.from({ length: 1001 }, (_, i) => `k${i}`) },
      'keys',
    ],
    ['an empty key', { action: 'download', bucket: 'photos', keys: [''] }, 'keys.0'],
    ['a key over 1024 bytes', { action: 'download', bucket: 'photos', keys: ['é'.repeat(513)] }, 'keys.0'],
    [
      'copy-version without versionId or at',
      { action: 'copy-version', bucket: 'photos', keys: ['a'] },
      'keys.0',
    ],
    [
      'copy-version without versionId or at for the second key',
      { action: 'copy-version', bucket: 'photos', keys: [{ key: 'a', versionId: 'v1' }, 'b'] },
      'keys.1',
    ],
    [
      'versionId and at both',
      { action: 'copy-version', bucket: 'photos', keys: ['a'], versionId: 'v1', at: T },
      'at',
    ],
    [
      'versionId and at both on one key',
      { action: 'copy-version', bucket: 'photos', keys: [{ key: 'a', versionId: 'v1', at: T }] },
      'keys.0.at',
    ],
    [
      'versionId with two keys',
      { action: 'copy-version', bucket: 'photos', keys: ['a', 'b'], versionId: 'v1' },
      'versionId',
    ],
    [
      'presignSeconds with copy-version',
      { action: 'copy-version', bucket: 'photos', keys: ['a'], versionId: 'v1', presignSeconds: 60 },
      'presignSeconds',
    ],
    [
      'presignSeconds with remove-delete-marker',
      { action: 'remove-delete-marker', bucket: 'photos', keys: ['a'], presignSeconds: 60 },
      'presignSeconds',
    ],
    [
      'presignSeconds with download: a URL in the result would be a credential in history',
      { action: 'download', bucket: 'photos', keys: ['a'], presignSeconds: 60 },
      'presignSeconds',
    ],
    [
      'presignSeconds 0',
      { action: 'download', bucket: 'photos', keys: ['a'], presignSeconds: 0 },
      'presignSeconds',
    ],
    [
      'presignSeconds 3601',
      { action: 'download', bucket: 'photos', keys: ['a'], presignSeconds: 3601 },
      'presignSeconds',
    ],
    [
      'presignSeconds 1.5',
      { action: 'download', bucket: 'photos', keys: ['a'], presignSeconds: 1.5 },
      'presignSeconds',
    ],
    [
      'remove-delete-marker with a versionId',
      { action: 'remove-delete-marker', bucket: 'photos', keys: ['a'], versionId: 'v1' },
      'versionId',
    ],
    [
      'remove-delete-marker with at',
      { action: 'remove-delete-marker', bucket: 'photos', keys: ['a'], at: T },
      'at',
    ],
    [
      'remove-delete-marker with a per-key versionId',
      { action: 'remove-delete-marker', bucket: 'photos', keys: [{ key: 'a', versionId: 'v1' }] },
      'keys.0',
    ],
    ['an unknown property', { action: 'download', bucket: 'photos', keys: ['a'], force: true }, '(input)'],
    [
      'an unknown property on a key',
      { action: 'copy-version', bucket: 'photos', keys: [{ key: 'a', versionId: 'v1', etag: 'x' }] },
      'keys.0',
    ],
    [
      'at without a UTC offset',
      { action: 'copy-version', bucket: 'photos', keys: ['a'], at: '2026-11-26T10:41:00' },
      'at',
    ],
    ['at as a date only', { action: 'copy-version', bucket: 'photos', keys: ['a'], at: '2026-11-26' }, 'at'],
    [
      'at with a space for T',
      { action: 'copy-version', bucket: 'photos', keys: ['a'], at: '2026-11-26 10:41:00Z' },
      'at',
    ],
    [
      'at on a day that does not exist (February 30th)',
      { action: 'copy-version', bucket: 'photos', keys: ['a'], at: '2026-02-30T10:41:00Z' },
      'at',
    ],
    [
      'at at hour 25',
      { action: 'copy-version', bucket: 'photos', keys: ['a'], at: '2026-11-26T25:41:00Z' },
      'at',
    ],
    [
      'a per-key at without a UTC offset',
      { action: 'copy-version', bucket: 'photos', keys: [{ key: 'a', at: '2026-11-26T10:41:00' }] },
      'keys.0.at',
    ],
    ['an empty versionId', { action: 'download', bucket: 'photos', keys: ['a'], versionId: '' }, 'versionId'],
    [
      'a reason over 500 characters',
      { action: 'download', bucket: 'photos', keys: ['a'], reason: 'x'.repeat(501) },
      'reason',
    ],
  ])('rejects %s, naming field %s', (_name, input, field) => {
    const r = parse(input);
    expect(r).toMatchObject({ ok: false, field });
    if (!r.ok) expect(r.message).toContain(`invalid versionRecovery input: field "${field}"`);
  });

  it('names the unknown property in the message', () => {
    const r = parse({ action: 'download', bucket: 'photos', keys: ['a'], force: true });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('force');
  });

  it('the at-without-offset message shows the expected form', () => {
    const r = parse({ action: 'copy-version', bucket: 'photos', keys: ['a'], at: '2026-11-26T10:41:00' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/UTC offset/);
  });
});

describe('keySelectors', () => {
  function request(input: unknown): VersionRecoveryRequest {
    const r = parseInput(VersionRecoveryInput, input, 'versionRecovery');
    if (!r.ok) throw new Error(r.message);
    return r.value;
  }
  const T = '2026-11-26T10:41:00Z';

  it('a run-wide versionId goes to the single key', () => {
    expect(
      keySelectors(request({ action: 'copy-version', bucket: 'photos', keys: ['a'], versionId: 'v1' })),
    ).toEqual([{ key: 'a', versionId: 'v1' }]);
  });

  it('a run-wide at goes to every key', () => {
    expect(
      keySelectors(request({ action: 'copy-version', bucket: 'photos', keys: ['a', 'b'], at: T })),
    ).toEqual([
      { key: 'a', at: T },
      { key: 'b', at: T },
    ]);
  });

  it('a per-key selector wins over the run-wide one; keys without one take the run-wide one', () => {
    const sels = keySelectors(
      request({
        action: 'copy-version',
        bucket: 'photos',
        keys: ['a', { key: 'b', versionId: 'vb' }, { key: 'c' }, { key: 'd', at: '2026-11-20T00:00:00Z' }],
        at: T,
      }),
    );
    expect(sels).toEqual([
      { key: 'a', at: T },
      { key: 'b', versionId: 'vb' },
      { key: 'c', at: T },
      { key: 'd', at: '2026-11-20T00:00:00Z' },
    ]);
    // The per-key version id must not also carry the run-wide time.
    expect(sels[1].at).toBeUndefined();
  });

  it('no selector at all (download of the current versions)', () => {
    expect(keySelectors(request({ action: 'download', bucket: 'photos', keys: ['a', 'b'] }))).toEqual([
      { key: 'a' },
      { key: 'b' },
    ]);
  });
});
