// versionRecovery on the real Temporal dev server and Ceph RGW: bytes back, history kept, refusals change nothing.
import { GetObjectTaggingCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LifeboatWorker as Worker } from '../../worker/worker';
import { randomBytes } from 'node:crypto';
import { VersionRecoveryInput } from '../../core/version-recovery';
import { presignVersion } from '../../client/download';
import type { VersionRecoveryResult } from '../../workflows/version-recovery';
import { stepsQuery } from '../../workflows/lib/steps';
import {
  createBucket,
  getBytes,
  getObject,
  primary,
  put,
  sleep,
  uniqueBucket,
  versionList,
} from '../helpers/s3';
import { temporalEnv, testWorker } from '../helpers/temporal';

const taskQueue = `test-version-recovery-${process.pid}`;
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

beforeAll(async () => {
  env = await temporalEnv();
  // A low multipart threshold so the multipart copy path runs on a small object.
  worker = await testWorker(taskQueue, {
    multipartThresholdBytes: 6 * 1024 * 1024,
    partSizeBytes: 5 * 1024 * 1024,
  });
  running = worker.run();
});

afterAll(async () => {
  worker.shutdown();
  await running;
  await env.teardown();
});

let seq = 0;
function start(input: unknown) {
  seq += 1;
  return env.client.workflow.start('versionRecovery', {
    taskQueue,
    workflowId: `test-vr-${process.pid}-${Date.now()}-${seq}`,
    args: [input as VersionRecoveryInput],
  });
}

async function run(input: unknown): Promise<VersionRecoveryResult> {
  return (await start(input)).result() as Promise<VersionRecoveryResult>;
}

/** Runs a workflow that must fail, and returns its ApplicationFailure. */
async function refusal(input: unknown): Promise<ApplicationFailure> {
  const err = await run(input).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('copy-version', () => {
  it('makes an old version current again with its exact bytes, content type, metadata and tags', async () => {
    const bucket = await createBucket(uniqueBucket('vr-copy'));
    const key = 'reports/q3 final+draft%.bin';
    const original = randomBytes(4096);
    const v1 = await put(bucket, key, original, {
      ContentType: 'application/x-report',
      Metadata: { owner: 'finance' },
      Tagging: 'class=keep',
    });
    await put(bucket, key, 'overwritten by a bad deploy', { ContentType: 'text/plain' });
    const before = await versionList(bucket);

    const result = await run({ action: 'copy-version', bucket, keys: [key], versionId: v1 });

    const now = await getObject(bucket, key);
    expect(now.body.equals(original)).toBe(true);
    expect(now.contentType).toBe('application/x-report');
    expect(now.metadata).toEqual({ owner: 'finance' });
    const tags = await primary.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    expect(tags.TagSet).toEqual([{ Key: 'class', Value: 'keep' }]);
    // History kept: every earlier version is still there, plus exactly one new one.
    const after = await versionList(bucket);
    expect(after.length).toBe(before.length + 1);
    for (const entry of before)
      expect(after.map((a) => a.replace(/\|latest$/, '|'))).toContain(entry.replace(/\|latest$/, '|'));
    expect(result.outcomes[0].newVersionId).toBe(now.versionId);
    expect(result.outcomes[0].newVersionId).not.toBe(v1);
    expect(result.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['check bucket', 'ok'],
      ['take lease', 'ok'],
      ['plan', 'ok'],
      ['apply', 'ok'],
      ['verify', 'ok'],
    ]);
    expect(result.rtoSeconds).toBeGreaterThan(0);
  });

  it('picks the version that was current at a time T, for several keys at once', async () => {
    const bucket = await createBucket(uniqueBucket('vr-at'));
    await put(bucket, 'a.txt', 'a-good');
    await put(bucket, 'b.txt', 'b-good');
    await sleep(1100);
    const t = new Date().toISOString();
    await sleep(1100);
    await put(bucket, 'a.txt', 'a-bad');
    await put(bucket, 'b.txt', 'b-bad');

    const result = await run({ action: 'copy-version', bucket, keys: ['a.txt', 'b.txt'], at: t });

    expect((await getBytes(bucket, 'a.txt')).toString()).toBe('a-good');
    expect((await getBytes(bucket, 'b.txt')).toString()).toBe('b-good');
    expect(result.plan.counts.copy).toBe(2);
  });

  it('copies a version above the multipart threshold part by part, bytes and metadata intact', async () => {
    const bucket = await createBucket(uniqueBucket('vr-mp'));
    const big = randomBytes(13 * 1024 * 1024);
    const v1 = await put(bucket, 'big.bin', big, {
      ContentType: 'application/x-big',
      Metadata: { tier: 'gold' },
    });
    await put(bucket, 'big.bin', 'small');

    await run({ action: 'copy-version', bucket, keys: [{ key: 'big.bin', versionId: v1 }] });

    const now = await getObject(bucket, 'big.bin');
    expect(now.body.equals(big)).toBe(true);
    expect(now.contentType).toBe('application/x-big');
    expect(now.metadata).toEqual({ tier: 'gold' });
  });

  it('does nothing when the version is already current, and a dry run changes nothing', async () => {
    const bucket = await createBucket(uniqueBucket('vr-noop'));
    const v1 = await put(bucket, 'k', 'one');
    const before = await versionList(bucket);
    const same = await run({ action: 'copy-version', bucket, keys: ['k'], versionId: v1 });
    expect(same.plan.counts.none).toBe(1);
    expect(await versionList(bucket)).toEqual(before);

    const v2 = await put(bucket, 'k', 'two');
    const beforeDry = await versionList(bucket);
    const dry = await run({ action: 'copy-version', bucket, keys: ['k'], versionId: v1, dryRun: true });
    expect(dry.plan.keys).toEqual([
      expect.objectContaining({ key: 'k', action: 'copy', sourceVersionId: v1, previousVersionId: v2 }),
    ]);
    expect(dry.steps.find((s) => s.name === 'apply')?.outcome).toBe('skipped');
    expect(await versionList(bucket)).toEqual(beforeDry);
    expect((await getBytes(bucket, 'k')).toString()).toBe('two');
  });
});

