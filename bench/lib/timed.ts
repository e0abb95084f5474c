// Runs a tool as a child process under GNU time: wall time, user and system CPU, peak RSS, exit code,
// and its output (a line count and the tail, for the verification and for error messages).
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface TimedRun {
  wallSeconds: number;
  userSeconds: number;
  sysSeconds: number;
  peakRssKb: number;
  code: number | null;
  stdoutLines: number;
  tail: string;
}

const TAIL_CHARS = 4000;

export async function timed(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; tmpDir: string },
): Promise<TimedRun> {
  const timeFile = join(options.tmpDir, `time-${process.hrtime.bigint()}.txt`);
  const started = process.hrtime.bigint();
  const child = spawn('/usr/bin/time', ['-o', timeFile, '-f', '%U %S %M', command, ...args], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdoutLines = 0;
  let tail = '';
  const keep = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-TAIL_CHARS);
  };
  child.stdout.on('data', (d: Buffer) => {
    for (const byte of d) if (byte === 10) stdoutLines += 1;
    keep(d);
  });
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c));
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  // GNU time writes "Command exited with non-zero status N" first when the tool failed.
  const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
  rmSync(timeFile, { force: true });
  const [user, sys, rss] = lines[lines.length - 1].split(' ').map(Number);
  return { wallSeconds, userSeconds: user, sysSeconds: sys, peakRssKb: rss, code, stdoutLines, tail };
}
