// verifyReplica on the real Temporal dev server and the two Ceph zones: differences planted with bucket
// sync stopped are each found and classified, the RPO estimate, a deep check that catches different
// bytes under the same size, continue-as-new, bad input, and a source that does not answer.
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { LifeboatWorker as Worker } from '../../worker/worker';
import { randomBytes } from 'node:crypto';
import { connect, createServer, Server, Socket } from 'node:net';
import { VerifyReplicaInput } from '../../core/replica-diff';
import { LifeboatConfig } from '../../core/config';
import { readStackProfile } from '../../worker/config';
import { createWorker } from '../../worker/worker';
import type { VerifyProgress, VerifyReplicaResult } from '../../workflows/verify-replica';
import { Step } from '../../core/steps';
import { disableBucketSync, waitForBucketOnSecondary, waitUntilReplicated } from '../helpers/multisite';
import { clients, config, createBucket, primary, put, sleep, uniqueBucket, versionList } from '../helpers/s3';
import { temporalEnv } from '../helpers/temporal';

const suffix = `${process.pid}-${Date.now().toString(36)}`;
const upQueue = `test-verify-up-${suffix}`;
const downQueue = `test-verify-down-${suffix}`;
const secondary = clients.secondary;
let env: TestWorkflowEnvironment;
const workers: Worker[] = [];
const running: Promise<void>[] = [];

/** A port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * The local stack's configuration plus a region "flaky": the primary zone for one worker, a closed
 * port for the other (the same region going down). Its keys come from the environment, by name.
 */
function configWithFlaky(endpoint: string): LifeboatConfig {
  return {
    ...config,
    regions: {
      ...config.regions,
      flaky: {
        endpoint,
        region: config.regions.primary.region,
        forcePathStyle: true,
        platform: 'ceph',
        credentials: {
          source: 'environment',
          accessKeyIdVar: 'LIFEBOAT_TEST_FLAKY_KEY_ID',
          secretAccessKeyVar: 'LIFEBOAT_TEST_FLAKY_SECRET',
        },
      },
    },
  };
}

