// `npm run demo`: on the local stack, seed a bucket, break it (overwrite, delete), recover it with
// versionRecovery runs on a real worker, check the bytes, and print the step logs and Web UI links.
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createS3Clients } from '../worker/clients';
import { localStackConfig, stackDir } from '../worker/config';
import { createWorker } from '../worker/worker';
import { downloadVersion } from './download';
import { formatSteps } from './format';
import {
  BulkJobResult,
  connect,
  startPointInTimeRestore,
  startVersionRecovery,
  VersionRecoveryResult,
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
    return { runs, restore };
  });
  const { runs: results, restore } = outcome;

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
  for (const [what, ok] of checks) say(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  say('');
  say(`Try it yourself: npx lifeboat versions ${bucket} config/app.yaml`);
  say(`                 npx lifeboat status ${results[0].workflowId}`);
  if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
}

main().catch((err: Error) => {
  process.stderr.write(`demo failed: ${err.message}\n`);
  process.exit(1);
});
