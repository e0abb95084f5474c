// Splitting a key space into ranges of about equal size, from one pass over a sorted listing with
// bounded memory: the key ranges that a large job's child workflows (`<jobId>/part-<n>`) each take.

import { compareKeys } from './versions';

/** A range of keys: after `afterKey` (exclusive) up to `untilKey` (inclusive); open ends are undefined. */
export interface KeyRange {
  afterKey?: string;
  untilKey?: string;
}

/**
 * Keeps every `stride`-th key of a sorted stream, doubling the stride (and dropping every other
 * sample) when the samples reach `capacity`: the samples stay evenly spaced by count whatever the
 * stream's length, and memory stays at `capacity` keys.
 */
export class KeySampler {
  private samples: { key: string; index: number }[] = [];
  private stride = 1;
  private count = 0;
  private lastKey: string | undefined;

  constructor(private readonly capacity = 4096) {
    if (!Number.isInteger(capacity) || capacity < 4) throw new Error('capacity must be an integer >= 4');
  }

  /** Adds the next key of the stream (repeats of the last key, its other versions, are ignored). */
  add(key: string): void {
    if (key === this.lastKey) return;
    if (this.lastKey !== undefined && compareKeys(key, this.lastKey) < 0)
      throw new Error(`keys out of order: "${key}" after "${this.lastKey}"`);
    this.lastKey = key;
    if (this.count % this.stride === 0) {
      this.samples.push({ key, index: this.count });
      if (this.samples.length >= this.capacity) {
        this.stride *= 2;
        this.samples = this.samples.filter((s) => s.index % this.stride === 0);
      }
    }
    this.count++;
  }

  get keys(): number {
    return this.count;
  }

  /**
   * Up to `parts - 1` boundary keys splitting the keys seen into `parts` ranges of about equal size
   * (each within one stride of total/parts). Fewer when there are fewer keys than parts.
   */
  boundaries(parts: number): string[] {
    if (!Number.isInteger(parts) || parts < 1) throw new Error('parts must be a positive integer');
    const out: string[] = [];
    for (let p = 1; p < parts; p++) {
      // The last key of part p-1: the sample nearest below the ideal cut.
      const ideal = Math.floor((this.count * p) / parts) - 1;
      let chosen: string | undefined;
      for (const s of this.samples) {
        if (s.index > ideal) break;
        chosen = s.key;
      }
      if (chosen !== undefined && chosen !== out[out.length - 1] && chosen !== this.lastKey) out.push(chosen);
    }
    return out;
  }
}

/** The ranges between boundaries: `boundaries.length + 1` ranges covering every key exactly once. */
export function rangesFromBoundaries(boundaries: readonly string[], outer: KeyRange = {}): KeyRange[] {
  const cuts = [...boundaries];
  const ranges: KeyRange[] = [];
  let after = outer.afterKey;
  for (const b of cuts) {
    ranges.push({ afterKey: after, untilKey: b });
    after = b;
  }
  ranges.push({ afterKey: after, untilKey: outer.untilKey });
  return ranges;
}

/** Whether a key falls in a range. */
export function inRange(key: string, range: KeyRange): boolean {
  return (
    (range.afterKey === undefined || compareKeys(key, range.afterKey) > 0) &&
    (range.untilKey === undefined || compareKeys(key, range.untilKey) <= 0)
  );
}
