#!/usr/bin/env node
// The `lifeboat` CLI: start recoveries, follow their step logs, list versions, run the worker.
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RegionFailbackInput, RegionFailoverInput } from '../core/failover';
import { parseInput } from '../core/validate';
import { listKeyVersions } from '../activities/s3/versions';
import { ConfigError } from '../worker/config';
import { bulkCommands, formatProgress, formatUndoProgress } from './bulk-commands';
import { configOf, EXIT_FAILED, EXIT_USAGE, GlobalOptions, note, out, s3Of } from './cli-common';
import { formatBytes, formatSteps, table } from './format';
import {
  connect,
  describeFailure,
  runStatus,
  startWorkflow,
  UsageError,
  validateBulkCopy,
  validatePointInTimeRestore,
  validateUndoRestore,
  validateVerifyReplica,
  validateVersionRecovery,
  webUiLink,
} from './lifeboat';
import { recoverCommand } from './recover-commands';
import { regionCommands } from './region-commands';
import { replicaCommands } from './replica-commands';
import { safetyCommands } from './safety-commands';

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
