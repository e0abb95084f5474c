// The peer tools' command lines, all pointed at the primary zone with the same concurrency, each with
// its quiet-output option where it has one (printing a line per object costs CPU, not work).
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Endpoint {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface Command {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface PeerPaths {
  rclone: string;
  s5cmd: string;
  aws: string;
  s3PitRestore: string;
}

function which(name: string): string | undefined {
  try {
    return execFileSync('bash', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Where `bench/install.sh` put the tools; an error naming the missing ones otherwise. */
export function findPeers(cache: string): PeerPaths {
  let aws = which('aws');
  // A pyenv shim runs pyenv (several processes) before the real script: time the real script.
  if (aws?.includes('/shims/')) {
    try {
      aws = execFileSync('pyenv', ['which', 'aws'], { encoding: 'utf8' }).trim();
    } catch {
      // keep the shim
    }
  }
  const s5cmd = existsSync(join(cache, 'bin/s5cmd')) ? join(cache, 'bin/s5cmd') : which('s5cmd');
  const pit = join(cache, 'venv-bench/bin/s3-pit-restore');
  const found = { rclone: which('rclone'), s5cmd, aws, s3PitRestore: existsSync(pit) ? pit : undefined };
  const missing = Object.entries(found)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length > 0 || !existsSync('/usr/bin/time'))
    throw new Error(
      `missing ${[...missing, ...(existsSync('/usr/bin/time') ? [] : ['/usr/bin/time'])].join(', ')}: run "bash bench/install.sh"`,
    );
  return found as PeerPaths;
}

function withoutCaBundle(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  delete copy.AWS_CA_BUNDLE;
  return copy;
}

function awsEnv(e: Endpoint, tmpDir: string, concurrency: number): NodeJS.ProcessEnv {
  // A configuration file of its own: the user's ~/.aws is neither read nor changed.
  const config = join(tmpDir, 'aws-config');
  writeFileSync(
    config,
    `[default]\nregion = ${e.region}\ns3 =\n  max_concurrent_requests = ${concurrency}\n  addressing_style = path\n`,
  );
  return {
    ...process.env,
    AWS_CONFIG_FILE: config,
    AWS_SHARED_CREDENTIALS_FILE: join(tmpDir, 'no-credentials'),
    AWS_ACCESS_KEY_ID: e.accessKeyId,
    AWS_SECRET_ACCESS_KEY: e.secretAccessKey,
    AWS_REGION: e.region,
    AWS_DEFAULT_REGION: e.region,
  };
}

export function rcloneCopy(
  p: PeerPaths,
  e: Endpoint,
  tmpDir: string,
  src: string,
  dst: string,
  concurrency: number,
  versionAt?: string,
): Command {
  const emptyConfig = join(tmpDir, 'rclone.conf');
  writeFileSync(emptyConfig, '');
  const c = String(concurrency);
  const remote = (name: string) => ({
    [`RCLONE_CONFIG_${name}_TYPE`]: 's3',
    [`RCLONE_CONFIG_${name}_PROVIDER`]: 'Ceph',
    [`RCLONE_CONFIG_${name}_ENDPOINT`]: e.endpoint,
    [`RCLONE_CONFIG_${name}_REGION`]: e.region,
    [`RCLONE_CONFIG_${name}_ACCESS_KEY_ID`]: e.accessKeyId,
    [`RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY`]: e.secretAccessKey,
    [`RCLONE_CONFIG_${name}_FORCE_PATH_STYLE`]: 'true',
  });
  // A remote in --s3-version-at mode is read-only: the source gets a remote of its own ("labat"), and
  // copies between the two remotes stay server-side with --server-side-across-configs.
  return {
    command: p.rclone,
    args: [
      'copy',
      `${versionAt ? 'labat' : 'lab'}:${src}`,
      `lab:${dst}`,
      '--transfers',
      c,
      '--checkers',
      c,
      ...(versionAt ? ['--server-side-across-configs'] : []),
    ],
    env: {
      // rclone's AWS SDK refuses a custom CA bundle with its own HTTP transport, even for http://.
      ...withoutCaBundle(process.env),
      RCLONE_CONFIG: emptyConfig,
      ...remote('LAB'),
      ...(versionAt ? { ...remote('LABAT'), RCLONE_CONFIG_LABAT_VERSION_AT: versionAt } : {}),
    },
  };
}

export function s5cmdCopy(
  p: PeerPaths,
  e: Endpoint,
  tmpDir: string,
  src: string,
  dst: string,
  concurrency: number,
): Command {
  return {
    command: p.s5cmd,
    args: [
      '--endpoint-url',
      e.endpoint,
      '--numworkers',
      String(concurrency),
      '--log',
      'error',
      'cp',
      `s3://${src}/*`,
      `s3://${dst}/`,
    ],
    env: awsEnv(e, tmpDir, concurrency),
  };
}

export function awsCopy(
  p: PeerPaths,
  e: Endpoint,
  tmpDir: string,
  src: string,
  dst: string,
  concurrency: number,
): Command {
  return {
    command: p.aws,
    args: [
      's3',
      'cp',
      '--recursive',
      `s3://${src}`,
      `s3://${dst}`,
      '--endpoint-url',
      e.endpoint,
      '--only-show-errors',
    ],
    env: awsEnv(e, tmpDir, concurrency),
  };
}

export function s3PitRestore(
  p: PeerPaths,
  e: Endpoint,
  tmpDir: string,
  src: string,
  dst: string,
  concurrency: number,
  at: string,
): Command {
  // s3-pit-restore 0.9 has no --endpoint-url: boto3 reads AWS_ENDPOINT_URL.
  return {
    command: p.s3PitRestore,
    args: ['-b', src, '-B', dst, '-t', at, '--max-workers', String(concurrency)],
    env: { ...awsEnv(e, tmpDir, concurrency), AWS_ENDPOINT_URL: e.endpoint },
  };
}

export function toolVersions(p: PeerPaths): Record<string, string> {
  const first = (cmd: string, args: string[]) => {
    try {
      const out = execFileSync('bash', ['-c', '"$0" "$@" 2>&1', cmd, ...args], { encoding: 'utf8' });
      return out.split('\n')[0].trim();
    } catch {
      return 'unknown';
    }
  };
  let pit = 'unknown';
  try {
    pit = execFileSync(join(p.s3PitRestore, '..', 'pip'), ['show', 's3-pit-restore'], { encoding: 'utf8' })
      .split('\n')
      .find((l) => l.startsWith('Version:'))!
      .slice(9)
      .trim();
  } catch {
    // leave unknown
  }
  return {
    rclone: first(p.rclone, ['version']).replace(/^rclone\s+/, ''),
    s5cmd: first(p.s5cmd, ['version']),
    aws: first(p.aws, ['--version']).split(' ')[0],
    's3-pit-restore': pit,
  };
}