describe('remove-delete-marker', () => {
  it('undeletes a key: GET succeeds again with the bytes it had, and only the markers are gone', async () => {
    const bucket = await createBucket(uniqueBucket('vr-undelete'));
    const v1 = await put(bucket, 'docs/contract.pdf', 'signed contract', { ContentType: 'application/pdf' });
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    // A second DELETE stacks another marker on AWS; RGW keeps one. Either way all markers on top go.
    await primary.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'docs/contract.pdf' }));
    await primary.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'docs/contract.pdf' }));
    await expect(getBytes(bucket, 'docs/contract.pdf')).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    const markers = (await versionList(bucket))
      .filter((v) => v.includes('|marker|'))
      .map((v) => v.split('|')[1]);
    expect(markers.length).toBeGreaterThan(0);

    const result = await run({ action: 'remove-delete-marker', bucket, keys: ['docs/contract.pdf'] });

    const now = await getObject(bucket, 'docs/contract.pdf');
    expect(now.body.toString()).toBe('signed contract');
    expect(now.versionId).toBe(v1);
    expect(await versionList(bucket)).toEqual([`docs/contract.pdf|${v1}|version|latest`]);
    expect([...result.outcomes[0].removedMarkers!].sort()).toEqual(markers.sort());
  });
});

describe('download', () => {
  it('resolves a version; a URL signed from the returned id serves its exact bytes, and no URL is in history', async () => {
    const bucket = await createBucket(uniqueBucket('vr-dl'));
    const original = randomBytes(2048);
    const v1 = await put(bucket, 'img.png', original);
    await put(bucket, 'img.png', 'newer');
    const before = await versionList(bucket);

    const result = await run({
      action: 'download',
      bucket,
      keys: ['img.png'],
      versionId: v1,
    });

    expect(result.outcomes[0].versionId).toBe(v1);
    // The CLI signs the URL itself (client/download.ts), from the version id the workflow returned.
    const url = await presignVersion(primary, bucket, 'img.png', result.outcomes[0].versionId!, 60);
    const res = await fetch(url);
    expect(Buffer.from(await res.arrayBuffer()).equals(original)).toBe(true);
    expect(await versionList(bucket)).toEqual(before);
    const history = JSON.stringify(await env.client.workflow.getHandle(result.workflowId).fetchHistory());
    expect(history).not.toMatch(/X-Amz-Signature|X-Amz-Credential/i);
  });

  it('refuses presignSeconds: a URL in the result would be a credential kept in history', async () => {
    const f = await refusal({ action: 'download', bucket: 'any-bucket', keys: ['a'], presignSeconds: 60 });
    expect(f.type).toBe('InvalidInput');
    expect(f.message).toMatch(/presignSeconds.*no longer taken.*--presign/);
  });
});

