// The CLI's side of safety: `lifeboat locks` (leases held per bucket, and breaking one with a reason),
// `lifeboat gate|approve|reject` for any job stopped at its gate, and the question asked on a terminal
// when a job the CLI follows stops at its blast-radius gate.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { Command } from 'commander';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { BlastRadiusGate } from '../core/gate';
import { describeRange, LOCK_QUERY, LOCK_UPDATES, LOCK_WORKFLOW_TYPE, lockWorkflowId } from '../core/leases';
import { loadConfig } from '../worker/config';
import type { BucketLockState } from '../workflows/bucket-lock';
import { table } from './format';
import { GlobalOptions, out } from './cli-common';
import { connect, UsageError } from './lifeboat';

/** Who decides, as recorded in the job's history: the operator's login, marked as the CLI. */
export function operator(by?: string): string {
  if (by) return by;
  try {
    return `${process.env.USER ?? userInfo().username} (lifeboat CLI)`;
  } catch {
    return 'lifeboat CLI';
  }
}

/** The lock workflows running now (one per bucket with a lease held, waited for, or lately released). */
export async function runningLocks(client: Client, filter: { region?: string; bucket?: string }) {
  const locks: BucketLockState[] = [];
  for await (const w of client.workflow.list({
    query: `WorkflowType = '${LOCK_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
  })) {
    if (filter.region && filter.bucket && w.workflowId !== lockWorkflowId(filter.region, filter.bucket))
      continue;
    const state = await client.workflow
      .getHandle(w.workflowId)
      .query<BucketLockState>(LOCK_QUERY)
      .catch(() => undefined);
    if (!state) continue;
    if (filter.region && state.region !== filter.region) continue;
    if (filter.bucket && state.bucket !== filter.bucket) continue;
    locks.push(state);
  }
  return locks.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}

export function formatGate(id: string, gate: BlastRadiusGate): string {
  const r = gate.radius;
  const lines = [
    gate.waiting
      ? `${id} is stopped at its blast-radius gate (until ${gate.deadline}):`
      : `${id}: ${gate.decision ? (gate.decision.approved ? 'approved' : 'rejected') : 'not waiting at its gate'}`,
  ];
  for (const reason of gate.assessment?.reasons ?? []) lines.push(`  - ${reason}`);
  if (r) {
    lines.push(
      `  ${r.keysInScope} keys in scope: ${r.deletes} deleted, ${r.overwrites} overwritten, ${r.creates} brought back or created`,
    );
    if (r.firstDeletes.length) lines.push(`  first deleted:     ${r.firstDeletes.join(', ')}`);
    if (r.firstOverwrites.length) lines.push(`  first overwritten: ${r.firstOverwrites.join(', ')}`);
  }
  return lines.join('\n');
}

/**
 * A job the CLI follows stopped at its gate: on a terminal, ask; otherwise reject it (nothing has been
 * written) and say how to go on. `--yes` never gets here: it starts the job with autoApprove.
 */
export async function askAtGate(handle: WorkflowHandle): Promise<void> {
  const gate = await handle.query<BlastRadiusGate>('gate').catch(() => undefined);
  if (!gate?.waiting) return;
  process.stderr.write(`\n${formatGate(handle.workflowId, gate)}\n`);
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    process.stderr.write(
      'no terminal to ask and --yes not given: rejecting (nothing was written). Rerun with --yes to approve, or with --detach and then "lifeboat approve <id>"\n',
    );
    await handle.executeUpdate('reject', {
      args: [{ by: operator(), comment: 'no terminal to ask and --yes not given' }],
    });
    return;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = (
    await rl.question('Go on with this plan? Type "yes" to approve, anything else rejects: ')
  ).trim();
  rl.close();
  const approved = answer.toLowerCase() === 'yes';
  await handle.executeUpdate(approved ? 'approve' : 'reject', {
    args: [
      {
        by: operator(),
        comment: approved ? 'approved at the terminal' : `answered "${answer}" at the terminal`,
      },
    ],
  });
}

export function safetyCommands(program: Command): void {
  const locks = program
    .command('locks')
    .description('leases held on bucket ranges: holder, range, since, expiry, and the jobs waiting')
    .option('--region <name>', 'only this region profile')
    .option('--bucket <bucket>', 'only this bucket')
    .action(async (o: { region?: string; bucket?: string }, cmd: Command) => {
      const { json, config } = cmd.optsWithGlobals<GlobalOptions>();
      const client = await connect(loadConfig(config));
      const found = await runningLocks(client, o);
      out(json, found, () => {
        if (found.length === 0) return 'no leases held';
        const rows = found.flatMap((l) => [
          ...l.leases.map((x) => [
            `${l.region}/${l.bucket}`,
            describeRange(x.range),
            x.holder,
            x.procedure,
            x.since,
            x.expiresAt,
          ]),
          ...l.waiters.map((w) => [
            `${l.region}/${l.bucket}`,
            describeRange(w.range),
            w.holder,
            `${w.procedure} (waiting)`,
            w.since,
            '',
          ]),
        ]);
        return rows.length
          ? table(['BUCKET', 'RANGE', 'HOLDER', 'PROCEDURE', 'SINCE', 'EXPIRES UNLESS RENEWED'], rows)
          : 'no leases held';
      });
    });
  locks
    .command('break')
    .description(
      "take a lease away from its holder (the holder stops before its next write); the reason is recorded in the lock's history",
    )
    .argument('<bucket>')
    .argument('<holder>', 'the workflow id holding the lease (see lifeboat locks)')
    .requiredOption('--reason <text>', 'why: kept in the lock workflow history')
    .option('--region <name>', 'region profile of the bucket', 'primary')
    .option('--by <name>', 'who breaks it (default: $USER)')
    .action(
      async (
        bucket: string,
        holder: string,
        o: { reason: string; region: string; by?: string },
        cmd: Command,
      ) => {
        const { json, config } = cmd.optsWithGlobals<GlobalOptions>();
        if (o.reason.trim() === '') throw new UsageError('--reason must say why the lease is broken');
        const client = await connect(loadConfig(config));
        const handle = client.workflow.getHandle(lockWorkflowId(o.region, bucket));
        let state: BucketLockState;
        try {
          state = await handle.query<BucketLockState>(LOCK_QUERY);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError)
            throw new UsageError(`no lease is held on ${o.region}/${bucket}`);
          throw err;
        }
        if (!state.leases.some((l) => l.holder === holder))
          throw new UsageError(
            `${holder} holds no lease on ${o.region}/${bucket} (held by: ${state.leases.map((l) => l.holder).join(', ') || 'nobody'})`,
          );
        const broken = await handle.executeUpdate(LOCK_UPDATES.break, {
          args: [{ holder, by: operator(o.by), reason: o.reason }],
        });
        out(
          json,
          broken,
          () =>
            `broke the lease of ${holder} on ${describeRange(state.leases.find((l) => l.holder === holder)!.range)} of ${o.region}/${bucket}`,
        );
      },
    );

  program
    .command('gate')
    .description(
      "show what a job stopped at its gate waits for: the plan's counts and first keys, or a failover's readiness",
    )
    .argument('<workflowId>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { json, config } = cmd.optsWithGlobals<GlobalOptions>();
      const client = await connect(loadConfig(config));
      const gate = await client.workflow
        .getHandle(id)
        .query<BlastRadiusGate & { readiness?: { findings: string[] } }>('gate');
      out(json, gate, () =>
        gate.readiness
          ? [
              gate.waiting ? `waiting for approval until ${gate.deadline}` : 'not waiting',
              ...gate.readiness.findings.map((f) => `  - ${f}`),
            ].join('\n')
          : formatGate(id, gate),
      );
    });
  for (const [verb, approved] of [
    ['approve', true],
    ['reject', false],
  ] as const) {
    program
      .command(verb)
      .description(`${verb} a job (restore, copy, undo, failover) waiting at its gate`)
      .argument('<workflowId>')
      .option('--by <name>', 'who decides (default: $USER)')
      .option('--comment <text>', 'why')
      .action(async (id: string, o: { by?: string; comment?: string }, cmd: Command) => {
        const { json, config } = cmd.optsWithGlobals<GlobalOptions>();
        const client = await connect(loadConfig(config));
        const handle = client.workflow.getHandle(id);
        const status = await handle.describe().then(
          (d) => d.status.name,
          (err: unknown) => {
            if (err instanceof WorkflowNotFoundError) throw new UsageError(`no workflow with id ${id}`);
            throw err;
          },
        );
        if (status !== 'RUNNING')
          throw new UsageError(`${id} is not running (${status}): there is nothing to ${verb}`);
        const gate = await handle.query<BlastRadiusGate>('gate').catch(() => undefined);
        if (!gate?.waiting)
          throw new UsageError(`${id} is not waiting at a gate${gate?.decision ? ' (already decided)' : ''}`);
        const state = await handle.executeUpdate(verb, {
          args: [{ by: operator(o.by), comment: o.comment }],
        });
        out(json, state, () => `${approved ? 'approved' : 'rejected'}: ${id}`);
      });
  }
}
