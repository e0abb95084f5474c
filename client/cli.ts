#!/usr/bin/env node
// The `lifeboat` CLI: start recoveries, follow their step logs, list versions, run the worker.
import { Command, Option } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LifeboatConfig } from '../core/config';
import { VersionRecoveryInput } from '../core/version-recovery';
import { RegionFailbackInput, RegionFailoverInput } from '../core/failover';
import { parseInput } from '../core/validate';
import { listKeyVersions } from '../activities/s3/versions';
import { createS3Client } from '../worker/clients';
import { ConfigError, loadConfig } from '../worker/config';
import { pauseSignal, resumeSignal, setConcurrencyUpdate } from '../workflows/point-in-time-restore';
import { UndoProgress, undoProgressQuery } from '../workflows/undo-restore';
import { downloadVersion, presignVersion } from './download';
import { regionCommands, replicaStatusCommand } from './region-commands';
import { askAtGate, safetyCommands } from './safety-commands';
import { fitLine, formatBytes, formatSteps, progressBar, table } from './format';
import {
  BulkJobResult,
  connect,
  describeFailure,
  jobProgress,
  Progress,
  startBulkCopy,
  startPointInTimeRestore,
  startUndoRestore,
  UndoRestoreResult,
  hasWorker,
  runStatus,
  startVerifyReplica,
  startVersionRecovery,
  startWorkflow,
  UsageError,
  validateBulkCopy,
  validatePointInTimeRestore,
  validateUndoRestore,
  validateVerifyReplica,
  validateVersionRecovery,
  VerifyReplicaResult,
  VersionRecoveryResult,
  webUiLink,
} from './lifeboat';

interface GlobalOptions {
  config?: string;
  json?: boolean;
}

const EXIT_FAILED = 1;
/** verifyReplica found differences, or could not read the source: like diff(1), 1 means "not the same". */
const EXIT_DIFFERENCES = 1;
const EXIT_USAGE = 2;

