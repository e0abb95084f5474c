// `npm run demo`: on the local stack, seed a bucket, break it (overwrite, delete), recover it with
// versionRecovery runs on a real worker, check the bytes, restore a prefix to a moment, run a region
// outage drill (failover and failback), and print the step logs and Web UI links.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { LifeboatConfig } from '../core/config';
import type { RegionFailbackResult } from '../workflows/region-failback';
import type { RegionFailoverResult } from '../workflows/region-failover';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createS3Clients } from '../worker/clients';
import { localStackConfig, projectRoot, stackDir } from '../worker/config';
import { createWorker } from '../worker/worker';
import { downloadVersion } from './download';
import { formatSteps } from './format';
import {
  BulkJobResult,
  connect,
  startPointInTimeRestore,
  startVersionRecovery,
  startWorkflow,
  VersionRecoveryResult,
  describeFailure,
  webUiLink,
} from './lifeboat';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = localStackConfig();
  const s3 = createS3Clients(config).primary;
  const bucket = `lifeboat-demo-${Date.now().toString(36)}`;
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const read = async (key: string) => {
    const o = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return o.Body!.transformToString();
  };

  say(`1. Seeding versioned bucket ${bucket} on the primary zone`);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  const files: Record<string, string> = {
    'config/app.yaml': 'replicas: 3\nimage: shop:1.4.2\n',
    'docs/contract.pdf': 'PDF-1.7 signed contract, 2026-11-01',
    'images/logo.svg': '<svg><circle r="10"/></svg>',
  };
  const firstVersion: Record<string, string> = {};
  for (const [key, body] of Object.entries(files)) {
    const out = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' }),
    );
    firstVersion[key] = out.VersionId!;
  }
  await sleep(1100);
  const beforeIncident = new Date().toISOString();
  await sleep(1100);

  say(
    `2. The incident at ${new Date().toISOString()}: a bad deploy overwrites config/app.yaml, someone deletes docs/contract.pdf`,
  );
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: 'config/app.yaml', Body: 'replicas: 0\n# oops\n' }),
  );
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'docs/contract.pdf' }));

  // A whole prefix: 40 product pages, good before the incident, then a bad deploy rewrites a third of
  // them, deletes some and drops in a file that did not exist.
  const pages = Array.from({ length: 40 }, (_, i) => `site/products/${String(i).padStart(3, '0')}.html`);
  for (const k of pages)
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: `<h1>${k}</h1>` }));
  await sleep(1100);
  const beforeDeploy = new Date().toISOString();
  await sleep(1100);
  for (const [i, k] of pages.entries()) {
    if (i % 3 === 0)
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: '<h1>500 Internal Error</h1>' }));
    if (i % 7 === 1) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: k }));
  }
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'site/products/debug.html', Body: 'secrets' }));

  const worker = await createWorker(config);
  const client = await connect(config);
  const outcome = await worker.runUntil(async () => {
    say(`3. Recovering with versionRecovery workflows (worker on task queue "${config.temporal.taskQueue}")`);
    const runs: VersionRecoveryResult[] = [];
    for (const input of [
      {
        action: 'copy-version' as const,
        bucket,
        keys: ['config/app.yaml'],
        at: beforeIncident,
        reason: 'demo: bad deploy',
      },
      {
        action: 'remove-delete-marker' as const,
        bucket,
        keys: ['docs/contract.pdf'],
        reason: 'demo: accidental delete',
      },
      {
        action: 'download' as const,
        bucket,
        keys: ['images/logo.svg'],
        versionId: firstVersion['images/logo.svg'],
      },
    ]) {
      const handle = await startVersionRecovery(client, config, input, `demo/${bucket}/${input.action}`);
      runs.push((await handle.result()) as VersionRecoveryResult);
    }
    say(`4. Restoring site/ to ${beforeDeploy} with pointInTimeRestore: a dry run first, then for real`);
    const input = { source: { bucket, prefix: 'site/' }, at: beforeDeploy, pageSize: 10 };
    const plan = (await (
      await startPointInTimeRestore(client, config, { ...input, dryRun: true })
    ).result()) as BulkJobResult;
    say(
      `   plan: ${plan.planned.keys} keys, copy back ${plan.planned.copy}, undelete ${plan.planned.removeMarkers}, delete ${plan.planned.delete}, unchanged ${plan.planned.unchanged}`,
    );
    const restore = (await (await startPointInTimeRestore(client, config, input)).result()) as BulkJobResult;
    say(
      `   restored: ${restore.gate ? restore.gate.radius.overwrites : 0} overwritten, within the blast-radius gate's limits`,
    );
    // The tired operator at 3 a.m.: the same restore with a wrong time (before the pages existed).
    const typo = await startPointInTimeRestore(client, config, { ...input, at: beforeIncident })
      .then((h) => h.result())
      .then(
        () => 'not refused',
        (err: unknown) => describeFailure(err).message,
      );
    say(`   the same restore to a wrong time (${beforeIncident}) is refused: ${typo}`);

    say(
      "5. A region outage drill: the primary zone's gateway is killed; failover to the secondary, failback",
    );
    const drill = await outageDrill(config, bucket, say);
    return { runs, restore, drill, typo };
  });
  const { runs: results, restore, drill, typo } = outcome;

  const dir = join(stackDir(), 'demo');
  mkdirSync(dir, { recursive: true });
  const downloaded = await downloadVersion(
    s3,
    bucket,
    'images/logo.svg',
    results[2].outcomes[0].versionId!,
    join(dir, 'logo.svg'),
  );

  const checks = [
    [
      'config/app.yaml is back to its content before the incident',
      (await read('config/app.yaml')) === files['config/app.yaml'],
    ],
    ['docs/contract.pdf is readable again', (await read('docs/contract.pdf')) === files['docs/contract.pdf']],
    [
      'images/logo.svg downloaded byte for byte',
      readFileSync(downloaded.path, 'utf8') === files['images/logo.svg'],
    ],
    [
      'a restore of site/ to a time before its pages existed was refused with nothing written',
      /AtBeforeHistory|before the oldest version/.test(typo) || /Nothing was written/.test(typo),
    ],
    [
      'site/ is back as it was before the deploy (40 pages right, debug.html gone)',
      (await Promise.all(pages.map(async (k) => (await read(k)) === `<h1>${k}</h1>`))).every(Boolean) &&
        (await read('site/products/debug.html').then(
          () => false,
          () => true,
        )),
    ],
  ] as const;

  for (const r of results) {
    say('');
    say(`== ${r.workflowId}: ${r.action}, RTO ${r.rtoSeconds.toFixed(2)} s`);
    say(formatSteps(r.steps));
    say(`Web UI: ${webUiLink(config, r.workflowId)}`);
  }
  say('');
  say(
    `== ${restore.workflowId}: pointInTimeRestore, ${restore.applied.keys} keys changed in ${restore.pages} pages, RTO ${restore.rtoSeconds.toFixed(2)} s`,
  );
  say(formatSteps(restore.steps));
  say(`Reports (plan, undo manifest): ${restore.reportsPrefix}`);
  say(`Web UI: ${webUiLink(config, restore.workflowId)}`);
  say('');
  say(
    `== ${drill.failover.workflowId}: regionFailover, RTO ${drill.failover.rtoSeconds!.toFixed(1)} s (secondary writable), source ${drill.failover.source.healthy ? 'up' : 'down'}`,
  );
  say(formatSteps(drill.failover.steps));
  say(
    `== ${drill.failback.workflowId}: regionFailback, ${drill.failback.failbackSeconds.toFixed(1)} s after the primary answered`,
  );
  say(formatSteps(drill.failback.steps));
  say('');
  const allChecks = [...checks, ...drill.checks];
  for (const [what, ok] of allChecks) say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  say('');
  say(`Try it yourself: npx lifeboat versions ${bucket} config/app.yaml`);
  say(`                 npx lifeboat status ${results[0].workflowId}`);
  say(`                 npx lifeboat replica status --bucket ${bucket}`);
  say(
    `                 npx lifeboat restore undo '${restore.workflowId}' --dry-run   (with a worker: npm run worker)`,
  );
  if (allChecks.some(([, ok]) => !ok)) process.exitCode = 1;
}

