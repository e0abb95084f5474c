// Safety as pure logic: the blast-radius gate's decision, what each planned action does to a reader,
// the bounded step log, inputs no operator means, webhook URLs that carry credentials, and the keys a
// lost attempt had already changed.
import fc from 'fast-check';
import { webhookCredential, RegionFailoverInput } from '../../core/failover';
import {
  addBlastRadius,
  BlastRadius,
  DEFAULT_GATE,
  emptyBlastRadius,
  GATE_SAMPLE_KEYS,
  gateDecision,
  tallyKey,
  thresholdsOf,
} from '../../core/gate';
import {
  BulkCopyInput,
  changeKindOf,
  doneByEarlierAttempt,
  PointInTimeRestoreInput,
  RestoreAction,
} from '../../core/pitr';
import { atInFuture, prefixMistake } from '../../core/safety';
import { compactSteps, FOLDED_STEP, Step } from '../../core/steps';
import { undoChangeKind } from '../../core/undo';
import { parseInput } from '../../core/validate';
import { VersionEntry } from '../../core/versions';

const radius = (keysInScope: number, deletes: number, overwrites: number): BlastRadius => ({
  ...emptyBlastRadius(),
  keysInScope,
  deletes,
  overwrites,
});

describe('gateDecision with the defaults', () => {
  test.each<[string, BlastRadius, boolean, RegExp | null]>([
    ['nothing to do', radius(0, 0, 0), false, null],
    ['a deploy that changed 12% of a prefix', radius(1000, 0, 120), false, null],
    ['one stray file in a prefix of five (under the 10-key floor)', radius(5, 1, 0), false, null],
    ['10 deletes in 20 keys: at the floor', radius(20, 10, 0), false, null],
    [
      '11 deletes in 20 keys',
      radius(20, 11, 0),
      true,
      /deletes 11 of 20 keys in scope \(55\.0%; the limit is 10\.0% or 1000 keys\)/,
    ],
    ['the mistyped year: every key deleted', radius(50_000, 50_000, 0), true, /deletes 50000 of 50000/],
    [
      '1,001 deletes in a million keys (0.1%): past the key limit',
      radius(1_000_000, 1001, 0),
      true,
      /deletes 1001/,
    ],
    ['1,000 deletes in a million keys', radius(1_000_000, 1000, 0), false, null],
    ['half the keys overwritten', radius(100, 0, 50), false, null],
    [
      'every key overwritten',
      radius(100, 0, 100),
      true,
      /overwrites 100 of 100 keys in scope \(100\.0%; the limit is 50\.0% or 10000 keys\)/,
    ],
    ['10,001 overwrites in a million keys', radius(1_000_000, 0, 10_001), true, /overwrites 10001/],
  ])('%s', (_name, r, stop, reason) => {
    const d = gateDecision(r);
    expect(d.stop).toBe(stop);
    if (reason) expect(d.reasons.join(' ')).toMatch(reason);
    else expect(d.reasons).toEqual([]);
    expect(d.summary).toBe(
      `${r.keysInScope} keys in scope: ${r.deletes} deleted, ${r.overwrites} overwritten, 0 brought back or created`,
    );
  });

  test("an input's own thresholds replace the defaults, one field at a time", () => {
    expect(thresholdsOf({})).toEqual(DEFAULT_GATE);
    expect(thresholdsOf({ maxDeleteFraction: 1, maxDeleteKeys: 10 ** 9 })).toEqual({
      ...DEFAULT_GATE,
      maxDeleteFraction: 1,
      maxDeleteKeys: 10 ** 9,
    });
    expect(gateDecision(radius(100, 100, 0), thresholdsOf({ maxDeleteFraction: 1 })).stop).toBe(false);
    expect(gateDecision(radius(100, 0, 100), thresholdsOf({ maxOverwriteFraction: 1 })).stop).toBe(false);
  });

  test('property: more deletes or overwrites never turn a stop into a pass', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 1000 }),
        (n, d, o, more) => {
          const inScope = n + d + o;
          if (gateDecision(radius(inScope, d, o)).stop) {
            expect(gateDecision(radius(inScope + more, d + more, o)).stop).toBe(true);
            expect(gateDecision(radius(inScope + more, d, o + more)).stop).toBe(true);
          }
        },
      ),
    );
  });
});

