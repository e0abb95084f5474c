// The `lifeboat` CLI as an operator runs it: a `lifeboat worker` process, commands, exit codes, files.
import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { config, createBucket, getBytes, primary, put, uniqueBucket, versionList } from '../helpers/s3';

const CLI = join(__dirname, '../../dist/client/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-e2e-'));
const configPath = join(dir, 'lifeboat.yaml');
let worker: ChildProcess;
let workerLog = '';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function lifeboat(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, '--config', configPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  // A YAML configuration of its own, with a task queue no other test polls.
  writeFileSync(
    configPath,
    stringify({
      temporal: { ...config.temporal, taskQueue: `e2e-cli-${process.pid}` },
      regions: config.regions,
      reports: config.reports,
    }),
  );
  worker = spawn(process.execPath, [CLI, '--config', configPath, 'worker'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()));
  worker.stdout!.on('data', (d: Buffer) => (workerLog += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!workerLog.includes('RUNNING')) {
    if (Date.now() > deadline || worker.exitCode !== null)
      throw new Error(`worker did not start:\n${workerLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  if (worker.exitCode === null) {
    worker.kill('SIGKILL');
  }
});

describe('lifeboat CLI', () => {
  it('lists versions, undeletes, and shows the step log of the run', async () => {
    const bucket = await createBucket(uniqueBucket('cli-undelete'));
    const v1 = await put(bucket, 'a/report.csv', 'id,total\n1,42\n');
    await primary.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'a/report.csv' }));

    const versions = await lifeboat('--json', 'versions', bucket, 'a/report.csv');
    expect(versions.code).toBe(0);
    const listed = JSON.parse(versions.stdout) as {
      versionId: string;
      isDeleteMarker: boolean;
      isLatest: boolean;
    }[];
    expect(listed.map((v) => [v.isDeleteMarker, v.isLatest])).toEqual([
      [true, true],
      [false, false],
    ]);
    expect(listed[1].versionId).toBe(v1);

    const undelete = await lifeboat('--json', 'recover', 'undelete', bucket, 'a/report.csv');
    expect(undelete.code).toBe(0);
    const result = JSON.parse(undelete.stdout) as { workflowId: string; outcomes: { versionId: string }[] };
    expect(result.outcomes[0].versionId).toBe(v1);
    expect((await getBytes(bucket, 'a/report.csv')).toString()).toBe('id,total\n1,42\n');

    const status = await lifeboat('--json', 'status', result.workflowId);
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as { status: string; steps: { name: string; outcome: string }[] };
    expect(s.status).toBe('COMPLETED');
    expect(s.steps.map((x) => x.name)).toEqual(['check bucket', 'take lease', 'plan', 'apply', 'verify']);

    const human = await lifeboat('status', result.workflowId);
    expect(human.stdout).toMatch(/COMPLETED/);
    expect(human.stdout).toMatch(/verify\s+ok/);
  });

  it('plans with --dry-run without changing anything, then copies a version back by time', async () => {
    const bucket = await createBucket(uniqueBucket('cli-copy'));
    await put(bucket, 'site/index.html', '<h1>good</h1>');
    await new Promise((r) => setTimeout(r, 1100));
    const t = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    await put(bucket, 'site/index.html', '<h1>defaced</h1>');
    const before = await versionList(bucket);

    const dry = await lifeboat('recover', 'copy', bucket, 'site/index.html', '--at', t, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run, nothing changed/);
    expect(dry.stdout).toMatch(/copy version back/);
    expect(await versionList(bucket)).toEqual(before);

    const copy = await lifeboat('recover', 'copy', bucket, 'site/index.html', '--at', t);
    expect(copy.code).toBe(0);
    expect((await getBytes(bucket, 'site/index.html')).toString()).toBe('<h1>good</h1>');
    expect((await versionList(bucket)).length).toBe(before.length + 1);
  });

  it('downloads the exact bytes of an old version to a file', async () => {
    const bucket = await createBucket(uniqueBucket('cli-download'));
    const original = randomBytes(64 * 1024);
    const v1 = await put(bucket, 'blob.bin', original);
    await put(bucket, 'blob.bin', 'replaced');
    const file = join(dir, 'blob.bin');

    const run = await lifeboat('recover', 'download', bucket, 'blob.bin', '--version-id', v1, '--out', file);
    expect(run.code).toBe(0);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(run.stdout).toMatch(/wrote 65536 bytes/);
  });

  it('exits 1 with the reason when a run is refused, and changes nothing', async () => {
    const bucket = await createBucket(uniqueBucket('cli-refuse'));
    await put(bucket, 'k', 'one');
    const before = await versionList(bucket);
    const run = await lifeboat('recover', 'copy', bucket, 'k', '--version-id', 'no-such-version');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/NoSuchVersion: key "k" has no version no-such-version; nothing was changed/);
    expect(await versionList(bucket)).toEqual(before);
  });

  it('exits 2 on bad input without starting anything, naming the field', async () => {
    const bad = await lifeboat('recover', 'copy', 'some-bucket', 'k', '--at', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/field "at"/);
    const noSelector = await lifeboat('recover', 'copy', 'some-bucket', 'k');
    expect(noSelector.code).toBe(2);
    expect(noSelector.stderr).toMatch(/needs a versionId or an "at" time/);
    const badJson = await lifeboat('run', 'versionRecovery', '{not json', '--id', 'x');
    expect(badJson.code).toBe(2);
    const unknownRegion = await lifeboat('versions', 'some-bucket', 'k', '--region', 'mars');
    expect(unknownRegion.code).toBe(2);
    expect(unknownRegion.stderr).toMatch(/region "mars" is not in the configuration/);
  });

  it('starts a run from one JSON object, as the Web UI does', async () => {
    const bucket = await createBucket(uniqueBucket('cli-run'));
    const v1 = await put(bucket, 'k', 'first');
    await put(bucket, 'k', 'second');
    const input = JSON.stringify({ action: 'copy-version', bucket, keys: [{ key: 'k', versionId: v1 }] });
    const run = await lifeboat('--json', 'run', 'versionRecovery', input, '--id', `e2e-run-${bucket}`);
    expect(run.code).toBe(0);
    expect((await getBytes(bucket, 'k')).toString()).toBe('first');
  });

  it('restores a prefix to a time T with `restore pitr` (dry run first), and copies with `copy`', async () => {
    const bucket = await createBucket(uniqueBucket('cli-pitr'));
    for (let i = 0; i < 6; i++) await put(bucket, `site/page-${i}.html`, `<p>good ${i}</p>`);
    await put(bucket, 'other/keep.txt', 'outside the prefix');
    await new Promise((r) => setTimeout(r, 1100));
    const t = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 6; i += 2) await put(bucket, `site/page-${i}.html`, '<p>defaced</p>');
    await put(bucket, 'site/injected.js', 'evil()');
    await put(bucket, 'other/keep.txt', 'changed outside the prefix');
    const before = await versionList(bucket);

    const dry = await lifeboat(
      'restore',
      'pitr',
      bucket,
      '--prefix',
      'site/',
      '--at',
      t,
      '--dry-run',
      '--page-size',
      '3',
    );
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Plan \(dry run, nothing changed\)/);
    expect(await versionList(bucket)).toEqual(before);

    const run = await lifeboat(
      '--json',
      'restore',
      'pitr',
      bucket,
      '--prefix',
      'site/',
      '--at',
      t,
      '--page-size',
      '3',
    );
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as { planned: { copy: number; delete: number }; failedCount: number };
    expect([r.planned.copy, r.planned.delete, r.failedCount]).toEqual([3, 1, 0]);
    for (let i = 0; i < 6; i++)
      expect((await getBytes(bucket, `site/page-${i}.html`)).toString()).toBe(`<p>good ${i}</p>`);
    await expect(getBytes(bucket, 'site/injected.js')).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    expect((await getBytes(bucket, 'other/keep.txt')).toString()).toBe('changed outside the prefix');

    // Restored to the wrong T? `restore undo` puts back what the restore changed (dry run first).
    const jobId = (JSON.parse(run.stdout) as { workflowId: string }).workflowId;
    const restoredState = await versionList(bucket);
    const undoPlan = await lifeboat('restore', 'undo', jobId, '--dry-run');
    expect(undoPlan.code).toBe(0);
    expect(undoPlan.stdout).toMatch(/Plan \(dry run, nothing changed\): undo of pitr\//);
    expect(await versionList(bucket)).toEqual(restoredState);
    const undo = await lifeboat('--json', 'restore', 'undo', jobId);
    expect(undo.code).toBe(0);
    const u = JSON.parse(undo.stdout) as {
      workflowId: string;
      applied: { copy: number; removeMarkers: number };
    };
    expect(u.workflowId).toBe(`undo/${jobId}`);
    expect([u.applied.copy, u.applied.removeMarkers]).toEqual([3, 1]);
    for (let i = 0; i < 6; i++)
      expect((await getBytes(bucket, `site/page-${i}.html`)).toString()).toBe(
        i % 2 === 0 ? '<p>defaced</p>' : `<p>good ${i}</p>`,
      );
    expect((await getBytes(bucket, 'site/injected.js')).toString()).toBe('evil()');
    const refused = await lifeboat('restore', 'undo', 'pitr/no-such-job');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/no report of job "pitr\/no-such-job"/);
    // Back to T for the copy below.
    expect(
      (await lifeboat('restore', 'pitr', bucket, '--prefix', 'site/', '--at', t, '--id', `${jobId}-again`))
        .code,
    ).toBe(0);

    const dst = await createBucket(uniqueBucket('cli-copy-dst'));
    const copy = await lifeboat('copy', bucket, dst, '--prefix', 'site/', '--parts', '2');
    expect(copy.code).toBe(0);
    // A split copy names its parts and their counts.
    expect(copy.stdout).toMatch(/\/part-0: done, \d+ keys, \d+ applied, 0 failed/);
    expect(copy.stdout).toMatch(/\/part-1: done/);
    expect((await getBytes(dst, 'site/page-4.html')).toString()).toBe('<p>good 4</p>');
    const copied = await primary.send(new ListObjectsV2Command({ Bucket: dst }));
    expect(copied.KeyCount).toBe(6);
  });

  it('pauses a detached restore (no write while paused), resumes it, and it completes exactly', async () => {
    const bucket = await createBucket(uniqueBucket('cli-pause'));
    const keys = Array.from({ length: 120 }, (_, i) => `k/${String(i).padStart(3, '0')}`);
    for (const k of keys) await put(bucket, k, 'good');
    await new Promise((r) => setTimeout(r, 1100));
    const t = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    for (const k of keys) await put(bucket, k, 'bad');

    const start = await lifeboat(
      '--json',
      'restore',
      'pitr',
      bucket,
      '--at',
      t,
      '--concurrency',
      '1',
      '--page-size',
      '20',
      '--detach',
      '--yes',
    );
    expect(start.code).toBe(0);
    const { workflowId } = JSON.parse(start.stdout) as { workflowId: string };
    expect(workflowId).toBe(`pitr/primary/${bucket}/@${t}`);
    // Pause once it has started writing.
    for (let i = 0; i < 100; i++) {
      const s = JSON.parse((await lifeboat('--json', 'status', workflowId)).stdout) as {
        progress?: { applied: { keys: number } };
      };
      if ((s.progress?.applied.keys ?? 0) > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const pause = await lifeboat('pause', workflowId);
    expect(pause.code).toBe(0);
    let paused = false;
    for (let i = 0; i < 50 && !paused; i++) {
      const s = JSON.parse((await lifeboat('--json', 'status', workflowId)).stdout) as {
        progress?: { paused: boolean };
      };
      paused = s.progress?.paused === true;
      if (!paused) await new Promise((r) => setTimeout(r, 200));
    }
    expect(paused).toBe(true);
    const human = await lifeboat('status', workflowId);
    expect(human.stdout).toMatch(/paused: page/);
    // Paused means no write: the versions are the same before and after a window of 2 s (the page
    // running when the pause came may finish its request in flight first).
    await new Promise((r) => setTimeout(r, 500));
    const whilePaused = await versionList(bucket);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await versionList(bucket)).toEqual(whilePaused);
    expect(whilePaused.filter((v) => v.endsWith('|version|latest')).length).toBe(keys.length);
    expect((await lifeboat('resume', workflowId)).code).toBe(0);
    let status = '';
    for (let i = 0; i < 300 && status !== 'COMPLETED'; i++) {
      status = (JSON.parse((await lifeboat('--json', 'status', workflowId)).stdout) as { status: string })
        .status;
      if (status !== 'COMPLETED') await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toBe('COMPLETED');
    for (const k of keys) expect((await getBytes(bucket, k)).toString()).toBe('good');
    // Exactly one version added per key: good, bad, and the restored copy.
    const perKey = new Map<string, number>();
    for (const v of await versionList(bucket))
      perKey.set(v.split('|')[0], (perKey.get(v.split('|')[0]) ?? 0) + 1);
    expect([...perKey.values()].every((n) => n === 3)).toBe(true);
    expect(perKey.size).toBe(keys.length);
  });

  it('stops at the blast-radius gate without a terminal (nothing written, exit 1) and goes on with --yes', async () => {
    const bucket = await createBucket(uniqueBucket('cli-gate'));
    const keys = Array.from({ length: 15 }, (_, i) => `www/${i}.html`);
    for (const k of keys) await put(bucket, k, 'good');
    await new Promise((r) => setTimeout(r, 1100));
    const t = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    for (const k of keys) await put(bucket, k, 'bad');
    const before = await versionList(bucket);

    const refused = await lifeboat('restore', 'pitr', bucket, '--at', t, '--id', `cli-gate-${bucket}-1`);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/stopped at its blast-radius gate/);
    expect(refused.stderr).toMatch(/overwrites 15 of 15 keys in scope/);
    expect(refused.stderr).toMatch(
      /no terminal to ask and --yes not given: rejecting \(nothing was written\)/,
    );
    expect(refused.stderr).toMatch(/GateRejected/);
    expect(await versionList(bucket)).toEqual(before);

    const yes = await lifeboat(
      '--json',
      'restore',
      'pitr',
      bucket,
      '--at',
      t,
      '--yes',
      '--id',
      `cli-gate-${bucket}-2`,
    );
    expect(yes.code).toBe(0);
    const r = JSON.parse(yes.stdout) as { gate: { stopped: boolean; approval: { auto: boolean } } };
    expect(r.gate).toMatchObject({ stopped: true, approval: { auto: true } });
    for (const k of keys) expect((await getBytes(bucket, k)).toString()).toBe('good');
  });

  it('lists leases, refuses an overlapping job, shows the gate, and breaks a lease with a reason', async () => {
    const bucket = await createBucket(uniqueBucket('cli-locks'));
    const keys = Array.from({ length: 12 }, (_, i) => `app/${i}.js`);
    for (const k of keys) await put(bucket, k, 'v1');
    await new Promise((r) => setTimeout(r, 1100));
    const t = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    for (const k of keys) await put(bucket, k, 'v2');

    // Detached without --yes: it waits at its gate, holding the lease on app/.
    const held = await lifeboat(
      '--json',
      'restore',
      'pitr',
      bucket,
      '--prefix',
      'app/',
      '--at',
      t,
      '--detach',
    );
    expect(held.code).toBe(0);
    const holder = (JSON.parse(held.stdout) as { workflowId: string }).workflowId;
    let gate = '';
    for (let i = 0; i < 100 && !/stopped at its blast-radius gate/.test(gate); i++) {
      gate = (await lifeboat('gate', holder)).stdout;
      if (!/stopped at its blast-radius gate/.test(gate)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(gate).toMatch(/12 keys in scope: 0 deleted, 12 overwritten/);
    expect(gate).toMatch(/first overwritten: app\/0\.js, app\/1\.js/);

    const locks = await lifeboat('--json', 'locks', '--bucket', bucket);
    expect(locks.code).toBe(0);
    const listed = JSON.parse(locks.stdout) as { leases: { holder: string; range: { prefix: string } }[] }[];
    expect(listed).toHaveLength(1);
    expect(listed[0].leases).toEqual([expect.objectContaining({ holder, range: { prefix: 'app/' } })]);
    expect((await lifeboat('locks')).stdout).toContain(holder);

    const other = await lifeboat(
      'restore',
      'pitr',
      bucket,
      '--at',
      t,
      '--yes',
      '--id',
      `cli-other-${bucket}`,
    );
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/LeaseHeld: the whole bucket of primary\/.* overlaps a lease held by /);
    expect(other.stderr).toContain(holder);

    const noReason = await lifeboat('locks', 'break', bucket, holder);
    expect(noReason.code).toBe(2);
    const broken = await lifeboat('locks', 'break', bucket, holder, '--reason', 'e2e: the operator gave up');
    expect(broken.code).toBe(0);
    let failure = '';
    for (let i = 0; i < 100 && !failure; i++) {
      const s = JSON.parse((await lifeboat('--json', 'status', holder)).stdout) as {
        status: string;
        failure?: { type: string; message: string };
      };
      if (s.status === 'FAILED') failure = `${s.failure?.type}: ${s.failure?.message}`;
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect(failure).toMatch(/LeaseLost: .*broken by .*: e2e: the operator gave up/);
    for (const k of keys) expect((await getBytes(bucket, k)).toString()).toBe('v2');
    expect((await lifeboat('approve', holder)).code).toBe(2);
  });

  it("signs a download URL on the operator's machine from the version id the run returned", async () => {
    const bucket = await createBucket(uniqueBucket('cli-presign'));
    const v1 = await put(bucket, 'logo.png', 'first bytes');
    await put(bucket, 'logo.png', 'second bytes');
    const run = await lifeboat(
      '--json',
      'recover',
      'download',
      bucket,
      'logo.png',
      '--version-id',
      v1,
      '--presign',
      '120',
    );
    expect(run.code).toBe(0);
    const r = JSON.parse(run.stdout) as { workflowId: string; presigned: { url: string; versionId: string } };
    expect(r.presigned.versionId).toBe(v1);
    expect(await (await fetch(r.presigned.url)).text()).toBe('first bytes');
    // The run's own record carries the version id, never the URL.
    const status = await lifeboat('--json', 'status', r.workflowId);
    expect(status.stdout).toContain(v1);
    expect(status.stdout).not.toMatch(/X-Amz-Signature/i);
  });

  it('refuses a bad restore request with exit code 2, naming the field', async () => {
    const bad = await lifeboat(
      'restore',
      'pitr',
      'some-bucket',
      '--at',
      '2026-11-26T10:00:00Z',
      '--from',
      '2026-11-26T11:00:00Z',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/field "from"/);
    const conc = await lifeboat(
      'restore',
      'pitr',
      'some-bucket',
      '--at',
      '2026-11-26T10:00:00Z',
      '--concurrency',
      '0',
    );
    expect(conc.code).toBe(2);
    expect(conc.stderr).toMatch(/field "concurrency"/);
  });

  it('stops the worker gracefully on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => worker.on('exit', (code) => r(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(workerLog).toMatch(/lifeboat worker: stopped/);
  });
});
