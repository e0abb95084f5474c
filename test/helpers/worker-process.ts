// A `lifeboat worker` in a process of its own, on a task queue of the test's own: killable for real.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { config } from './s3';

export const CLI = join(__dirname, '../../dist/client/cli.js');

/** Writes a YAML configuration for the local stack with its own task queue; returns its path. */
export function writeTestConfig(taskQueue: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-test-'));
  const path = join(dir, 'lifeboat.yaml');
  writeFileSync(
    path,
    stringify({
      temporal: { ...config.temporal, taskQueue },
      regions: config.regions,
      reports: config.reports,
    }),
  );
  return path;
}

export class WorkerProcess {
  private child?: ChildProcess;
  log = '';

  constructor(private readonly configPath: string) {}

  async start(): Promise<void> {
    const child = spawn(process.execPath, [CLI, '--config', this.configPath, 'worker'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    this.child = child;
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 60_000;
    while (!out.includes('RUNNING')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`worker did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    this.log = out;
  }

  /** SIGKILL: no graceful shutdown, in-flight activities are simply lost. */
  /** Gone already: exited, or killed by a signal (exitCode stays null then). */
  private get ended(): boolean {
    return !this.child || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || this.ended) return;
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || this.ended) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    return exited;
  }
}
