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

/**
 * A progress bar of `width` cells for `done` of `total` (clamped to 0..100%), e.g.
 * `[#########...........]  45%`; without a total (not counted yet) the bar is left empty with `?%`.
 */
export function progressBar(done: number, total: number | undefined, width = 20): string {
  if (total === undefined || total <= 0) return `[${' '.repeat(width)}]   ?%`;
  const fraction = Math.min(1, Math.max(0, done / total));
  const filled = Math.floor(fraction * width);
  const percent = String(Math.floor(fraction * 100)).padStart(3);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${percent}%`;
}

/** Cuts a line to a terminal's width (an ellipsis marks the cut), so that rewriting it in place works. */
export function fitLine(line: string, columns: number | undefined): string {
  if (columns === undefined || columns <= 1 || line.length < columns) return line;
  return `${line.slice(0, columns - 2)}…`;
}