/** A TCP relay to the primary zone that can be cut: the source going down part-way through a run. */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: URL) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(Number(this.target.port), this.target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => server.listen(this.port, '127.0.0.1', r));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Closes the port and every connection through it: new connections are refused. */
  async cut(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise((r) => server.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

let relay: Relay;

beforeAll(async () => {
  const stack = readStackProfile();
  relay = new Relay(new URL(stack.regions.primary.endpoint));
  await relay.start();
  process.env.LIFEBOAT_TEST_FLAKY_KEY_ID = stack.regions.primary.accessKeyId;
  process.env.LIFEBOAT_TEST_FLAKY_SECRET = stack.regions.primary.secretAccessKey;
  env = await temporalEnv();
  const down = `http://127.0.0.1:${await closedPort()}`;
  workers.push(await createWorker(configWithFlaky(`http://127.0.0.1:${relay.port}`), { taskQueue: upQueue }));
  workers.push(await createWorker(configWithFlaky(down), { taskQueue: downQueue }));
  for (const w of workers) running.push(w.run());
});

afterAll(async () => {
  for (const w of workers) w.shutdown();
  await Promise.all(running);
  await env.teardown();
  await relay.cut();
});

let seq = 0;
async function verify(input: VerifyReplicaInput, taskQueue = upQueue): Promise<VerifyReplicaResult> {
  seq += 1;
  const handle = await env.client.workflow.start('verifyReplica', {
    taskQueue,
    workflowId: `test-verify-${suffix}-${seq}`,
    args: [input],
  });
  return (await handle.result()) as VerifyReplicaResult;
}

const keysOf = (r: VerifyReplicaResult, c: keyof VerifyReplicaResult['examples']) =>
  (r.examples[c] ?? []).map((d) => d.key).sort();

async function putMultipart(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<void> {
  const up = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const part = 5 * 1024 * 1024;
  const parts = [];
  for (let i = 0, n = 1; i < body.length; i += part, n++) {
    const out = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: up.UploadId,
        PartNumber: n,
        Body: body.subarray(i, i + part),
      }),
    );
    parts.push({ ETag: out.ETag, PartNumber: n });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId: up.UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

describe('verifyReplica across the two Ceph zones (multisite, same version ids)', () => {
  const bucket = uniqueBucket('verify-ms');
  let plantedAt: number;
  let before: { primary: string[]; secondary: string[] };

  beforeAll(async () => {
    await createBucket(bucket);
    await waitForBucketOnSecondary(bucket);
    for (let i = 0; i < 12; i++) await put(bucket, `same/${String(i).padStart(2, '0')}.txt`, `same ${i}`);
    await put(bucket, 'history.txt', 'v1');
    await put(bucket, 'history.txt', 'v2');
    for (const k of [
      'removed-on-replica.txt',
      'overwritten-on-replica.txt',
      'stale.txt',
      'deleted-on-source.txt',
    ])
      await put(bucket, k, `original ${k}`);
    await waitUntilReplicated(bucket);

    await disableBucketSync(bucket);
    plantedAt = Date.now();
    // On the replica: an object removed, one overwritten, one written there only.
    await secondary.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'removed-on-replica.txt' }));
    await put(bucket, 'overwritten-on-replica.txt', 'changed on the replica', {}, secondary);
    await put(bucket, 'zz-extra-on-replica.txt', 'only here', {}, secondary);
    // On the source: changes that do not reach the replica.
    await put(bucket, 'new-on-source.txt', 'not replicated');
    await put(bucket, 'stale.txt', 'overwritten on the source');
    await primary.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'deleted-on-source.txt' }));
    before = { primary: await versionList(bucket, primary), secondary: await versionList(bucket, secondary) };
    // Nothing flows either way: both listings stay as planted for longer than replication takes (~2 s).
    for (let i = 0; i < 4; i++) {
      await sleep(1500);
      expect(await versionList(bucket, primary)).toEqual(before.primary);
      expect(await versionList(bucket, secondary)).toEqual(before.secondary);
    }
  });

  it('finds each planted difference, in its class, and estimates the RPO', async () => {
    const startedAt = Date.now();
    const r = await verify({
      source: { bucket },
      replica: { region: 'secondary' },
      // Small pages and stretches: many activity calls and two continue-as-new.
      pageSize: 3,
      pagesPerActivity: 4,
      callsPerRun: 2,
    });
    expect(r.sourceReachable).toBe(true);
    expect(r.inSync).toBe(false);
    expect(r.counts).toEqual({
      keys: 19,
      'in-sync': 13,
      'missing-on-replica': 1,
      stale: 2,
      'extra-on-replica': 1,
      pending: 0,
      failed: 0,
      'content-mismatch': 0,
      diverged: 2,
    });
    expect(r.differences).toBe(6);
    expect(keysOf(r, 'missing-on-replica')).toEqual(['new-on-source.txt']);
    expect(keysOf(r, 'stale')).toEqual(['deleted-on-source.txt', 'stale.txt']);
    expect(keysOf(r, 'diverged')).toEqual(['overwritten-on-replica.txt', 'removed-on-replica.txt']);
    expect(keysOf(r, 'extra-on-replica')).toEqual(['zz-extra-on-replica.txt']);
    const removed = r.examples.diverged!.find((d) => d.key === 'removed-on-replica.txt')!;
    expect(removed).toMatchObject({ note: 'deleted on the replica', replica: { isDeleteMarker: true } });
    // The oldest change the replica lacks was written on the source after sync stopped.
    expect(Date.parse(r.oldestMissingChange!)).toBeGreaterThanOrEqual(plantedAt - 1000);
    expect(r.rpoSeconds).toBeGreaterThan(0);
    expect(r.rpoSeconds!).toBeLessThanOrEqual((Date.now() - plantedAt) / 1000 + 1);
    // Every version of both sides is counted once, across stretches and runs.
    expect(r.versions).toEqual({ source: before.primary.length, replica: before.secondary.length });
    expect(r.runs).toBeGreaterThanOrEqual(2);
    expect(r.calls).toBeGreaterThan(4);
    expect(r.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(['check both sides', 'compare listings (run 1)', 'write report']),
    );
    // RGW does not report ReplicationStatus: the missing key was asked about and stays missing.
    expect(r.replicationStatusChecks).toBeGreaterThanOrEqual(2);
    // The report is in the reports location.
    expect(r.reportKey).toBe(`s3://lifeboat-reports/lifeboat/${r.workflowId}/report.json`);
    const report = await primary.send(
      new GetObjectCommand({ Bucket: 'lifeboat-reports', Key: `lifeboat/${r.workflowId}/report.json` }),
    );
    const saved = JSON.parse(await report.Body!.transformToString()) as VerifyReplicaResult;
    expect(saved.counts).toEqual(r.counts);
    expect(Date.now() - startedAt).toBeLessThan(60_000);
  });

  it('only the keys under the prefix, with a deep check of every key in sync', async () => {
    const r = await verify({
      source: { bucket },
      replica: { region: 'secondary' },
      prefix: 'same/',
      deepCheck: 'all',
    });
    expect(r.counts.keys).toBe(12);
    expect(r.counts['in-sync']).toBe(12);
    expect(r.inSync).toBe(true);
    expect(r.rpoSeconds).toBe(0);
    expect(r.deepChecked).toBe(12);
    expect(r.bytesHashed).toBeGreaterThan(0);
  });

  it('answers the progress and steps queries and sets the search attributes', async () => {
    const handle = await env.client.workflow.start('verifyReplica', {
      taskQueue: upQueue,
      workflowId: `test-verify-${suffix}-queries`,
      args: [
        {
          source: { bucket },
          replica: { region: 'secondary' },
          prefix: 'same/',
        } satisfies VerifyReplicaInput,
      ],
    });
    const r = (await handle.result()) as VerifyReplicaResult;
    const progress = await handle.query<VerifyProgress>('progress');
    expect(progress).toMatchObject({ phase: 'done', sourceReachable: true, counts: r.counts });
    const steps = await handle.query<Step[]>('steps');
    expect(steps.map((s) => s.outcome)).toEqual(['ok', 'ok', 'ok']);
    const desc = await handle.describe();
    expect(desc.searchAttributes).toMatchObject({
      LifeboatProcedure: ['verifyReplica'],
      LifeboatTarget: [`primary/${bucket}/same/`],
      LifeboatPhase: ['done'],
    });
  });

  it('refuses a bad input at once, naming the field', async () => {
    const err = await verify({
      source: { bucket },
      replica: { region: 'secondary' },
      deepCheck: 'most' as 'all',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toMatch(/field "deepCheck"/);
  });
});

