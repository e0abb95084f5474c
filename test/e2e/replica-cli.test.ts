// `lifeboat replica verify` as an operator runs it: a worker process, the table or --json, exit codes.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { waitForBucketOnSecondary, waitUntilReplicated } from '../helpers/multisite';
import { createBucket, put, uniqueBucket } from '../helpers/s3';
import { CLI, WorkerProcess, writeTestConfig } from '../helpers/worker-process';

const configPath = writeTestConfig(`e2e-replica-${process.pid}-${Date.now().toString(36)}`);
const worker = new WorkerProcess(configPath);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function lifeboat(...args: string[]): Promise<Run> {
  return lifeboatWith(configPath, ...args);
}

function lifeboatWith(config: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--config', config, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  await worker.start();
});

afterAll(async () => {
  await worker.stop();
});

describe('lifeboat replica verify', () => {
  it('exits 0 with "In sync" when the secondary zone has every version, with a deep check', async () => {
    const bucket = await createBucket(uniqueBucket('cli-verify-ms'));
    await waitForBucketOnSecondary(bucket);
    for (let i = 0; i < 4; i++) await put(bucket, `doc/${i}.txt`, `text ${i}`);
    await waitUntilReplicated(bucket);
    // The replica comes from the configuration: the bucket is protected, with its replica in secondary.
    const withProtected = join(dirname(configPath), 'protected.yaml');
    const cfg = parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    cfg.protectedBuckets = { docs: { region: 'primary', bucket, replica: { region: 'secondary', bucket } } };
    writeFileSync(withProtected, stringify(cfg));
    const run = await lifeboatWith(withProtected, 'replica', 'verify', '--bucket', bucket, '--deep', 'all');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^In sync: primary\/.* -> secondary\//);
    expect(run.stdout).toMatch(/in-sync\s+4/);
    expect(run.stdout).toMatch(/RPO estimate: 0 s/);
    expect(run.stdout).toMatch(/deep-checked 4 key\(s\)/);
    expect(run.stderr).toMatch(/started verify\/primary\//);
  });

  it('exits 1 when the replica differs, listing the first keys of each class (table and --json)', async () => {
    const src = await createBucket(uniqueBucket('cli-verify-src'));
    const dst = await createBucket(uniqueBucket('cli-verify-dst'));
    await put(src, 'a.txt', 'same');
    await put(dst, 'a.txt', 'same');
    await put(src, 'b.txt', 'only on the source');
    await put(dst, 'c.txt', 'only on the copy');
    const args = [
      '--bucket',
      src,
      '--replica-region',
      'primary',
      '--replica-bucket',
      dst,
      '--no-compare-version-ids',
    ];
    const human = await lifeboat('replica', 'verify', ...args);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^2 difference\(s\)/);
    expect(human.stdout).toMatch(/missing-on-replica\s+1\s+b\.txt/);
    expect(human.stdout).toMatch(/extra-on-replica\s+1\s+c\.txt/);
    expect(human.stdout).toMatch(/report: s3:\/\/lifeboat-reports\//);

    const json = await lifeboat('--json', 'replica', 'verify', ...args, '--id', `cli-verify-json-${src}`);
    expect(json.code).toBe(1);
    const r = JSON.parse(json.stdout) as {
      counts: Record<string, number>;
      rpoSeconds: number;
      sourceReachable: boolean;
    };
    expect(r.counts).toMatchObject({ keys: 3, 'in-sync': 1, 'missing-on-replica': 1, 'extra-on-replica': 1 });
    expect(r.sourceReachable).toBe(true);
    expect(r.rpoSeconds).toBeGreaterThan(0);
  });

  it('exits 2 on bad input without starting anything, naming what is wrong', async () => {
    const same = await lifeboat('replica', 'verify', '--bucket', 'docs', '--replica-region', 'primary');
    expect(same.code).toBe(2);
    expect(same.stderr).toMatch(/field "replica": is the source itself/);
    const region = await lifeboat('replica', 'verify', '--bucket', 'docs', '--replica-region', 'mars');
    expect(region.code).toBe(2);
    expect(region.stderr).toMatch(/region "mars" is not in the configuration/);
    const none = await lifeboat('replica', 'verify', '--bucket', 'docs');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--replica-region is needed/);
    const deep = await lifeboat(
      'replica',
      'verify',
      '--bucket',
      'docs',
      '--replica-region',
      'secondary',
      '--deep',
      'most',
    );
    expect(deep.code).toBe(2);
  });
});
