// Workflow ids from business keys: the same recovery asked twice at once is one run, never two.

/** FNV-1a, 32 bits, as 8 hex digits: a short stable name for a long key or a list of keys. */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

function keyPart(keys: readonly string[]): string {
  if (keys.length === 1 && keys[0].length <= 200) return keys[0];
  return `${keys.length}-keys-${fnv1a(keys.join('\n'))}`;
}

export function versionRecoveryWorkflowId(input: {
  action: string;
  region?: string;
  bucket: string;
  keys: readonly (string | { key: string; versionId?: string; at?: string })[];
  versionId?: string;
  at?: string;
  dryRun?: boolean;
}): string {
  const keys = input.keys.map((k) => (typeof k === 'string' ? k : `${k.key}@${k.versionId ?? k.at ?? ''}`));
  const selector = input.versionId ?? input.at ?? 'current';
  return [
    'recover',
    input.region ?? 'primary',
    input.bucket,
    input.action + (input.dryRun ? '-dry-run' : ''),
    keyPart(keys),
    selector,
  ].join('/');
}

interface Loc {
  region?: string;
  bucket: string;
  prefix?: string;
}
const loc = (l: Loc) => `${l.region ?? 'primary'}/${l.bucket}/${l.prefix ?? ''}`;

export function pointInTimeRestoreWorkflowId(input: {
  source: Loc;
  target?: Loc;
  at: string;
  dryRun?: boolean;
}): string {
  const to = input.target ? `/to/${loc(input.target)}` : '';
  return `pitr/${loc(input.source)}@${input.at}${to}${input.dryRun ? '/dry-run' : ''}`;
}

export function bulkCopyWorkflowId(input: {
  source: Loc;
  target: Loc;
  at?: string;
  dryRun?: boolean;
}): string {
  return `copy/${loc(input.source)}/to/${loc(input.target)}${input.at ? `@${input.at}` : ''}${input.dryRun ? '/dry-run' : ''}`;
}

/** One failover of a protected bucket at a time: the id names the bucket, not the moment. */
export function failoverWorkflowId(input: { source: Loc; dryRun?: boolean }): string {
  return `failover/${input.source.region ?? 'primary'}/${input.source.bucket}${input.dryRun ? '/dry-run' : ''}`;
}

export function failbackWorkflowId(input: { source: Loc }): string {
  return `failback/${input.source.region ?? 'primary'}/${input.source.bucket}`;
}

/**
 * `verify/<region>/<bucket>/<prefix>/to/<region>/<bucket>@<minute>`: the same verification asked twice
 * within a minute is one run; `at` is when it was asked (the CLI passes now).
 */
export function verifyReplicaWorkflowId(input: {
  source: { region?: string; bucket: string };
  replica: { region: string; bucket?: string };
  prefix?: string;
  at: string;
}): string {
  const minute = new Date(Date.parse(input.at)).toISOString().slice(0, 16) + 'Z';
  const src = loc({ ...input.source, prefix: input.prefix });
  return `verify/${src}/to/${input.replica.region}/${input.replica.bucket ?? input.source.bucket}@${minute}`;
}

/** The undo of a restore job: one per job (and one dry run), so asking twice at once is one run. */
export function undoRestoreWorkflowId(input: { jobId: string; dryRun?: boolean }): string {
  return `undo/${input.jobId}${input.dryRun ? '/dry-run' : ''}`;
}
