// `lifeboat failover`, `lifeboat failback` and the approval gate: cross-region recovery from the CLI.
import { Command } from 'commander';
import { DEFAULT_RECORD_KEY, RegionFailbackInput, RegionFailoverInput } from '../core/failover';
import { failbackWorkflowId, failoverWorkflowId } from '../core/ids';
import { parseInput } from '../core/validate';
import { loadConfig } from '../worker/config';
import type { RegionFailbackResult } from '../workflows/region-failback';
import { approveUpdate, gateQuery, RegionFailoverResult, rejectUpdate } from '../workflows/region-failover';
import { formatSteps, table } from './format';
import { createFailoverActivities } from '../activities/failover';
import type { BucketPair, ReplicationLag, ReplicationState } from '../core/replication';
import { createS3Clients } from '../worker/clients';
import { createReplicationProviders } from '../worker/replication';
import { GlobalOptions, out } from './cli-common';
import { connect, hasWorker, startWorkflow, UsageError, webUiLink } from './lifeboat';

interface PairOptions {
  region: string;
  replicaRegion: string;
  replicaBucket?: string;
  webhook?: string;
  reason?: string;
  detach?: boolean;
  id?: string;
}

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} expects a whole number, got "${value}"`);
  return n;
}

function validate<T>(schema: Parameters<typeof parseInput>[0], input: T, what: string): T {
  const parsed = parseInput(schema, input, what);
  if (!parsed.ok) throw new UsageError(parsed.message);
  return input;
}

export function summarizeFailover(r: RegionFailoverResult): string {
  const src = `${r.pair.source.region}/${r.pair.source.bucket}`;
  const rep = `${r.pair.replica.region}/${r.pair.replica.bucket}`;
  const lines = [
    r.dryRun
      ? `Dry run: failover of ${src} to ${rep} assessed, nothing switched`
      : `Failed over: ${src} -> ${rep} is now the active side`,
    `  source ${r.source.healthy ? 'answers' : `does not answer (${r.source.error ?? ''})`}`,
    `  verification: ${r.verification?.detail ?? 'none'}`,
    `  RPO estimate: ${r.rpoSeconds === null ? 'unknown' : `${r.rpoSeconds.toFixed(1)} s`}`,
    ...r.readiness.findings.map((f) => `  - ${f}`),
  ];
  if (!r.dryRun) {
    lines.push(
      `  approval: ${r.approval?.auto ? 'automatic' : `${r.approval?.by ?? 'operator'} after ${r.approval?.waitedSeconds.toFixed(0)} s`}`,
      `  RTO: ${r.rtoSeconds?.toFixed(1)} s (${r.rtoWithoutApprovalSeconds?.toFixed(1)} s without the wait for approval)`,
      `  replication now: ${r.reverseReplication ?? 'unchanged'}`,
    );
  }
  lines.push('', formatSteps(r.steps));
  return lines.join('\n');
}

export function summarizeFailback(r: RegionFailbackResult): string {
  const src = `${r.pair.source.region}/${r.pair.source.bucket}`;
  return [
    `Failed back: ${src} is the active side again`,
    `  waited ${r.waitedSeconds.toFixed(0)} s for it (${r.probes} probes)`,
    `  platform catch-up: ${r.catchUp.caughtUp ? 'caught up' : 'not caught up'} in ${r.catchUp.seconds.toFixed(0)} s`,
    r.transfer
      ? `  bulk transfer: ${r.transfer.copied} copied, ${r.transfer.deleted} delete markers, ${r.transfer.failed} failed (${r.transfer.workflowId})`
      : '  bulk transfer: not needed',
    `  verification: ${r.verification.detail}`,
    `  failback took ${r.failbackSeconds.toFixed(1)} s from the source answering; replication ${r.replication ?? ''}`,
    '',
    formatSteps(r.steps),
  ].join('\n');
}

export function regionCommands(program: Command): void {
  const pairOf = (bucket: string, o: PairOptions) => ({
    source: { region: o.region, bucket },
    replica: { region: o.replicaRegion, bucket: o.replicaBucket ?? bucket },
  });

  const failover = program
    .command('failover')
    .description('fail a protected bucket over to its replica region (workflow regionFailover)');
  failover
    .command('start', { isDefault: true })
    .description('probe, verify the replica, wait for approval, switch direct access, reverse replication')
    .argument('<bucket>')
    .option('--region <name>', 'region profile of the protected bucket (the one that is down)', 'primary')
    .option('--replica-region <name>', 'region profile of the replica', 'secondary')
    .option('--replica-bucket <bucket>', 'replica bucket (default: the same name)')
    .option('--auto-approve', 'do not wait for an operator (drills)')
    .option('--approval-timeout <seconds>', 'how long to wait for approve/reject', '3600')
    .option('--probe-timeout <seconds>', 'how long a health probe waits', '10')
    .option('--rpo-objective <seconds>', 'show whether the measured RPO is within this objective')
    .option('--no-reverse-replication', 'do not set up replica -> source replication')
    .option('--webhook <url>', 'POST the switch as JSON to this URL')
    .option('--dry-run', 'probe, verify and assess only: nothing is asked or switched')
    .option('--reason <text>', 'why (kept in the record and the history)')
    .option('--detach', 'start and print the workflow id without waiting')
    .option('--id <workflowId>', 'workflow id (default: failover/<region>/<bucket>)')
    .action(
      async (
        bucket: string,
        o: PairOptions & {
          autoApprove?: boolean;
          approvalTimeout: string;
          probeTimeout: string;
          rpoObjective?: string;
          reverseReplication: boolean;
          dryRun?: boolean;
        },
        cmd: Command,
      ) => {
        const { json, config: path } = cmd.optsWithGlobals<GlobalOptions>();
        const config = loadConfig(path);
        const input: RegionFailoverInput = validate(
          RegionFailoverInput,
          {
            ...pairOf(bucket, o),
            dryRun: o.dryRun ?? false,
            autoApprove: o.autoApprove ?? false,
            approvalTimeoutSeconds: int('approval-timeout', o.approvalTimeout),
            probeTimeoutSeconds: int('probe-timeout', o.probeTimeout),
            rpoObjectiveSeconds: int('rpo-objective', o.rpoObjective),
            reverseReplication: o.reverseReplication,
            webhookUrl: o.webhook,
            reason: o.reason,
          },
          'regionFailover',
        );
        const client = await connect(config);
        if (!(await hasWorker(client, config)))
          process.stderr.write(`warning: no worker polls task queue "${config.temporal.taskQueue}"\n`);
        const id = o.id ?? failoverWorkflowId({ source: input.source, dryRun: o.dryRun });
        const handle = await startWorkflow(client, config, 'regionFailover', id, input);
        const link = webUiLink(config, id);
        process.stderr.write(
          `started ${id}${link ? `\n  ${link}` : ''}${input.autoApprove || input.dryRun ? '' : `\n  approve: lifeboat failover approve ${id}\n  reject:  lifeboat failover reject ${id} --comment <why>`}\n`,
        );
        if (o.detach) return out(json, { workflowId: id, webUi: link }, () => id);
        const result = (await handle.result()) as RegionFailoverResult;
        out(json, result, () => summarizeFailover(result));
      },
    );

  const decide =
    (approved: boolean) => async (id: string, o: { by?: string; comment?: string }, cmd: Command) => {
      const { json, config: path } = cmd.optsWithGlobals<GlobalOptions>();
      const client = await connect(loadConfig(path));
      const handle = client.workflow.getHandle(id);
      const gate = await handle.query(gateQuery).catch(() => undefined);
      if (!gate?.waiting)
        throw new UsageError(
          `${id} is not waiting for approval${gate?.decision ? ' (already decided)' : ''}`,
        );
      const state = await handle.executeUpdate(approved ? approveUpdate : rejectUpdate, {
        args: [{ by: o.by ?? process.env.USER, comment: o.comment }],
      });
      out(json, state, () => `${approved ? 'approved' : 'rejected'}: ${id}`);
    };
  for (const [verb, approved] of [
    ['approve', true],
    ['reject', false],
  ] as const) {
    failover
      .command(verb)
      .description(`${verb} a failover waiting at its gate`)
      .argument('<workflowId>')
      .option('--by <name>', 'who decides (default: $USER)')
      .option('--comment <text>', 'why')
      .action(decide(approved));
  }
  failover
    .command('gate')
    .description('show what a failover waits for: readiness findings, deadline')
    .argument('<workflowId>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { json, config: path } = cmd.optsWithGlobals<GlobalOptions>();
      const client = await connect(loadConfig(path));
      const gate = await client.workflow.getHandle(id).query(gateQuery);
      out(json, gate, () =>
        [
          gate.waiting ? `waiting for approval until ${gate.deadline}` : 'not waiting',
          ...(gate.readiness?.findings ?? []).map((f) => `  - ${f}`),
        ].join('\n'),
      );
    });

  program
    .command('failback')
    .description(
      'bring a failed-over bucket home (workflow regionFailback): wait, catch up, verify, switch back',
    )
    .argument('<bucket>')
    .option('--region <name>', 'region profile of the bucket coming back', 'primary')
    .option('--replica-region <name>', 'region profile that served during the outage', 'secondary')
    .option('--replica-bucket <bucket>', 'replica bucket (default: the same name)')
    .option('--probe-interval <seconds>', 'seconds between health probes while waiting', '60')
    .option('--max-wait <seconds>', 'give up waiting after this long', String(7 * 24 * 3600))
    .option('--catch-up-timeout <seconds>', "how long the platform's own catch-up may take", '900')
    .option('--webhook <url>', 'POST the switch back as JSON to this URL')
    .option('--reason <text>', 'why')
    .option('--detach', 'start and print the workflow id without waiting')
    .option('--id <workflowId>', 'workflow id (default: failback/<region>/<bucket>)')
    .action(
      async (
        bucket: string,
        o: PairOptions & { probeInterval: string; maxWait: string; catchUpTimeout: string },
        cmd: Command,
      ) => {
        const { json, config: path } = cmd.optsWithGlobals<GlobalOptions>();
        const config = loadConfig(path);
        const input: RegionFailbackInput = validate(
          RegionFailbackInput,
          {
            ...pairOf(bucket, o),
            probeIntervalSeconds: int('probe-interval', o.probeInterval),
            maxWaitSeconds: int('max-wait', o.maxWait),
            catchUpTimeoutSeconds: int('catch-up-timeout', o.catchUpTimeout),
            webhookUrl: o.webhook,
            reason: o.reason,
          },
          'regionFailback',
        );
        const client = await connect(config);
        const id = o.id ?? failbackWorkflowId({ source: input.source });
        const handle = await startWorkflow(client, config, 'regionFailback', id, input);
        const link = webUiLink(config, id);
        process.stderr.write(`started ${id}${link ? `\n  ${link}` : ''}\n`);
        if (o.detach) return out(json, { workflowId: id, webUi: link }, () => id);
        const result = (await handle.result()) as RegionFailbackResult;
        out(json, result, () => summarizeFailback(result));
      },
    );
}

interface StatusRow {
  pair: BucketPair;
  active?: string;
  activeSince?: string;
  state?: ReplicationState;
  lag?: ReplicationLag;
  errors: string[];
}

/** `lifeboat replica status`: replication set-up, lag, backlog and the active side of each pair. */
export function replicaStatusCommand(replica: Command): void {
  replica
    .command('status')
    .description(
      'replication direction, lag, backlog and failures, and the active side, of each protected bucket (or of --bucket)',
    )
    .option('--bucket <bucket>', 'one bucket instead of every protected bucket of the configuration')
    .option('--source-region <name>', 'region profile of --bucket', 'primary')
    .option('--replica-region <name>', 'region profile of its replica', 'secondary')
    .option('--replica-bucket <bucket>', 'the replica bucket (default: the same name)')
    .action(
      async (
        o: { bucket?: string; sourceRegion: string; replicaRegion: string; replicaBucket?: string },
        cmd: Command,
      ) => {
        const { json, config: path } = cmd.optsWithGlobals<GlobalOptions>();
        const config = loadConfig(path);
        const pairs: BucketPair[] = o.bucket
          ? [
              {
                source: { region: o.sourceRegion, bucket: o.bucket },
                replica: { region: o.replicaRegion, bucket: o.replicaBucket ?? o.bucket },
              },
            ]
          : Object.values(config.protectedBuckets).flatMap((p) =>
              p.replica ? [{ source: { region: p.region, bucket: p.bucket }, replica: p.replica }] : [],
            );
        if (pairs.length === 0)
          throw new UsageError(
            'no protected bucket with a replica in the configuration: pass --bucket (and --replica-region)',
          );
        for (const p of pairs)
          for (const r of [p.source.region, p.replica.region])
            if (!Object.hasOwn(config.regions, r))
              throw new UsageError(
                `region "${r}" is not in the configuration (known: ${Object.keys(config.regions).join(', ')})`,
              );
        const s3 = createS3Clients(config);
        const providers = createReplicationProviders(config, s3);
        const failover = createFailoverActivities({ s3 });
        const rows: StatusRow[] = [];
        for (const pair of pairs) {
          const row: StatusRow = { pair, errors: [] };
          const provider = providers[pair.source.region];
          const record = await failover.readActiveRegion({
            sides: [pair.source, pair.replica],
            recordKey: DEFAULT_RECORD_KEY,
            timeoutSeconds: 5,
          });
          row.active = record ? `${record.active.region}/${record.active.bucket}` : undefined;
          row.activeSince = record?.since;
          if (!provider) row.errors.push(`no replication provider for region ${pair.source.region}`);
          else {
            await provider.describe(pair).then(
              (s) => (row.state = s),
              (e: Error) => row.errors.push(`describe: ${e.message}`),
            );
            await provider.lag(pair).then(
              (l) => (row.lag = l),
              (e: Error) => row.errors.push(`lag: ${e.message}`),
            );
          }
          rows.push(row);
        }
        for (const c of Object.values(s3)) c.destroy();
        const n = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));
        out(json, rows, () =>
          [
            table(
              [
                'SOURCE',
                'REPLICA',
                'ACTIVE',
                'DIRECTION',
                'CAUGHT UP',
                'LAG S',
                'PENDING OPS',
                'PENDING BYTES',
                'FAILED OPS',
              ],
              rows.map((r) => [
                `${r.pair.source.region}/${r.pair.source.bucket}`,
                `${r.pair.replica.region}/${r.pair.replica.bucket}`,
                r.active ?? '(no record: source)',
                r.state?.direction ?? '?',
                r.lag ? (r.lag.caughtUp ? 'yes' : 'no') : '?',
                n(r.lag?.lagSeconds),
                n(r.lag?.pendingOperations),
                n(r.lag?.pendingBytes),
                n(r.lag?.failedOperations),
              ]),
            ),
            ...rows.flatMap((r) => [
              ...(r.lag ? [`  ${r.pair.source.bucket}: ${r.lag.detail}`] : []),
              ...(r.state?.notes ?? []).map((x) => `  ${r.pair.source.bucket}: ${x}`),
              ...r.errors.map((e) => `  ${r.pair.source.bucket}: ${e}`),
            ]),
          ].join('\n'),
        );
        if (rows.some((r) => r.errors.length > 0)) process.exitCode = 1;
      },
    );
}