describe('verifyReplica of a copy in another bucket (ETag and size, deep check)', () => {
  it('finds missing, diverged and extra keys, and different bytes under multipart ETags only with a deep check', async () => {
    const src = await createBucket(uniqueBucket('verify-src'));
    const dst = await createBucket(uniqueBucket('verify-dst'));
    const size = 5 * 1024 * 1024 + 1000;
    await put(src, 'a.txt', 'same');
    await put(dst, 'a.txt', 'same');
    await put(src, 'b.txt', 'source bytes');
    await put(dst, 'b.txt', 'other bytes!');
    await put(src, 'c.txt', 'only on the source');
    await put(dst, 'd.txt', 'only on the copy');
    await putMultipart(primary, src, 'big.bin', randomBytes(size));
    await putMultipart(primary, dst, 'big.bin', randomBytes(size));

    const shallow = await verify({
      source: { bucket: src },
      replica: { region: 'primary', bucket: dst },
      compareVersionIds: false,
    });
    expect(shallow.counts).toMatchObject({
      keys: 5,
      'in-sync': 2,
      diverged: 1,
      'missing-on-replica': 1,
      'extra-on-replica': 1,
      'content-mismatch': 0,
    });
    const deep = await verify({
      source: { bucket: src },
      replica: { region: 'primary', bucket: dst },
      compareVersionIds: false,
      deepCheck: 'all',
    });
    expect(deep.counts).toMatchObject({ keys: 5, 'in-sync': 1, 'content-mismatch': 1 });
    expect(keysOf(deep, 'content-mismatch')).toEqual(['big.bin']);
    expect(deep.deepChecked).toBe(2);
    expect(deep.bytesHashed).toBe(2 * size + 8);
  });
});

