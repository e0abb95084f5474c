// `lifeboat recover copy|undelete|download`: version recovery from the CLI (workflow versionRecovery).
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { LifeboatConfig } from '../core/config';
import { VersionRecoveryInput } from '../core/version-recovery';
import { configOf, connectToStart, GlobalOptions, note, out, s3Of } from './cli-common';
import { downloadVersion, presignVersion } from './download';
import { formatBytes, formatSteps, table } from './format';
import {
  startVersionRecovery,
  UsageError,
  validateVersionRecovery,
  VersionRecoveryResult,
  webUiLink,
} from './lifeboat';

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

export function recoverCommand(program: Command): void {
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
