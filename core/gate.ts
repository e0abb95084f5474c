// The blast-radius gate as pure logic: from a job's full plan (counted before its first write), does it
// delete or overwrite so much more than an incident usually touches that an operator must say yes?

/** How much of the keys in scope a job may delete or overwrite before it stops for approval. */
export interface GateThresholds {
  /** Delete markers added (in place) or objects deleted (into another bucket), as a fraction of the keys in scope. */
  maxDeleteFraction: number;
  /** ... or as a number of keys, whatever the fraction. */
  maxDeleteKeys: number;
  /** Keys whose current object is replaced by other content, as a fraction of the keys in scope. */
  maxOverwriteFraction: number;
  maxOverwriteKeys: number;
  /** Counts at or under this never stop a job: one stray file in a prefix of five is not a blast radius. */
  minKeys: number;
}

/**
 * Defaults an SRE can defend: a bad deploy or a deleted folder touches a minority of a prefix; a
 * restore that would delete more than a tenth of it, or more than 1,000 keys, is far more likely a
 * wrong time or prefix (the mistyped year) than the incident. Overwrites are what a restore is for, so
 * they stop only past half the keys in scope or 10,000 keys.
 */
export const DEFAULT_GATE: GateThresholds = {
  maxDeleteFraction: 0.1,
  maxDeleteKeys: 1000,
  maxOverwriteFraction: 0.5,
  maxOverwriteKeys: 10_000,
  minKeys: 10,
};

/** Keys shown to the approver for each kind of change. */
export const GATE_SAMPLE_KEYS = 10;

export interface BlastRadius {
  /** Keys in scope: every key under the prefix (any version), or every key the undo looks at. */
  keysInScope: number;
  deletes: number;
  overwrites: number;
  /** Keys that get content where they had none (copies onto absent or deleted keys, undeletes). */
  creates: number;
  /** The first keys of each kind, in listing order. */
  firstDeletes: string[];
  firstOverwrites: string[];
}

export const emptyBlastRadius = (): BlastRadius => ({
  keysInScope: 0,
  deletes: 0,
  overwrites: 0,
  creates: 0,
  firstDeletes: [],
  firstOverwrites: [],
});

export type ChangeKind = 'delete' | 'overwrite' | 'create' | 'none';

/** Adds one key of the plan to the tally (the key counts in scope whatever its change). */
export function tallyKey(r: BlastRadius, key: string, kind: ChangeKind): BlastRadius {
  const n: BlastRadius = { ...r, keysInScope: r.keysInScope + 1 };
  if (kind === 'delete') {
    n.deletes += 1;
    if (r.firstDeletes.length < GATE_SAMPLE_KEYS) n.firstDeletes = [...r.firstDeletes, key];
  } else if (kind === 'overwrite') {
    n.overwrites += 1;
    if (r.firstOverwrites.length < GATE_SAMPLE_KEYS) n.firstOverwrites = [...r.firstOverwrites, key];
  } else if (kind === 'create') n.creates += 1;
  return n;
}

export function addBlastRadius(a: BlastRadius, b: BlastRadius): BlastRadius {
  return {
    keysInScope: a.keysInScope + b.keysInScope,
    deletes: a.deletes + b.deletes,
    overwrites: a.overwrites + b.overwrites,
    creates: a.creates + b.creates,
    firstDeletes: [...a.firstDeletes, ...b.firstDeletes].slice(0, GATE_SAMPLE_KEYS),
    firstOverwrites: [...a.firstOverwrites, ...b.firstOverwrites].slice(0, GATE_SAMPLE_KEYS),
  };
}

export interface GateDecision {
  stop: boolean;
  /** Why it stops (empty when it does not): one sentence per threshold passed. */
  reasons: string[];
  /** One line for logs and the Web UI. */
  summary: string;
}

const pct = (n: number, of: number) => (of > 0 ? `${((100 * n) / of).toFixed(1)}%` : '0%');

function over(count: number, inScope: number, fraction: number, keys: number, minKeys: number): boolean {
  if (count <= minKeys) return false;
  return count > keys || count > fraction * inScope;
}

export function gateDecision(r: BlastRadius, t: GateThresholds = DEFAULT_GATE): GateDecision {
  const reasons: string[] = [];
  if (over(r.deletes, r.keysInScope, t.maxDeleteFraction, t.maxDeleteKeys, t.minKeys))
    reasons.push(
      `the plan deletes ${r.deletes} of ${r.keysInScope} keys in scope (${pct(r.deletes, r.keysInScope)}; the limit is ${pct(t.maxDeleteFraction, 1)} or ${t.maxDeleteKeys} keys)`,
    );
  if (over(r.overwrites, r.keysInScope, t.maxOverwriteFraction, t.maxOverwriteKeys, t.minKeys))
    reasons.push(
      `the plan overwrites ${r.overwrites} of ${r.keysInScope} keys in scope (${pct(r.overwrites, r.keysInScope)}; the limit is ${pct(t.maxOverwriteFraction, 1)} or ${t.maxOverwriteKeys} keys)`,
    );
  const summary = `${r.keysInScope} keys in scope: ${r.deletes} deleted, ${r.overwrites} overwritten, ${r.creates} brought back or created`;
  return { stop: reasons.length > 0, reasons, summary };
}

/** The gate thresholds of a job's input (its optional fields) over the defaults. */
export function thresholdsOf(input: Partial<Omit<GateThresholds, 'minKeys'>>): GateThresholds {
  const t = { ...DEFAULT_GATE };
  for (const k of [
    'maxDeleteFraction',
    'maxDeleteKeys',
    'maxOverwriteFraction',
    'maxOverwriteKeys',
  ] as const) {
    const v = input[k];
    if (v !== undefined) t[k] = v;
  }
  return t;
}

/** What an approver sees at the gate (the `gate` query) and what the result records. */
export interface BlastRadiusGate {
  waiting: boolean;
  radius?: BlastRadius;
  decision?: { approved: boolean; by?: string; comment?: string; auto?: boolean };
  assessment?: GateDecision;
  /** ISO instant after which the gate gives up (nothing written). */
  deadline?: string;
}
