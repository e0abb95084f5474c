// Key-range splitting for child-workflow fan-out: every key in exactly one range, ranges about equal.
import fc from 'fast-check';
import { inRange, KeySampler, rangesFromBoundaries } from '../../core/key-ranges';
import { compareKeys } from '../../core/versions';

function keysOf(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `k/${String(i).padStart(7, '0')}`);
}

function split(keys: readonly string[], parts: number, capacity = 64) {
  const s = new KeySampler(capacity);
  for (const k of keys) s.add(k);
  return { sampler: s, ranges: rangesFromBoundaries(s.boundaries(parts)) };
}

describe('KeySampler and ranges', () => {
  test.each([
    [0, 4, 1],
    [1, 4, 1],
    [3, 4, 3],
    [10, 1, 1],
    [10, 2, 2],
    [1000, 4, 4],
    [100000, 16, 16],
  ])('%i keys in %i parts: %i ranges', (n, parts, expected) => {
    const { ranges } = split(keysOf(n), parts);
    expect(ranges).toHaveLength(expected);
  });

  test('1,000 keys in 4 parts of 250 with room for every sample', () => {
    const keys = keysOf(1000);
    const { ranges } = split(keys, 4, 4096);
    expect(ranges.map((r) => keys.filter((k) => inRange(k, r)).length)).toEqual([250, 250, 250, 250]);
    expect(ranges[0].afterKey).toBeUndefined();
    expect(ranges[3].untilKey).toBeUndefined();
  });

  test('versions of the same key count once; keys out of order are refused', () => {
    const s = new KeySampler();
    for (const k of ['a', 'a', 'b', 'b', 'b', 'c']) s.add(k);
    expect(s.keys).toBe(3);
    expect(() => s.add('b')).toThrow(/out of order/);
  });

  test('property: every key lands in exactly one range, and ranges are within a stride of equal', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ maxLength: 6, unit: 'binary' }), { maxLength: 3000 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 4, max: 200 }),
        (raw, parts, capacity) => {
          const keys = [...raw].sort(compareKeys);
          const { ranges } = split(keys, parts, capacity);
          for (const k of keys) expect(ranges.filter((r) => inRange(k, r))).toHaveLength(1);
          expect(ranges.length).toBeLessThanOrEqual(Math.max(1, parts));
          // Boundaries strictly increasing.
          for (let i = 1; i < ranges.length; i++)
            expect(
              ranges[i].untilKey === undefined ||
                compareKeys(ranges[i].untilKey!, ranges[i - 1].untilKey!) > 0,
            ).toBe(true);
          if (keys.length >= parts * capacity && ranges.length === parts) {
            const ideal = keys.length / parts;
            const stride = Math.ceil((2 * keys.length) / capacity);
            for (const r of ranges) {
              const n = keys.filter((k) => inRange(k, r)).length;
              expect(Math.abs(n - ideal)).toBeLessThanOrEqual(stride + 1);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test('compareKeys is UTF-8 byte order', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const bytes = Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
        expect(Math.sign(compareKeys(a, b))).toBe(bytes);
      }),
      { numRuns: 2000 },
    );
    expect(compareKeys('\u{1F600}', '\uFF01')).toBeGreaterThan(0);
    expect('\u{1F600}' < '\uFF01').toBe(true); // what JavaScript's < would say
  });

  test('ranges nest inside an outer range', () => {
    const ranges = rangesFromBoundaries(['m'], { afterKey: 'c', untilKey: 'x' });
    expect(ranges).toEqual([
      { afterKey: 'c', untilKey: 'm' },
      { afterKey: 'm', untilKey: 'x' },
    ]);
  });
});
