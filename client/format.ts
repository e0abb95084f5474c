// Human output: plain tables and the step log, for a terminal.
import { Step, stepSeconds } from '../core/steps';

export function table(headers: string[], rows: (string | number | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatSteps(steps: readonly Step[]): string {
  return table(
    ['STEP', 'OUTCOME', 'SECONDS', 'NUMBERS', 'DETAIL'],
    steps.map((s) => [
      s.name,
      s.outcome,
      stepSeconds(s)?.toFixed(2),
      s.numbers
        ? Object.entries(s.numbers)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
        : '',
      s.detail,
    ]),
  );
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
