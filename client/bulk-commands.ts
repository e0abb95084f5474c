// `lifeboat restore pitr|undo`, `copy`, `pause`, `resume`, `concurrency`: bulk jobs from the CLI, with
// a live progress line, the question at the blast-radius gate, and a summary of the result.
import { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { LifeboatConfig } from '../core/config';
import { pauseSignal, resumeSignal, setConcurrencyUpdate } from '../workflows/point-in-time-restore';
import { UndoProgress, undoProgressQuery } from '../workflows/undo-restore';
import { configOf, connectToStart, EXIT_FAILED, GlobalOptions, intOption, note, out } from './cli-common';
import { fitLine, formatBytes, formatSteps, progressBar, table } from './format';
import {
  BulkJobResult,
  connect,
  jobProgress,
  Progress,
  startBulkCopy,
  startPointInTimeRestore,
  startUndoRestore,
  UndoRestoreResult,
  UsageError,
  validateBulkCopy,
  validatePointInTimeRestore,
  validateUndoRestore,
  webUiLink,
} from './lifeboat';
import { askAtGate } from './safety-commands';

export function formatProgress(p: Progress): string {
  if (p.waitingFor) return `${p.phase}: ${p.waitingFor}`;
  const total = p.totalKeys !== undefined ? ` of ${p.totalKeys}` : '';
  const eta = p.etaSeconds !== undefined && !p.paused ? `, ETA ${Math.ceil(p.etaSeconds)} s` : '';
  const seen = `${p.planned.keys}${total} keys listed (copy ${p.planned.copy}, undelete ${p.planned.removeMarkers}, delete ${p.planned.delete}, unchanged ${p.planned.unchanged})`;
  const done = p.dryRun ? 'dry run' : `${p.applied.keys} done, ${formatBytes(p.applied.bytes)} copied`;
  const parts = p.parts ? `, parts ${p.parts.done}/${p.parts.total} done` : '';
  return `${p.phase}: page ${p.pages}, ${seen}, ${done}, ${p.failed} failed, ${p.keysPerSecond.toFixed(0)} keys/s${eta}, concurrency ${p.concurrency}${parts}`;
}

/** The terminal's progress line: a bar (once the keys are counted), counts, rate and ETA, cut to fit. */
function formatProgressBar(p: Progress, columns: number | undefined): string {
  if (p.waitingFor) return fitLine(`${p.phase}: ${p.waitingFor}`, columns);
  if (p.phase === 'surveying' || p.phase === 'awaiting-approval' || p.phase === 'checking')
    return fitLine(`${p.phase}${p.totalKeys !== undefined ? `: ${p.totalKeys} keys in scope` : ''}`, columns);
  const eta = p.etaSeconds !== undefined && !p.paused ? `, ETA ${Math.ceil(p.etaSeconds)} s` : '';
  const total = p.totalKeys !== undefined ? `/${p.totalKeys}` : '';
  const done = p.dryRun ? 'dry run' : `${p.applied.keys} applied (${formatBytes(p.applied.bytes)})`;
  const parts = p.parts ? `, parts ${p.parts.done}/${p.parts.total}` : '';
  // The most wanted first: a narrow terminal cuts the end.
  return fitLine(
    `${progressBar(p.planned.keys, p.totalKeys)} ${p.planned.keys}${total} keys${eta}, ${p.keysPerSecond.toFixed(0)} keys/s, ${p.failed} failed, ${done}, ${p.phase}${parts}`,
    columns,
  );
}

function summarizeJob(r: BulkJobResult, config: LifeboatConfig): string {
  const where = (l: { region: string; bucket: string; prefix: string }) =>
    `${l.region}/${l.bucket}/${l.prefix}`;
  const lines = [
    `${r.dryRun ? 'Plan (dry run, nothing changed)' : 'Done'}: ${r.procedure} of ${where(r.source)}${r.target ? ` into ${where(r.target)}` : ' in place'} as at ${r.at}`,
    '',
    table(
      ['', 'KEYS', 'COPY', 'UNDELETE', 'DELETE', 'UNCHANGED', 'BYTES'],
      [
        [
          'planned',
          r.planned.keys,
          r.planned.copy,
          r.planned.removeMarkers,
          r.planned.delete,
          r.planned.unchanged,
          formatBytes(r.planned.bytes),
        ],
        [
          'applied',
          r.applied.keys,
          r.applied.copy,
          r.applied.removeMarkers,
          r.applied.delete,
          '',
          formatBytes(r.applied.bytes),
        ],
      ],
    ),
    '',
    `pages ${r.pages}, runs ${r.runs}, RTO ${r.rtoSeconds.toFixed(1)} s, failed ${r.failedCount}`,
  ];
  for (const f of r.failed.slice(0, 10)) lines.push(`  failed: ${f.key} (${f.action}): ${f.error}`);
  if (r.reportsPrefix)
    lines.push(`reports: ${r.reportsPrefix} (${r.dryRun ? 'plan/' : 'undo/, failed/'}, report.json)`);
  for (const part of r.parts ?? [])
    lines.push(
      `  ${part.workflowId}: ${part.status}${part.keys !== undefined ? `, ${part.keys} keys, ${part.applied} applied, ${part.failedCount} failed` : ''}${part.error ? `: ${part.error}` : ''}`,
    );
  lines.push('', formatSteps(r.steps));
  const link = webUiLink(config, r.workflowId);
  if (link) lines.push('', `Web UI: ${link}`);
  return lines.join('\n');
}

/**
 * Waits for a run's result, drawing its progress once a second on stderr: on a terminal one line
 * redrawn in place (`line(p, columns)`), otherwise a line per change (`line(p, undefined)`).
 */
async function follow<P, R>(
  handle: WorkflowHandle,
  progress: () => Promise<P | undefined>,
  line: (p: P, columns: number | undefined) => string,
  atGate?: (p: P) => boolean,
): Promise<R> {
  const tty = process.stderr.isTTY;
  let last = '';
  let asking = false;
  const timer = setInterval(() => {
    if (asking) return;
    void progress()
      .then(async (p) => {
        if (p === undefined) return;
        if (atGate?.(p)) {
          // Stopped at its blast-radius gate: ask on a terminal (no redraw meanwhile), else reject.
          asking = true;
          if (tty) process.stderr.write('\n');
          await askAtGate(handle).finally(() => (asking = false));
          return;
        }
        const text = line(p, tty ? process.stderr.columns : undefined);
        if (tty) process.stderr.write(`\r\x1b[K${text}`);
        else if (text !== last) process.stderr.write(`${text}\n`);
        last = text;
      })
      .catch(() => undefined);
  }, 1000);
  try {
    return (await handle.result()) as R;
  } finally {
    clearInterval(timer);
    if (tty) process.stderr.write('\n');
  }
}

/** Waits for a bulk job: a progress bar on a terminal, the detailed line otherwise. */
const followJob = (handle: WorkflowHandle) =>
  follow<Progress, BulkJobResult>(
    handle,
    () => jobProgress(handle),
    (p, columns) => (columns !== undefined ? formatProgressBar(p, columns) : formatProgress(p)),
    (p) => p.phase === 'awaiting-approval',
  );

/**
 * Says a run started (id, Web UI link, how to pause it); with --detach prints its id (or JSON) on
 * stdout and returns true: the caller is done.
 */
function announceStart(
  json: boolean | undefined,
  config: LifeboatConfig,
  handle: WorkflowHandle,
  detach?: boolean,
) {
  const link = webUiLink(config, handle.workflowId);
  note(
    `started ${handle.workflowId}${link ? `\n  ${link}` : ''}\n  pause: lifeboat pause ${handle.workflowId}${detach ? `\n  should it stop at its blast-radius gate: lifeboat gate|approve|reject ${handle.workflowId}` : ''}`,
  );
  if (detach) out(json, { workflowId: handle.workflowId, webUi: link }, () => handle.workflowId);
  return detach === true;
}

interface BulkOptions {
  region: string;
  prefix: string;
  toBucket?: string;
  toRegion?: string;
  toPrefix?: string;
  at?: string;
  from?: string;
  deleteCreatedAfter?: boolean;
  skipExisting: boolean;
  concurrency: string;
  pageSize: string;
  parts: string;
  dryRun?: boolean;
  detach?: boolean;
  id?: string;
  reason?: string;
  yes?: boolean;
  wait?: boolean;
  allowDeleteAll?: boolean;
  maxDeleteFraction?: string;
}

function fractionOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--${name} expects a fraction from 0 to 1, got "${value}"`);
  return n;
}

async function runBulk(
  cmd: Command,
  kind: 'pitr' | 'copy',
  bucket: string,
  opts: BulkOptions,
): Promise<void> {
  const { json } = cmd.optsWithGlobals<GlobalOptions>();
  const config = configOf(cmd);
  const source = { region: opts.region, bucket, prefix: opts.prefix };
  const target =
    opts.toBucket !== undefined
      ? { region: opts.toRegion ?? opts.region, bucket: opts.toBucket, prefix: opts.toPrefix ?? opts.prefix }
      : undefined;
  const common = {
    dryRun: opts.dryRun ?? false,
    concurrency: intOption('concurrency', opts.concurrency),
    pageSize: intOption('page-size', opts.pageSize),
    parts: intOption('parts', opts.parts),
    reason: opts.reason,
    autoApprove: opts.yes ?? false,
    waitForLease: opts.wait ?? false,
    maxDeleteFraction: fractionOption('max-delete-fraction', opts.maxDeleteFraction),
  };
  let start: (client: Awaited<ReturnType<typeof connect>>) => ReturnType<typeof startPointInTimeRestore>;
  if (kind === 'pitr') {
    if (opts.at === undefined)
      throw new UsageError('restore pitr needs --at <time>: the moment to restore to');
    const input = {
      source,
      target,
      at: opts.at,
      from: opts.from,
      deleteKeysCreatedAfter: opts.deleteCreatedAfter,
      allowDeleteAll: opts.allowDeleteAll ?? false,
      ...common,
    };
    validatePointInTimeRestore(input);
    start = (client) => startPointInTimeRestore(client, config, input, opts.id);
  } else {
    if (!target) throw new UsageError('copy needs a target bucket');
    const input = { source, target, at: opts.at, skipExisting: opts.skipExisting, ...common };
    validateBulkCopy(input);
    start = (client) => startBulkCopy(client, config, input, opts.id);
  }
  const client = await connectToStart(config);
  const handle = await start(client);
  if (announceStart(json, config, handle, opts.detach)) return;
  const result = await followJob(handle);
  out(json, result, () => summarizeJob(result, config));
  if (result.failedCount > 0) process.exitCode = EXIT_FAILED;
}

interface UndoOptions {
  concurrency: string;
  dryRun?: boolean;
  detach?: boolean;
  reason?: string;
  id?: string;
  yes?: boolean;
  wait?: boolean;
}

function summarizeUndo(r: UndoRestoreResult, config: LifeboatConfig): string {
  const c = (u: UndoRestoreResult['planned'], applied: boolean) => [
    applied ? 'applied' : 'planned',
    u.keys,
    u.copy,
    u.removeMarkers,
    u.addMarker,
    applied ? '' : u.unchanged,
    applied ? '' : u.conflicts,
  ];
  const s = r.source;
  const lines = [
    `${r.dryRun ? 'Plan (dry run, nothing changed)' : 'Done'}: undo of ${r.restoreJobId} (${s.region}/${s.bucket}/${s.prefix} restored to ${r.restoredTo}, started ${r.restoreStartedAt})`,
    '',
    table(
      ['', 'KEYS', 'COPY BACK', 'UNDELETE', 'DELETE', 'UNCHANGED', 'CONFLICTS'],
      [c(r.planned, false), ...(r.dryRun ? [] : [c(r.applied, true)])],
    ),
    '',
    `pages ${r.pages}, runs ${r.runs}, conflicts ${r.conflictCount}, failed ${r.failedCount}`,
  ];
  for (const k of r.conflicts.slice(0, 10)) lines.push(`  conflict (left as it is): ${k.key}: ${k.reason}`);
  for (const k of r.failed.slice(0, 10)) lines.push(`  failed: ${k.key}: ${k.reason}`);
  if (r.reportsPrefix)
    lines.push(`reports: ${r.reportsPrefix} (${r.dryRun ? 'plan/, ' : ''}conflicts/, failed/, report.json)`);
  lines.push('', formatSteps(r.steps));
  const link = webUiLink(config, r.workflowId);
  if (link) lines.push('', `Web UI: ${link}`);
  return lines.join('\n');
}

export function formatUndoProgress(p: UndoProgress): string {
  if (p.waitingFor) return `${p.phase}: ${p.waitingFor}`;
  return `${p.phase}: page ${p.pages}, ${p.planned.keys} keys seen, ${p.applied.keys} put back, ${p.conflicts} conflicts, ${p.failed} failed, concurrency ${p.concurrency}`;
}

async function runUndo(cmd: Command, jobId: string, opts: UndoOptions): Promise<void> {
  const { json } = cmd.optsWithGlobals<GlobalOptions>();
  const config = configOf(cmd);
  const input = {
    jobId,
    dryRun: opts.dryRun ?? false,
    concurrency: intOption('concurrency', opts.concurrency),
    reason: opts.reason,
    autoApprove: opts.yes ?? false,
    waitForLease: opts.wait ?? false,
  };
  validateUndoRestore(input);
  const client = await connectToStart(config);
  const handle = await startUndoRestore(client, config, input, opts.id);
  if (announceStart(json, config, handle, opts.detach)) return;
  const result = await follow<UndoProgress, UndoRestoreResult>(
    handle,
    () => handle.query(undoProgressQuery),
    (p, columns) => fitLine(formatUndoProgress(p), columns),
    (p) => p.phase === 'awaiting-approval',
  );
  out(json, result, () => summarizeUndo(result, config));
  if (result.failedCount > 0 || result.conflictCount > 0) process.exitCode = EXIT_FAILED;
}

export function bulkCommands(program: Command): void {
  const restore = program
    .command('restore')
    .description('restore a bucket or prefix (workflow pointInTimeRestore)');
  const shared = (c: Command) =>
    c
      .option('--region <name>', 'region profile of the source bucket', 'primary')
      .option('--prefix <prefix>', 'only keys under this prefix', '')
      .option('--to-region <name>', 'region profile of the target (default: the source region)')
      .option('--to-prefix <prefix>', 'target prefix (default: the source prefix)')
      .option('--concurrency <n>', 'objects in flight at once (1-256)', '32')
      .option('--page-size <n>', 'versions listed per page, one activity each (1-1000)', '1000')
      .option(
        '--parts <n>',
        'split the keys into n ranges of about equal size, each a child workflow <id>/part-<i> (1-64)',
        '1',
      )
      .option('--dry-run', 'plan and write the plan to the reports location, change nothing')
      .option('--detach', 'start the workflow and print its id without waiting')
      .option('--yes', 'go past the blast-radius gate without asking (recorded as auto-approved)')
      .option('--wait', 'wait for a job writing to an overlapping range to end, instead of being refused')
      .option(
        '--max-delete-fraction <f>',
        'stop for approval when the plan deletes more than this fraction of the keys (default 0.1)',
      )
      .option('--reason <text>', 'why this is run (kept in the report)')
      .option('--id <workflowId>', 'workflow id (default: derived from source, target and time)');
  shared(
    restore
      .command('pitr')
      .description('bring a bucket or prefix back to how it was at a time T, in place or into another bucket')
      .argument('<bucket>')
      .requiredOption('--at <time>', 'the moment to restore to (ISO 8601 with offset)')
      .option('--from <time>', 'only keys changed after this moment (the incident window)')
      .option('--to-bucket <bucket>', 'restore into this bucket instead of in place')
      .option('--delete-created-after', 'keys created after T get a delete marker (default in place)')
      .option('--no-delete-created-after', 'leave keys created after T alone (default into another bucket)')
      .option(
        '--allow-delete-all',
        'a time before the oldest version is meant: delete every key (refused otherwise, as a mistyped time)',
      ),
  ).action(async (bucket: string, opts: BulkOptions, cmd: Command) => runBulk(cmd, 'pitr', bucket, opts));

  shared(
    program
      .command('copy')
      .description(
        'copy a bucket or prefix to another bucket, skipping what is already there (workflow bulkCopy)',
      )
      .argument('<bucket>')
      .argument('<toBucket>')
      .option('--at <time>', 'copy the versions current at this moment (default: now)')
      .option('--no-skip-existing', 'copy even keys whose target has the same ETag and size'),
  ).action(async (bucket: string, toBucket: string, opts: BulkOptions, cmd: Command) =>
    runBulk(cmd, 'copy', bucket, { ...opts, toBucket }),
  );

  restore
    .command('undo')
    .description(
      'put back what an in-place restore changed, from its undo manifests; keys changed since are left alone (workflow undoRestore)',
    )
    .argument('<jobId>', 'the workflow id of the in-place point-in-time restore')
    .option('--concurrency <n>', 'keys in flight at once (1-256)', '32')
    .option('--dry-run', 'plan and write the plan to the reports location, change nothing')
    .option('--detach', 'start the workflow and print its id without waiting')
    .option('--yes', 'go past the blast-radius gate without asking (recorded as auto-approved)')
    .option('--wait', 'wait for a job writing to the same range to end, instead of being refused')
    .option('--reason <text>', 'why this is run (kept in the report)')
    .option('--id <workflowId>', 'workflow id (default: undo/<jobId>)')
    .action(async (jobId: string, opts: UndoOptions, cmd: Command) => runUndo(cmd, jobId, opts));

  const control = async (cmd: Command, workflowId: string, what: 'pause' | 'resume') => {
    const { json } = cmd.optsWithGlobals<GlobalOptions>();
    const config = configOf(cmd);
    const client = await connect(config);
    const handle = client.workflow.getHandle(workflowId);
    await handle.signal(what === 'pause' ? pauseSignal : resumeSignal);
    if ((await handle.describe()).type === 'undoRestore') {
      const progress = await handle.query(undoProgressQuery).catch(() => undefined);
      out(json, { workflowId, signalled: what, progress }, () =>
        [`${what} sent to ${workflowId}`, progress ? formatUndoProgress(progress) : '']
          .filter(Boolean)
          .join('\n'),
      );
      return;
    }
    const progress = await jobProgress(handle);
    out(json, { workflowId, signalled: what, progress }, () =>
      [`${what} sent to ${workflowId}`, progress ? formatProgress(progress) : ''].filter(Boolean).join('\n'),
    );
  };
  program
    .command('pause')
    .description('pause a bulk job: the running page stops within a second, nothing new starts')
    .argument('<workflowId>')
    .action(async (id: string, _o: unknown, cmd: Command) => control(cmd, id, 'pause'));
  program
    .command('resume')
    .description('resume a paused bulk job')
    .argument('<workflowId>')
    .action(async (id: string, _o: unknown, cmd: Command) => control(cmd, id, 'resume'));
  program
    .command('concurrency')
    .description('change the objects in flight of a running bulk job (from its next page)')
    .argument('<workflowId>')
    .argument('<n>')
    .action(async (id: string, n: string, _o: unknown, cmd: Command) => {
      const { json } = cmd.optsWithGlobals<GlobalOptions>();
      const config = configOf(cmd);
      const client = await connect(config);
      const previous = await client.workflow
        .getHandle(id)
        .executeUpdate(setConcurrencyUpdate, { args: [intOption('n', n)] });
      out(
        json,
        { workflowId: id, concurrency: Number(n), previous },
        () => `concurrency of ${id}: ${previous} -> ${n}`,
      );
    });
}
