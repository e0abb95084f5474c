// `lifeboat replica verify` (workflow verifyReplica) and `lifeboat replica status`.
import { Command, Option } from 'commander';
import { LifeboatConfig } from '../core/config';
import {
  configOf,
  connectToStart,
  EXIT_DIFFERENCES,
  GlobalOptions,
  intOption,
  note,
  out,
} from './cli-common';
import { formatBytes, formatSteps, table } from './format';
import {
  startVerifyReplica,
  UsageError,
  validateVerifyReplica,
  VerifyReplicaResult,
  webUiLink,
} from './lifeboat';
import { replicaStatusCommand } from './region-commands';

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

export function replicaCommands(program: Command): void {
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