describe('the tally of a plan', () => {
  test('counts every key in scope and keeps the first keys of each kind, in order', () => {
    let r = emptyBlastRadius();
    for (let i = 0; i < 25; i++) r = tallyKey(r, `d/${i}`, i % 2 === 0 ? 'delete' : 'overwrite');
    r = tallyKey(r, 'new', 'create');
    r = tallyKey(r, 'same', 'none');
    expect(r).toMatchObject({ keysInScope: 27, deletes: 13, overwrites: 12, creates: 1 });
    expect(r.firstDeletes).toEqual([
      'd/0',
      'd/2',
      'd/4',
      'd/6',
      'd/8',
      'd/10',
      'd/12',
      'd/14',
      'd/16',
      'd/18',
    ]);
    expect(r.firstOverwrites).toHaveLength(GATE_SAMPLE_KEYS);
    const twice = addBlastRadius(r, r);
    expect(twice).toMatchObject({ keysInScope: 54, deletes: 26, overwrites: 24, creates: 2 });
    expect(twice.firstDeletes).toEqual(r.firstDeletes);
  });

  const previous = {
    version: { kind: 'version', versionId: 'v1' },
    deleted: { kind: 'deleted', markerVersionId: 'm' },
    absent: { kind: 'absent' },
    object: { kind: 'object', size: 1 },
  } as const;
  test.each<[string, RestoreAction | null, string]>([
    ['nothing to do', null, 'none'],
    ['a delete marker on a live key', { key: 'k', action: 'delete', previous: previous.version }, 'delete'],
    [
      'an earlier version copied over the current one',
      { key: 'k', action: 'copy', sourceVersionId: 'v0', size: 1, previous: previous.version },
      'overwrite',
    ],
    [
      "the target's object replaced",
      { key: 'k', action: 'copy', sourceVersionId: 'v0', size: 1, previous: previous.object },
      'overwrite',
    ],
    [
      'a copy onto a deleted key',
      { key: 'k', action: 'copy', sourceVersionId: 'v0', size: 1, previous: previous.deleted },
      'create',
    ],
    [
      'a copy into an empty target',
      { key: 'k', action: 'copy', sourceVersionId: 'v0', size: 1, previous: previous.absent },
      'create',
    ],
    [
      'delete markers removed',
      {
        key: 'k',
        action: 'remove-markers',
        markerVersionIds: ['m'],
        restoresVersionId: 'v0',
        size: 1,
        previous: previous.deleted,
      },
      'create',
    ],
  ])('restore: %s is a %s', (_n, action, kind) => expect(changeKindOf(action)).toBe(kind));

  test.each([
    [null, 'none'],
    [{ key: 'k', action: 'conflict' as const, reason: 'x' }, 'none'],
    [{ key: 'k', action: 'add-marker' as const }, 'delete'],
    [{ key: 'k', action: 'copy' as const, sourceVersionId: 'v', size: 1 }, 'overwrite'],
    [
      { key: 'k', action: 'remove-markers' as const, markerVersionIds: ['m'], restoresVersionId: 'v' },
      'create',
    ],
  ])('undo: %j is a %s', (action, kind) => expect(undoChangeKind(action)).toBe(kind));
});