describe('refusals change nothing', () => {
  it('refuses a bucket that does not exist', async () => {
    const f = await refusal({
      action: 'copy-version',
      bucket: uniqueBucket('vr-missing'),
      keys: ['k'],
      versionId: 'x',
    });
    expect(f.type).toBe('NoSuchBucket');
  });

  it('refuses a bucket without versioning, and one with versioning suspended', async () => {
    const off = await createBucket(uniqueBucket('vr-unversioned'), 'off');
    await put(off, 'k', 'data');
    const beforeOff = await versionList(off);
    expect((await refusal({ action: 'remove-delete-marker', bucket: off, keys: ['k'] })).type).toBe(
      'VersioningNotEnabled',
    );
    expect(await versionList(off)).toEqual(beforeOff);

    const suspended = await createBucket(uniqueBucket('vr-suspended'), 'Suspended');
    await put(suspended, 'k', 'data');
    const beforeSuspended = await versionList(suspended);
    const f = await refusal({ action: 'copy-version', bucket: suspended, keys: ['k'], versionId: 'null' });
    expect(f.type).toBe('VersioningNotEnabled');
    expect(f.message).toMatch(/suspended/);
    expect(await versionList(suspended)).toEqual(beforeSuspended);
  });

  it('refuses an unknown version id, a key with no delete marker, and a time before the key existed', async () => {
    const bucket = await createBucket(uniqueBucket('vr-refuse'));
    const early = new Date(Date.now() - 3600_000).toISOString();
    await put(bucket, 'k', 'one');
    await put(bucket, 'k', 'two');
    await put(bucket, 'other', 'x');
    const before = await versionList(bucket);

    const unknown = await refusal({
      action: 'copy-version',
      bucket,
      keys: ['k'],
      versionId: 'no-such-version',
    });
    expect(unknown.type).toBe('NoSuchVersion');
    const noMarker = await refusal({ action: 'remove-delete-marker', bucket, keys: ['k'] });
    expect(noMarker.type).toBe('NoDeleteMarker');
    const tooEarly = await refusal({ action: 'copy-version', bucket, keys: ['k'], at: early });
    expect(tooEarly.type).toBe('NoVersionAtTime');
    // One bad key refuses the whole list: the good key is not touched either.
    const mixed = await refusal({
      action: 'copy-version',
      bucket,
      keys: [
        { key: 'other', at: early },
        { key: 'k', at: early },
      ],
    });
    expect(mixed.message).toMatch(/nothing was changed/);

    expect(await versionList(bucket)).toEqual(before);
  });

  it('fails fast on malformed Web-UI input, naming the field', async () => {
    const handle = await start({
      action: 'copy-version',
      bucket: 'Not_A_Bucket',
      keys: ['k'],
      versionId: 'v',
    });
    const err: unknown = await handle.result().catch((e: unknown) => e);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toMatch(/field "bucket"/);
    expect(cause.nonRetryable).toBe(true);

    const noSelector = await refusal({ action: 'copy-version', bucket: 'some-bucket', keys: ['k'] });
    expect(noSelector.message).toMatch(/field "keys.0"/);
    const extra = await refusal({ action: 'download', bucket: 'some-bucket', keys: ['k'], bogus: 1 });
    expect(extra.message).toMatch(/bogus/);
  });
});

describe('observability', () => {
  it('answers the steps query while and after it runs', async () => {
    const bucket = await createBucket(uniqueBucket('vr-steps'));
    const v1 = await put(bucket, 'k', 'one');
    await put(bucket, 'k', 'two');
    const handle = await start({ action: 'copy-version', bucket, keys: ['k'], versionId: v1 });
    await handle.result();
    const steps = await handle.query(stepsQuery);
    expect(steps.map((s) => s.name)).toEqual(['check bucket', 'take lease', 'plan', 'apply', 'verify']);
    expect(steps.every((s) => s.endedAt !== undefined)).toBe(true);
    const desc = await handle.describe();
    expect(desc.searchAttributes.LifeboatProcedure).toEqual(['versionRecovery']);
    expect(desc.searchAttributes.LifeboatPhase).toEqual(['done']);
  });
});