describe('verifyReplica with the source down', () => {
  it('reports the replica alone and the last verification, and says the source is unreachable', async () => {
    const bucket = await createBucket(uniqueBucket('verify-down'));
    await waitForBucketOnSecondary(bucket);
    for (let i = 0; i < 5; i++) await put(bucket, `k${i}`, `v${i}`);
    await waitUntilReplicated(bucket);
    const input: VerifyReplicaInput = {
      source: { region: 'flaky', bucket },
      replica: { region: 'secondary' },
    };

    // While region "flaky" answers: in sync, and this becomes the last verification of the pair.
    const up = await verify(input, upQueue);
    expect(up.inSync).toBe(true);
    expect(up.counts['in-sync']).toBe(5);

    // The same region down (a closed port): the run still completes and says what it can.
    const started = Date.now();
    const down = await verify(input, downQueue);
    expect(down.sourceReachable).toBe(false);
    expect(down.inSync).toBe(false);
    expect(down.rpoSeconds).toBeNull();
    expect(down.sourceError).toMatch(/unreachable.*ECONNREFUSED/);
    expect(down.counts.keys).toBe(0);
    expect(down.replicaAlone).toMatchObject({ keys: 5, versions: 5, currentObjects: 5, deleteMarkers: 0 });
    expect(down.lastVerification).toMatchObject({
      report: up.reportKey,
      finishedAt: up.finishedAt,
      sourceReachable: true,
      counts: up.counts,
    });
    expect(down.notes.join(' ')).toMatch(/source could not be read/);
    expect(down.reportKey).toBeDefined();
    expect(down.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['check both sides', 'ok'],
      ['list replica alone', 'ok'],
      ['read last verification', 'ok'],
      ['write report', 'ok'],
    ]);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('verifyReplica when the source stops answering part-way', () => {
  it('keeps the keys counted so far, lists the replica alone and says so', async () => {
    const bucket = await createBucket(uniqueBucket('verify-cut'));
    await waitForBucketOnSecondary(bucket);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 200) {
          const i = next++;
          await put(bucket, `k/${String(i).padStart(3, '0')}`, `v${i}`);
        }
      }),
    );
    await waitUntilReplicated(bucket);
    const handle = await env.client.workflow.start('verifyReplica', {
      taskQueue: upQueue,
      workflowId: `test-verify-${suffix}-cut`,
      // One key per request and a deep check of each: slow enough to cut the source in the middle.
      args: [
        {
          source: { region: 'flaky', bucket },
          replica: { region: 'secondary' },
          pageSize: 1,
          pagesPerActivity: 4,
          deepCheck: 'all',
        } satisfies VerifyReplicaInput,
      ],
    });
    try {
      for (;;) {
        const p = await handle.query<VerifyProgress>('progress');
        if (p.counts.keys > 0) break;
        await sleep(50);
      }
      await relay.cut();
      const r = (await handle.result()) as VerifyReplicaResult;
      expect(r.sourceReachable).toBe(false);
      expect(r.sourceError).toMatch(/stopped answering after \d+ keys: .*cannot reach the source flaky\//);
      expect(r.counts.keys).toBeGreaterThan(0);
      expect(r.counts.keys).toBeLessThan(200);
      expect(r.counts['in-sync']).toBe(r.counts.keys);
      expect(r.rpoSeconds).toBeNull();
      expect(r.replicaAlone).toMatchObject({ keys: 200, currentObjects: 200 });
      expect(r.notes.join(' ')).toMatch(/counts cover only the keys listed before a side stopped answering/);
      expect(r.steps.map((s) => [s.name, s.outcome])).toEqual([
        ['check both sides', 'ok'],
        ['compare listings (run 1)', 'failed'],
        ['list replica alone', 'ok'],
        ['read last verification', 'ok'],
        ['write report', 'ok'],
      ]);
    } finally {
      await relay.start();
    }
  });
});