describe('compactSteps', () => {
  const step = (i: number, outcome: Step['outcome'] = 'ok'): Step => ({
    name: `step ${i}`,
    startedAt: new Date(Date.UTC(2026, 11, 3, 0, 0, i)).toISOString(),
    endedAt: new Date(Date.UTC(2026, 11, 3, 0, 0, i + 1)).toISOString(),
    outcome,
  });

  test('a short log is kept as it is', () => {
    const steps = Array.from({ length: 24 }, (_, i) => step(i));
    expect(compactSteps(steps)).toEqual(steps);
  });

  test('a long log keeps its head and latest steps, and folds those between with their count', () => {
    const steps = Array.from({ length: 100 }, (_, i) => step(i, i === 50 ? 'failed' : 'ok'));
    const c = compactSteps(steps);
    expect(c).toHaveLength(24);
    expect(c.slice(0, 6)).toEqual(steps.slice(0, 6));
    expect(c[6]).toMatchObject({ name: FOLDED_STEP, outcome: 'failed', numbers: { steps: 77, failed: 1 } });
    expect(c[6].startedAt).toBe(steps[6].startedAt);
    expect(c.slice(7)).toEqual(steps.slice(83));
  });

  test('property: compacted again and again, the log stays bounded and every step is counted once', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 40 }), (runs) => {
        let log: Step[] = [];
        let total = 0;
        for (const added of runs) {
          for (let i = 0; i < added; i++) log.push(step(total++));
          log = compactSteps(log);
          expect(log.length).toBeLessThanOrEqual(24);
          const counted = log.reduce((n, s) => n + (s.name === FOLDED_STEP ? s.numbers!.steps : 1), 0);
          expect(counted).toBe(total);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('inputs no operator means', () => {
  test.each([
    ['site/', undefined],
    ['', undefined],
    ['data/2026-11-26/', undefined],
    ['site/*', /is a pattern/],
    ['logs/2026-??/', /is a pattern/],
    ['s3://bucket/site/', /is a URL/],
    ['S3A://bucket/x', /is a URL/],
  ])('prefix %j', (prefix, why) => {
    const got = prefixMistake(prefix);
    if (why) expect(got).toMatch(why);
    else expect(got).toBeUndefined();
  });

  test('an "at" in the future is refused against the given clock; now and the past are not', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(atInFuture('2026-12-03T10:00:00Z', now)).toBeUndefined();
    expect(atInFuture('2026-12-03T09:59:59Z', now)).toBeUndefined();
    expect(atInFuture('2026-12-03T10:00:01Z', now)).toMatch(
      /is in the future .*now 2026-12-03T10:00:00.000Z/,
    );
    expect(atInFuture(undefined, now)).toBeUndefined();
  });

  const restore = (extra: Record<string, unknown>) =>
    parseInput(
      PointInTimeRestoreInput,
      { source: { bucket: 'shop-assets' }, at: '2026-11-26T10:41:00Z', ...extra },
      'pointInTimeRestore',
    );
  test.each<[string, Record<string, unknown>, string, RegExp]>([
    ['the mistyped year', { at: '1970-11-26T10:41:00Z' }, 'at', /before S3 existed \(2006-03-14\)/],
    [
      'a glob prefix',
      { source: { bucket: 'shop-assets', prefix: 'site/*' } },
      'source.prefix',
      /is a pattern/,
    ],
    [
      'a URL as target prefix',
      { target: { bucket: 'other', prefix: 's3://other/x/' } },
      'target.prefix',
      /is a URL/,
    ],
    ['a delete fraction above 1', { maxDeleteFraction: 1.5 }, 'maxDeleteFraction', /.+/],
    ['a lease ttl under 5 s', { leaseTtlSeconds: 1 }, 'leaseTtlSeconds', /.+/],
  ])('refused: %s', (_n, extra, field, message) => {
    const r = restore(extra);
    expect(r).toMatchObject({ ok: false, field });
    if (!r.ok) expect(r.message).toMatch(message);
  });

  test('asked for explicitly, a year before S3 passes the schema (the survey and the gate still see it)', () => {
    expect(restore({ at: '1970-11-26T10:41:00Z', allowDeleteAll: true })).toMatchObject({ ok: true });
  });

  test('bulkCopy refuses a pattern prefix and an "at" before S3', () => {
    const copy = (extra: Record<string, unknown>) =>
      parseInput(
        BulkCopyInput,
        { source: { bucket: 'a-bucket' }, target: { bucket: 'b-bucket' }, ...extra },
        'bulkCopy',
      );
    expect(copy({ source: { bucket: 'a-bucket', prefix: '*' } })).toMatchObject({
      ok: false,
      field: 'source.prefix',
    });
    expect(copy({ at: '1999-01-01T00:00:00Z' })).toMatchObject({ ok: false, field: 'at' });
  });
});

describe('webhook URLs with credentials', () => {
  test.each([
    ['https://hooks.example.com/lifeboat', undefined],
    ['https://hooks.example.com/lifeboat?channel=dr&env=prod', undefined],
    ['https://user:secret@hooks.example.com/x', /user name or password/],
    ['https://hooks.example.com/x?token=abc', /"token"/],
    ['https://hooks.example.com/x?access_token=abc', /"access_token"/],
    ['https://hooks.example.com/x?api_key=abc', /"api_key"/],
    ['https://hooks.example.com/x?sig=abc', /"sig"/],
    [
      'https://bucket.s3.amazonaws.com/x?X-Amz-Signature=abc&X-Amz-Credential=y',
      /"X-Amz-Signature"|"X-Amz-Credential"/,
    ],
    ['https://hooks.example.com/x?password=abc', /"password"/],
  ])('%s', (url, why) => {
    const got = webhookCredential(url);
    if (why) expect(got).toMatch(why);
    else expect(got).toBeUndefined();
  });

  test('the failover input refuses them, naming the field', () => {
    const r = parseInput(
      RegionFailoverInput,
      {
        source: { region: 'primary', bucket: 'b1b' },
        replica: { region: 'secondary', bucket: 'b1b' },
        webhookUrl: 'https://hooks.example.com/x?token=abc',
      },
      'regionFailover',
    );
    expect(r).toMatchObject({ ok: false, field: 'webhookUrl' });
    if (!r.ok) expect(r.message).toMatch(/set webhook.secretVar in the configuration instead/);
  });
});

describe('doneByEarlierAttempt', () => {
  const AT = '2026-11-26T10:41:00Z';
  const v = (versionId: string, lastModified: string, latest = false, marker = false): VersionEntry => ({
    key: 'k',
    versionId,
    lastModified,
    isLatest: latest,
    isDeleteMarker: marker,
    ...(marker ? {} : { size: 7, etag: `etag-${versionId}` }),
  });
  const good = v('good', '2026-11-26T10:00:00Z');
  test.each<
    [string, Parameters<typeof doneByEarlierAttempt>[1], VersionEntry[], RestoreAction['action'] | null]
  >([
    [
      'copied: a new current version on top of the one recorded',
      { action: 'copy', previous: { kind: 'version', versionId: 'bad' } },
      [v('restored', '2026-11-26T11:00:01Z', true), v('bad', '2026-11-26T10:50:00Z'), good],
      'copy',
    ],
    [
      'not reached: the current version is still the recorded one',
      { action: 'copy', previous: { kind: 'version', versionId: 'bad' } },
      [v('bad', '2026-11-26T10:50:00Z', true), good],
      null,
    ],
    [
      'markers removed: the recorded marker is no longer on top',
      { action: 'remove-markers', previous: { kind: 'deleted', markerVersionId: 'm' } },
      [{ ...good, isLatest: true }],
      'remove-markers',
    ],
    [
      'deleted: a marker on top of the recorded version',
      { action: 'delete', previous: { kind: 'version', versionId: 'new' } },
      [v('m2', '2026-11-26T11:00:01Z', true, true), v('new', '2026-11-26T10:50:00Z')],
      'delete',
    ],
  ])('in place, %s', (_n, record, entries, expected) => {
    const got = doneByEarlierAttempt('k', record, entries, undefined, AT, true);
    expect(got?.action ?? null).toBe(expected);
    if (got?.action === 'copy') expect(got).toMatchObject({ sourceVersionId: 'good', size: 7 });
  });

  test('into another bucket: the target object changed, or appeared', () => {
    const rec = (previous: Parameters<typeof doneByEarlierAttempt>[1]['previous']) => ({
      action: 'copy' as const,
      previous,
    });
    expect(
      doneByEarlierAttempt(
        'k',
        rec({ kind: 'object', etag: 'x', size: 1 }),
        [good],
        { etag: 'etag-good', size: 7 },
        AT,
        false,
      )?.action,
    ).toBe('copy');
    expect(
      doneByEarlierAttempt(
        'k',
        rec({ kind: 'object', etag: 'x', size: 1 }),
        [good],
        { etag: 'x', size: 1 },
        AT,
        false,
      ),
    ).toBeNull();
    expect(
      doneByEarlierAttempt('k', rec({ kind: 'absent' }), [good], { etag: 'etag-good', size: 7 }, AT, false)
        ?.action,
    ).toBe('copy');
    expect(doneByEarlierAttempt('k', rec({ kind: 'absent' }), [good], undefined, AT, false)).toBeNull();
  });
});