/**
 * Kills the primary zone's gateway, fails over with regionFailover (auto-approved, as in a drill),
 * writes on the secondary, restarts the primary and fails back with regionFailback.
 */
async function outageDrill(config: LifeboatConfig, bucket: string, say: (s: string) => void) {
  const s3 = createS3Clients(config);
  const stack = (...args: string[]) =>
    execFileSync('bash', [join(projectRoot(), 'stack/stack.sh'), ...args], { stdio: 'ignore' });
  const pair = { source: { region: 'primary', bucket }, replica: { region: 'secondary', bucket } };
  const client = await connect(config);
  const run = async <T>(type: string, id: string, input: unknown): Promise<T> =>
    (await (await startWorkflow(client, config, type, id, input)).result()) as T;
  // Everything written so far has reached the secondary zone before the outage.
  const listed = async (region: 'primary' | 'secondary') =>
    (await s3[region].send(new ListObjectsV2Command({ Bucket: bucket }))).KeyCount ?? 0;
  const want = await listed('primary');
  for (let i = 0; i < 240 && (await listed('secondary').catch(() => 0)) < want; i++) await sleep(500);
  try {
    stack('kill-rgw', 'primary');
    say('   primary gateway killed (SIGKILL); starting regionFailover');
    const failover = await run<RegionFailoverResult>('regionFailover', `demo/${bucket}/failover`, {
      ...pair,
      autoApprove: true,
      probeTimeoutSeconds: 3,
      reason: 'demo drill',
    });
    say(`   failed over in ${failover.rtoSeconds!.toFixed(1)} s; writing on the secondary during the outage`);
    await s3.secondary.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'outage/order-1001.json', Body: '{"order":1001}' }),
    );
    stack('start-rgw', 'primary');
    say('   primary gateway back; starting regionFailback');
    const failback = await run<RegionFailbackResult>('regionFailback', `demo/${bucket}/failback`, {
      ...pair,
      probeIntervalSeconds: 2,
      catchUpTimeoutSeconds: 300,
    });
    const home = await s3.primary
      .send(new GetObjectCommand({ Bucket: bucket, Key: 'outage/order-1001.json' }))
      .then((o) => o.Body!.transformToString())
      .catch(() => '');
    const checks: (readonly [string, boolean])[] = [
      [
        'the secondary took over while the primary was down (active-region record, writes)',
        failover.active.region === 'secondary',
      ],
      ['the write made during the outage is on the primary after failback', home === '{"order":1001}'],
      [
        'failback verified the primary against the secondary: nothing behind',
        failback.verification.keysBehind === 0,
      ],
    ];
    return { failover, failback, checks };
  } finally {
    // Whatever happened: the primary's gateway up again.
    stack('start-rgw', 'primary');
  }
}

main().catch((err: Error) => {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exit(1);
});
