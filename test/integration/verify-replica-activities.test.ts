// verifyReplicaPages on real Ceph RGW: stretches that add up to one whole pass, a retry resumed from a
// heartbeat checkpoint counting every key once, and an unreachable side reported as such.
import { S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createServer } from 'node:net';
import {
  VerifyCheckpoint,
  VerifyPageInput,
  VerifyPageResult,
  createVerifyReplicaActivities,
} from '../../activities/verify-replica';
import { addDiffCounts, emptyDiffCounts } from '../../core/replica-diff';
import { clients, createBucket, put, uniqueBucket } from '../helpers/s3';

const acts = createVerifyReplicaActivities({ s3: clients });

/** A port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

const inActivity = <A, R>(env: MockActivityEnvironment, fn: (a: A) => Promise<R>, arg: A): Promise<R> =>
  env.run(fn, arg);

/** Runs the activity in a real activity context, recording its heartbeats. */
async function call(input: VerifyPageInput, heartbeatDetails?: VerifyCheckpoint) {
  const env = new MockActivityEnvironment(heartbeatDetails ? { heartbeatDetails } : {});
  const beats: VerifyCheckpoint[] = [];
  env.on('heartbeat', (d: VerifyCheckpoint) => beats.push(structuredClone(d)));
  const result = await inActivity(env, acts.verifyReplicaPages, input);
  return { result, beats };
}

describe('verifyReplicaPages', () => {
  let input: VerifyPageInput;
  let whole: VerifyPageResult;

  beforeAll(async () => {
    const src = await createBucket(uniqueBucket('act-verify-src'));
    const dst = await createBucket(uniqueBucket('act-verify-dst'));
    for (let i = 0; i < 30; i++) {
      const key = `k/${String(i).padStart(2, '0')}`;
      await put(src, key, `v${i}`);
      if (i % 3 === 0) await put(src, key, `v${i} again`); // several versions: keys span pages
      if (i % 5 !== 0)
        await put(dst, key, i % 7 === 0 ? 'other' : `${i % 3 === 0 ? `v${i} again` : `v${i}`}`);
    }
    await put(dst, 'k/99', 'extra');
    input = {
      source: { region: 'primary', bucket: src },
      replica: { region: 'primary', bucket: dst },
      prefix: 'k/',
      compareVersionIds: false,
      deepCheck: 'none',
      sampleRate: 1,
      examplesPerClass: 5,
      pageSize: 4,
      pagesPerActivity: 1000,
    };
    whole = (await call(input)).result;
  });

  it('one pass classifies every key', () => {
    expect(whole.done).toBe(true);
    expect(whole.counts).toMatchObject({
      keys: 31,
      'missing-on-replica': 6, // 0, 5, 10, 15, 20, 25
      diverged: 4, // 7, 14, 21, 28: content the source never had
      'extra-on-replica': 1,
      'in-sync': 20,
    });
    expect(whole.versions).toEqual({ source: 40, replica: 25 });
  });

  it('stretches of a few requests add up to the whole pass', async () => {
    let counts = emptyDiffCounts();
    let afterKey: string | undefined;
    const versions = { source: 0, replica: 0 };
    let calls = 0;
    for (;;) {
      const { result } = await call({ ...input, pagesPerActivity: 3, afterKey });
      calls += 1;
      counts = addDiffCounts(counts, result.counts);
      versions.source += result.versions.source;
      versions.replica += result.versions.replica;
      if (result.done) break;
      expect(result.nextAfterKey).toBeDefined();
      afterKey = result.nextAfterKey;
    }
    expect(calls).toBeGreaterThan(2);
    expect(counts).toEqual(whole.counts);
    expect(versions).toEqual(whole.versions);
  });

  it('a retry resumes from the heartbeat checkpoint and counts each key once', async () => {
    const first = await call(input);
    const mid = first.beats[Math.floor(first.beats.length / 2)];
    expect(mid.doneUpTo).toBeDefined();
    expect(mid.tally.counts.keys).toBeGreaterThan(0);
    expect(mid.tally.counts.keys).toBeLessThan(31);
    const resumed = await call(input, mid);
    expect(resumed.result.counts).toEqual(whole.counts);
    expect(resumed.result.versions).toEqual(whole.versions);
    // It listed only what came after the checkpoint.
    expect(resumed.beats.length).toBeLessThan(first.beats.length);
  });

  it('a source that does not answer: the probe says so, a stretch fails retryable as Unreachable', async () => {
    const down = new S3Client({
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
    const withDown = createVerifyReplicaActivities({ s3: { ...clients, down } });
    const source = { region: 'down', bucket: input.source.bucket };
    const probe = await inActivity(new MockActivityEnvironment(), withDown.probeReplicaPair, {
      source,
      replica: input.replica,
    });
    expect(probe.source.reachable).toBe(false);
    expect(probe.source.error).toMatch(/down\/.* is unreachable \(.*ECONNREFUSED/);
    expect(probe.replica).toEqual({ reachable: true, versioning: 'Enabled' });
    const err = await inActivity(new MockActivityEnvironment(), withDown.verifyReplicaPages, {
      ...input,
      source,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('Unreachable');
    expect((err as ApplicationFailure).nonRetryable).toBe(false);
    expect((err as ApplicationFailure).message).toMatch(/^cannot reach the source down\//);
    down.destroy();
  });
});