function out(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A client to start a workflow with; warns (and goes on) when no worker polls the task queue. */
async function connectToStart(config: LifeboatConfig) {
  const client = await connect(config);
  if (!(await hasWorker(client, config))) {
    note(
      `warning: no worker polls task queue "${config.temporal.taskQueue}": start one with "lifeboat worker" (or npm run worker)`,
    );
  }
  return client;
}

function configOf(cmd: Command): LifeboatConfig {
  return loadConfig(cmd.optsWithGlobals<GlobalOptions>().config);
}

function s3Of(config: LifeboatConfig, region: string) {
  const profile = config.regions[region];
  if (!profile) {
    throw new UsageError(
      `region "${region}" is not in the configuration (known: ${Object.keys(config.regions).join(', ')})`,
    );
  }
  return createS3Client(region, profile);
}

interface RecoverOptions {
  region: string;
  versionId?: string;
  at?: string;
  dryRun?: boolean;
  detach?: boolean;
  reason?: string;
  id?: string;
  out?: string;
  presign?: string;
  wait?: boolean;
}

function summarizeRecovery(r: VersionRecoveryResult, config: LifeboatConfig): string {
  const lines: string[] = [];
  const verb = r.dryRun ? 'Plan (dry run, nothing changed)' : 'Done';
  lines.push(
    `${verb}: ${r.action} on ${r.region}/${r.bucket}, ${r.plan.keys.length} key(s), RTO ${r.rtoSeconds.toFixed(2)} s`,
  );
  lines.push('');
  const rows = r.dryRun
    ? r.plan.keys.map((p) => {
        switch (p.action) {
          case 'copy':
            return [p.key, 'copy version back', p.sourceVersionId, `current: ${p.previousVersionId ?? '-'}`];
          case 'remove-markers':
            return [p.key, `remove ${p.markerVersionIds.length} delete marker(s)`, p.restoresVersionId, ''];
          case 'download':
            return [p.key, 'download', p.versionId, formatBytes(p.size)];
          case 'none':
            return [p.key, 'nothing: already current', p.versionId, ''];
        }
      })
    : r.outcomes.map((o) => [
        o.key,
        o.action === 'copy'
          ? `copied ${o.versionId} back`
          : o.action === 'remove-markers'
            ? `removed ${o.removedMarkers?.length ?? 0} delete marker(s)`
            : o.action === 'none'
              ? 'nothing: already current'
              : 'resolved',
        o.newVersionId ?? o.versionId,
        o.previousVersionId ? `undo: copy ${o.previousVersionId} back` : '',
      ]);
  lines.push(table(['KEY', 'ACTION', 'VERSION NOW', 'NOTE'], rows));
  lines.push('');
  lines.push(formatSteps(r.steps));
  const link = webUiLink(config, r.workflowId);
  if (link) lines.push('', `Web UI: ${link}`);
  return lines.join('\n');
}

async function recover(
  cmd: Command,
  action: VersionRecoveryInput['action'],
  bucket: string,
  keys: string[],
  opts: RecoverOptions,
): Promise<void> {
  const { json } = cmd.optsWithGlobals<GlobalOptions>();
  const config = configOf(cmd);
  const input: VersionRecoveryInput = {
    action,
    region: opts.region,
    bucket,
    keys,
    versionId: opts.versionId,
    at: opts.at,
    dryRun: opts.dryRun ?? false,
    reason: opts.reason,
    waitForLease: opts.wait ?? false,
  };
  validateVersionRecovery(input);
  const presignSeconds = opts.presign !== undefined ? Number(opts.presign) : undefined;
  if (
    presignSeconds !== undefined &&
    !(Number.isInteger(presignSeconds) && presignSeconds >= 1 && presignSeconds <= 604800)
  )
    throw new UsageError(`--presign expects whole seconds from 1 to 604800 (7 days), got "${opts.presign}"`);
  if (action === 'download' && opts.out === undefined && opts.presign === undefined) {
    throw new UsageError(
      'download needs --out <path> (write the bytes here) or --presign <seconds> (print a URL)',
    );
  }
  const client = await connectToStart(config);
  const handle = await startVersionRecovery(client, config, input, opts.id);
  const link = webUiLink(config, handle.workflowId);
  note(`started ${handle.workflowId}${link ? `\n  ${link}` : ''}`);
  if (opts.detach) {
    out(json, { workflowId: handle.workflowId, webUi: link }, () => handle.workflowId);
    return;
  }
  const result = (await handle.result()) as VersionRecoveryResult;
  if (action === 'download' && presignSeconds !== undefined && opts.out === undefined) {
    // Signed here from the version id the workflow returned: the URL is printed once, kept nowhere.
    const version = result.outcomes[0].versionId!;
    const url = await presignVersion(s3Of(config, opts.region), bucket, keys[0], version, presignSeconds);
    const expiresAt = new Date(Date.now() + presignSeconds * 1000).toISOString();
    out(json, { ...result, presigned: { url, versionId: version, expiresAt } }, () =>
      [
        summarizeRecovery(result, config),
        '',
        `URL of ${keys[0]} version ${version} (valid until ${expiresAt}):`,
        url,
      ].join('\n'),
    );
    return;
  }
  if (action === 'download' && opts.out !== undefined) {
    const version = result.outcomes[0].versionId!;
    const file = resolve(opts.out);
    const written = await downloadVersion(s3Of(config, opts.region), bucket, keys[0], version, file);
    out(json, { ...result, download: written }, () =>
      [
        summarizeRecovery(result, config),
        '',
        `wrote ${written.bytes} bytes of ${keys[0]} version ${version} to ${written.path} (md5 ${written.md5})`,
      ].join('\n'),
    );
    return;
  }
  out(json, result, () => summarizeRecovery(result, config));
}

function recoverCommand(program: Command): void {
  const recoverCmd = program
    .command('recover')
    .description(
      'version recovery: copy a version back, undelete, download a version (workflow versionRecovery)',
    );
  const common = (c: Command) =>
    c
      .option('--region <name>', 'region profile of the bucket', 'primary')
      .option('--dry-run', 'plan and print what would change, change nothing')
      .option('--detach', 'start the workflow and print its id without waiting')
      .option('--reason <text>', 'why this recovery is run (kept in the step log)')
      .option('--wait', 'wait for a job writing to these keys to end, instead of being refused')
      .option('--id <workflowId>', 'workflow id (default: derived from bucket, keys and version)');

  common(
    recoverCmd
      .command('copy')
      .description('make an older version current again (server-side copy; history is kept)')
      .argument('<bucket>')
      .argument('<keys...>')
      .addOption(new Option('--version-id <id>', 'the version to bring back (one key)').conflicts('at'))
      .option('--at <time>', 'bring back the version current at this ISO 8601 time (with offset)'),
  ).action(async (bucket: string, keys: string[], opts: RecoverOptions, cmd: Command) =>
    recover(cmd, 'copy-version', bucket, keys, opts),
  );

  common(
    recoverCmd
      .command('undelete')
      .description('remove the delete markers on top of each key, so its last version is readable again')
      .argument('<bucket>')
      .argument('<keys...>'),
  ).action(async (bucket: string, keys: string[], opts: RecoverOptions, cmd: Command) =>
    recover(cmd, 'remove-delete-marker', bucket, keys, opts),
  );

  common(
    recoverCmd
      .command('download')
      .description("write a version's exact bytes to a file, or print a short-lived URL")
      .argument('<bucket>')
      .argument('<key>')
      .addOption(new Option('--version-id <id>', 'the version (default: current)').conflicts('at'))
      .option('--at <time>', 'the version current at this ISO 8601 time')
      .option('--out <path>', 'write the bytes to this file')
      .option(
        '--presign <seconds>',
        'print a URL valid this long instead (max 604800), signed on this machine: it is stored nowhere',
      ),
  ).action(async (bucket: string, key: string, opts: RecoverOptions, cmd: Command) =>
    recover(cmd, 'download', bucket, [key], opts),
  );
}

function formatProgress(p: Progress): string {
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

function intOption(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} expects a whole number, got "${value}"`);
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

function formatUndoProgress(p: UndoProgress): string {
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

function bulkCommands(program: Command): void {
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

interface ReplicaVerifyOptions {
  sourceRegion: string;
  bucket: string;
  replicaRegion?: string;
  replicaBucket?: string;
  prefix: string;
  deep?: string;
  sampleRate?: string;
  examples: string;
  compareVersionIds: boolean;
  pageSize: string;
  detach?: boolean;
  id?: string;
  reason?: string;
}

function summarizeVerification(r: VerifyReplicaResult, config: LifeboatConfig): string {
  const lines = [
    `${r.inSync ? 'In sync' : r.sourceReachable ? `${r.differences} difference(s)` : 'Source unreachable'}: ${r.source.region}/${r.source.bucket}/${r.prefix} -> ${r.replica.region}/${r.replica.bucket}`,
    '',
  ];
  const classes = Object.entries(r.counts).filter(([c]) => c !== 'keys');
  lines.push(
    table(
      ['CLASS', 'KEYS', 'FIRST KEYS'],
      [
        ...classes.map(([c, n]) => [
          c,
          n,
          (r.examples[c as keyof typeof r.examples] ?? [])
            .slice(0, 5)
            .map((d) => d.key)
            .join(', '),
        ]),
        ['total', r.counts.keys, ''],
      ],
    ),
  );
  lines.push('');
  if (r.rpoSeconds !== null)
    lines.push(
      `RPO estimate: ${r.rpoSeconds.toFixed(0)} s${r.oldestMissingChange ? ` (oldest change the replica lacks: ${r.oldestMissingChange})` : ''}`,
    );
  lines.push(
    `versions listed: source ${r.versions.source}, replica ${r.versions.replica}; deep-checked ${r.deepChecked} key(s), ${formatBytes(r.bytesHashed)} hashed; ${r.durationSeconds.toFixed(1)} s`,
  );
  if (r.replicaAlone) {
    const a = r.replicaAlone;
    lines.push(
      `replica alone: ${a.keys} keys, ${a.currentObjects} current objects (${formatBytes(a.currentBytes)}), ${a.versions} versions, ${a.deleteMarkers} delete markers, newest change ${a.newestChange ?? '-'}`,
    );
  }
  if (r.lastVerification)
    lines.push(
      `last verification: ${r.lastVerification.report} (finished ${r.lastVerification.finishedAt ?? '?'}, RPO ${r.lastVerification.rpoSeconds ?? '?'} s)`,
    );
  else if (!r.sourceReachable) lines.push('last verification: none found in the reports location');
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.reportKey) lines.push(`report: ${r.reportKey}`);
  lines.push('', formatSteps(r.steps));
  const link = webUiLink(config, r.workflowId);
  if (link) lines.push('', `Web UI: ${link}`);
  return lines.join('\n');
}

function replicaCommands(program: Command): void {
  const replica = program.command('replica').description('replicas of protected buckets');
  replicaStatusCommand(replica);
  replica
    .command('verify')
    .description(
      'compare a replica with its source key by key: missing, stale, extra, diverged, pending; RPO estimate (workflow verifyReplica). Exit 1 when they differ or the source is unreachable',
    )
    .requiredOption('--bucket <bucket>', 'the source bucket')
    .option('--source-region <name>', 'region profile of the source', 'primary')
    .option(
      '--replica-region <name>',
      "region profile of the replica (default: the bucket's replica under protectedBuckets in the configuration)",
    )
    .option('--replica-bucket <bucket>', 'the replica bucket (default: the same name)')
    .option('--prefix <prefix>', 'only keys under this prefix', '')
    .addOption(
      new Option('--deep <mode>', 'also compare bytes (sha256) of keys in sync').choices(['sample', 'all']),
    )
    .option('--sample-rate <fraction>', 'with --deep sample: the fraction of keys hashed (default 0.01)')
    .option('--examples <n>', 'keys shown per class', '20')
    .option(
      '--no-compare-version-ids',
      'compare by ETag and size (a replica that is a copy, not CRR or multisite)',
    )
    .option('--page-size <n>', 'versions per listing request (1-1000)', '1000')
    .option('--detach', 'start the workflow and print its id without waiting')
    .option('--reason <text>', 'why this is run (kept in the report)')
    .option('--id <workflowId>', 'workflow id (default: derived from the pair, prefix and minute)')
    .action(async (opts: ReplicaVerifyOptions, cmd: Command) => {
      const { json } = cmd.optsWithGlobals<GlobalOptions>();
      const config = configOf(cmd);
      // A protected bucket of the configuration names its replica.
      const configured = Object.values(config.protectedBuckets).find(
        (p) => p.region === opts.sourceRegion && p.bucket === opts.bucket,
      )?.replica;
      const replicaRegion = opts.replicaRegion ?? configured?.region;
      if (replicaRegion === undefined)
        throw new UsageError(
          `--replica-region is needed: ${opts.sourceRegion}/${opts.bucket} has no replica under protectedBuckets in the configuration`,
        );
      const replicaBucket =
        opts.replicaBucket ?? (opts.replicaRegion === undefined ? configured?.bucket : undefined);
      for (const region of [opts.sourceRegion, replicaRegion]) {
        if (!Object.hasOwn(config.regions, region))
          throw new UsageError(
            `region "${region}" is not in the configuration (known: ${Object.keys(config.regions).join(', ')})`,
          );
      }
      const sampleRate = opts.sampleRate !== undefined ? Number(opts.sampleRate) : undefined;
      if (sampleRate !== undefined && Number.isNaN(sampleRate))
        throw new UsageError(`--sample-rate expects a fraction such as 0.05, got "${opts.sampleRate}"`);
      const input = {
        source: { region: opts.sourceRegion, bucket: opts.bucket },
        replica: { region: replicaRegion, bucket: replicaBucket },
        prefix: opts.prefix,
        deepCheck: (opts.deep ?? 'none') as 'none' | 'sample' | 'all',
        sampleRate,
        examplesPerClass: intOption('examples', opts.examples),
        compareVersionIds: opts.compareVersionIds,
        pageSize: intOption('page-size', opts.pageSize),
        reason: opts.reason,
      };
      validateVerifyReplica(input);
      const client = await connectToStart(config);
      const { handle, attached } = await startVerifyReplica(client, config, input, opts.id);
      const link = webUiLink(config, handle.workflowId);
      note(
        `${attached ? 'following the run already in progress' : 'started'} ${handle.workflowId}${link ? `\n  ${link}` : ''}`,
      );
      if (opts.detach) {
        out(json, { workflowId: handle.workflowId, webUi: link }, () => handle.workflowId);
        return;
      }
      const result = (await handle.result()) as VerifyReplicaResult;
      out(json, result, () => summarizeVerification(result, config));
      if (!result.inSync) process.exitCode = EXIT_DIFFERENCES;
    });
}

function parseJsonArg(text: string): unknown {
  const raw = text.startsWith('@') ? readFileSync(resolve(text.slice(1)), 'utf8') : text;
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new UsageError(`the input is not valid JSON: ${(err as Error).message}`);
  }
}

export function buildProgram(): Command {
  const program = new Command('lifeboat')
    .description('Disaster recovery for S3, run as durable Temporal workflows')
    .option('--config <path>', 'configuration file (default: $LIFEBOAT_CONFIG, else the local stack)')
    .option('--json', 'machine-readable output on stdout')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('worker')
    .description('run a worker with every workflow and activity (until SIGINT/SIGTERM)')
    .action(async (_opts: unknown, cmd: Command) => {
      const { runWorker } = await import('../worker/main');
      await runWorker(cmd.optsWithGlobals<GlobalOptions>().config);
    });

  program
    .command('versions')
    .description('list the versions and delete markers of a key, newest first')
    .argument('<bucket>')
    .argument('<key>')
    .option('--region <name>', 'region profile of the bucket', 'primary')
    .action(async (bucket: string, key: string, opts: { region: string }, cmd: Command) => {
      const { json } = cmd.optsWithGlobals<GlobalOptions>();
      const config = configOf(cmd);
      const entries = await listKeyVersions(s3Of(config, opts.region), bucket, key);
      if (entries.length === 0 && !json) note(`no versions of "${key}" in ${opts.region}/${bucket}`);
      out(json, entries, () =>
        table(
          ['VERSION ID', 'CURRENT', 'KIND', 'LAST MODIFIED', 'SIZE', 'ETAG'],
          entries.map((e) => [
            e.versionId,
            e.isLatest ? 'yes' : '',
            e.isDeleteMarker ? 'delete marker' : 'version',
            e.lastModified,
            e.isDeleteMarker ? '' : formatBytes(e.size),
            e.etag,
          ]),
        ),
      );
    });

  recoverCommand(program);
  bulkCommands(program);
  regionCommands(program);
  replicaCommands(program);
  safetyCommands(program);

  program
    .command('run')
    .description('start any workflow with one JSON object, exactly as from the Web UI')
    .argument('<workflowType>', 'e.g. versionRecovery')
    .argument('<input>', 'the JSON input, or @file.json')
    .requiredOption('--id <workflowId>', 'workflow id')
    .option('--detach', 'do not wait for the result')
    .action(async (type: string, text: string, opts: { id: string; detach?: boolean }, cmd: Command) => {
      const { json } = cmd.optsWithGlobals<GlobalOptions>();
      const config = configOf(cmd);
      const input = parseJsonArg(text);
      if (type === 'versionRecovery') validateVersionRecovery(input);
      if (type === 'pointInTimeRestore') validatePointInTimeRestore(input);
      if (type === 'bulkCopy') validateBulkCopy(input);
      if (type === 'regionFailover' || type === 'regionFailback') {
        const schema = type === 'regionFailover' ? RegionFailoverInput : RegionFailbackInput;
        const parsed = parseInput(schema, input, type);
        if (!parsed.ok) throw new UsageError(parsed.message);
      }
      if (type === 'verifyReplica') validateVerifyReplica(input);
      if (type === 'undoRestore') validateUndoRestore(input);
      const client = await connect(config);
      const handle = await startWorkflow(client, config, type, opts.id, input);
      note(`started ${handle.workflowId}`);
      if (opts.detach) return out(json, { workflowId: handle.workflowId }, () => handle.workflowId);
      const result: unknown = await handle.result();
      out(json, result, () => JSON.stringify(result, null, 2));
    });

  program
    .command('status')
    .description('show a run: its status and step log')
    .argument('<workflowId>')
    .action(async (workflowId: string, _opts: unknown, cmd: Command) => {
      const { json } = cmd.optsWithGlobals<GlobalOptions>();
      const config = configOf(cmd);
      const client = await connect(config);
      const status = await runStatus(client, workflowId);
      out(json, status, () =>
        [
          `${status.workflowType} ${status.workflowId}: ${status.status} (started ${status.startTime}${status.closeTime ? `, closed ${status.closeTime}` : ''})`,
          status.failure ? `failure: ${status.failure.type ?? ''} ${status.failure.message}` : '',
          status.progress && status.status === 'RUNNING' ? formatProgress(status.progress) : '',
          status.undoProgress ? formatUndoProgress(status.undoProgress) : '',
          `\n${status.steps.length > 0 ? formatSteps(status.steps) : '(no steps recorded yet)'}`,
          webUiLink(config, workflowId) ? `\nWeb UI: ${webUiLink(config, workflowId)}` : '',
        ]
          .filter((l) => l !== '')
          .join('\n'),
      );
      if (status.status === 'FAILED' || status.status === 'TERMINATED' || status.status === 'TIMED_OUT') {
        process.exitCode = EXIT_FAILED;
      }
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code?.startsWith('commander.')) {
      // Help and version exit 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      note(`lifeboat: ${err.message}`);
      return EXIT_USAGE;
    }
    const failure = describeFailure(err);
    const { json } = program.opts<GlobalOptions>();
    if (json) process.stdout.write(`${JSON.stringify({ error: failure }, null, 2)}\n`);
    note(`lifeboat: ${failure.type ? `${failure.type}: ` : ''}${failure.message}`);
    return EXIT_FAILED;
  }
}

if (require.main === module) {
  main(process.argv).then(
    (code) => process.exit(code),
    (err: Error) => {
      note(`lifeboat: ${err.message}`);
      process.exit(EXIT_FAILED);
    },
  );
}
