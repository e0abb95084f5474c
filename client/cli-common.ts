// What every command module of the CLI shares: global options, output, exit codes, clients.
import { Command } from 'commander';
import { LifeboatConfig } from '../core/config';
import { createS3Client } from '../worker/clients';
import { loadConfig } from '../worker/config';
import { connect, hasWorker, UsageError } from './lifeboat';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

export const EXIT_FAILED = 1;
/** verifyReplica found differences, or could not read the source: like diff(1), 1 means "not the same". */
export const EXIT_DIFFERENCES = 1;
export const EXIT_USAGE = 2;

export function out(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A client to start a workflow with; warns (and goes on) when no worker polls the task queue. */
export async function connectToStart(config: LifeboatConfig) {
  const client = await connect(config);
  if (!(await hasWorker(client, config))) {
    note(
      `warning: no worker polls task queue "${config.temporal.taskQueue}": start one with "lifeboat worker" (or npm run worker)`,
    );
  }
  return client;
}

export function configOf(cmd: Command): LifeboatConfig {
  return loadConfig(cmd.optsWithGlobals<GlobalOptions>().config);
}

export function s3Of(config: LifeboatConfig, region: string) {
  const profile = config.regions[region];
  if (!profile) {
    throw new UsageError(
      `region "${region}" is not in the configuration (known: ${Object.keys(config.regions).join(', ')})`,
    );
  }
  return createS3Client(region, profile);
}

export function intOption(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} expects a whole number, got "${value}"`);
  return n;
}
