// The CLI's terminal output helpers: the progress bar and lines cut to the terminal's width.
import fc from 'fast-check';
import { fitLine, progressBar } from '../../client/format';

describe('progressBar', () => {
  it.each([
    [0, 10, '[....................]   0%'],
    [5, 10, '[##########..........]  50%'],
    [999, 1000, '[###################.]  99%'],
    [10, 10, '[####################] 100%'],
    [12, 10, '[####################] 100%'],
    [3, undefined, '[                    ]   ?%'],
    [0, 0, '[                    ]   ?%'],
  ])('%d of %s', (done, total, expected) => {
    expect(progressBar(done, total)).toBe(expected);
  });

  it('is always the same width, and fills as the count grows', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.nat(10_000), fc.integer({ min: 1, max: 10_000 }), (a, b, total) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const bars = [progressBar(lo, total), progressBar(hi, total)];
        expect(bars.map((x) => x.length)).toEqual([27, 27]);
        const filled = bars.map((x) => x.split('#').length - 1);
        expect(filled[0]).toBeLessThanOrEqual(filled[1]);
      }),
    );
  });
});

describe('fitLine', () => {
  it('leaves a short line alone and cuts a long one to fit, marking the cut', () => {
    expect(fitLine('abc', 80)).toBe('abc');
    expect(fitLine('abc', undefined)).toBe('abc');
    expect(fitLine('x'.repeat(100), 40)).toBe(`${'x'.repeat(38)}…`);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 2, max: 200 }), (line, cols) => {
        expect(fitLine(line, cols).length).toBeLessThan(cols);
      }),
    );
  });
});
