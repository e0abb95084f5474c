// Activities of failover and failback that any S3 platform shares: health probes, the active-region
// record in both sides' buckets, making sure a side takes writes, and telling a webhook.
import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../core/errors';
import { ActiveRegionRecord, newerRecord } from '../core/failover';
import { createHmac } from 'node:crypto';
import { S3Deps, s3For } from './deps';
import { classifyS3Error, s3ErrorName, s3Status } from './s3/errors';
import { activitySignal } from './s3/signal';

export interface Side {
  region: string;
  bucket: string;
}

export interface ProbeResult {
  region: string;
  bucket: string;
  healthy: boolean;
  latencyMs: number;
  /** Why it is not healthy: the error as the client saw it. */
  error?: string;
  checkedAt: string;
}

function withTimeout(ms: number): AbortSignal {
  const own = activitySignal();
  return own ? AbortSignal.any([own, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms);
}

function errorText(err: unknown): string {
  const name = s3ErrorName(err);
  const code = (err as { code?: string }).code ?? (err as { cause?: { code?: string } }).cause?.code;
  const message = err instanceof Error ? err.message : String(err);
  return [name, code, message].filter((x, i, all) => x && all.indexOf(x) === i).join(': ');
}

export interface WebhookDeps {
  /** The shared secret of webhook calls, from the configuration's webhook.secretVar (never an input). */
  webhookSecret?: string;
}

/** Headers proving a webhook call comes from this worker: HMAC-SHA256 over "<timestamp>.<body>". */
export function webhookSignature(secret: string, body: string, timestamp: string): Record<string, string> {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'x-lifeboat-timestamp': timestamp, 'x-lifeboat-signature': `sha256=${mac}` };
}

export function createFailoverActivities(deps: S3Deps & WebhookDeps) {
  /** Reads one side's record; undefined when it is absent (or the side does not answer). */
  async function readRecord(
    side: Side,
    key: string,
    timeoutMs: number,
  ): Promise<ActiveRegionRecord | undefined> {
    try {
      const out = await s3For(deps, side.region).send(
        new GetObjectCommand({ Bucket: side.bucket, Key: key }),
        {
          abortSignal: withTimeout(timeoutMs),
        },
      );
      const parsed = ActiveRegionRecord.safeParse(JSON.parse(await out.Body!.transformToString()));
      return parsed.success ? parsed.data : undefined;
    } catch (err) {
      if (s3Status(err) === 404 || s3ErrorName(err) === 'NoSuchKey') return undefined;
      if (err instanceof ApplicationFailure) throw err;
      return undefined; // unreachable: the other side's record decides
    }
  }

  return {
    /**
     * Is the side serving its bucket? A HeadBucket within `timeoutSeconds`. Never fails: an
     * unhealthy side is an answer, not an error.
     */
    probeRegion: async (input: Side & { timeoutSeconds: number }): Promise<ProbeResult> => {
      const started = Date.now();
      const base = { region: input.region, bucket: input.bucket, checkedAt: new Date().toISOString() };
      const s3 = s3For(deps, input.region);
      try {
        await s3.send(new HeadBucketCommand({ Bucket: input.bucket }), {
          abortSignal: withTimeout(input.timeoutSeconds * 1000),
        });
        return { ...base, healthy: true, latencyMs: Date.now() - started };
      } catch (err) {
        if (activitySignal()?.aborted) throw err; // cancelled, not unhealthy
        return { ...base, healthy: false, latencyMs: Date.now() - started, error: errorText(err) };
      }
    },

    /** The newest active-region record of the two sides (either may be down or have none). */
    readActiveRegion: async (input: {
      sides: Side[];
      recordKey: string;
      timeoutSeconds: number;
    }): Promise<ActiveRegionRecord | undefined> => {
      const records = await Promise.all(
        input.sides.map((s) => readRecord(s, input.recordKey, input.timeoutSeconds * 1000)),
      );
      return records.reduce<ActiveRegionRecord | undefined>((a, b) => newerRecord(a, b), undefined);
    },

    /**
     * Writes the record to every side that answers, and reads it back from the active side (the
     * write that proves the active side takes writes). The active side must take it; the other may
     * be down, which is reported.
     */
    writeActiveRegion: async (input: {
      record: ActiveRegionRecord;
      recordKey: string;
      sides: Side[];
      timeoutSeconds: number;
    }): Promise<{ written: string[]; unreachable: { side: string; error: string }[] }> => {
      const body = JSON.stringify(input.record, null, 2) + '\n';
      const written: string[] = [];
      const unreachable: { side: string; error: string }[] = [];
      const active = input.record.active;
      for (const side of input.sides) {
        const name = `${side.region}/${side.bucket}`;
        const isActive = side.region === active.region && side.bucket === active.bucket;
        try {
          await s3For(deps, side.region).send(
            new PutObjectCommand({
              Bucket: side.bucket,
              Key: input.recordKey,
              Body: body,
              ContentType: 'application/json',
              CacheControl: 'no-cache',
            }),
            { abortSignal: withTimeout(input.timeoutSeconds * 1000) },
          );
          written.push(name);
        } catch (err) {
          if (isActive) throw classifyS3Error(err, name);
          unreachable.push({ side: name, error: errorText(err) });
        }
      }
      const back = await readRecord(active, input.recordKey, input.timeoutSeconds * 1000);
      if (back?.generation !== input.record.generation || back.active.region !== active.region) {
        throw new Error(
          `the active-region record read back from ${active.region}/${active.bucket} is not the one written`,
        );
      }
      return { written, unreachable };
    },

    /** The side keeps versions (turned on when it is not: every write must be a new version). */
    ensureVersioning: async (side: Side): Promise<{ before: string; after: string }> => {
      const where = `${side.region}/${side.bucket}`;
      const s3 = s3For(deps, side.region);
      try {
        const out = await s3.send(new GetBucketVersioningCommand({ Bucket: side.bucket }), {
          abortSignal: activitySignal(),
        });
        const before = out.Status ?? 'Unversioned';
        if (before === 'Enabled') return { before, after: before };
        await s3.send(
          new PutBucketVersioningCommand({
            Bucket: side.bucket,
            VersioningConfiguration: { Status: 'Enabled' },
          }),
          { abortSignal: activitySignal() },
        );
        return { before, after: 'Enabled' };
      } catch (err) {
        throw classifyS3Error(err, where);
      }
    },

    /** POSTs the event as JSON to the operator's webhook (2xx expected; retried otherwise). */
    notifyWebhook: async (input: { url: string; event: unknown }): Promise<{ status: number }> => {
      const body = JSON.stringify(input.event);
      const signed = deps.webhookSecret
        ? webhookSignature(deps.webhookSecret, body, new Date().toISOString())
        : {};
      const res = await fetch(input.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signed },
        body,
        signal: withTimeout(10_000),
      });
      if (res.status >= 400 && res.status < 500 && res.status !== 429) {
        throw ApplicationFailure.nonRetryable(
          `the webhook answered ${res.status}: check the URL`,
          ErrorType.InvalidInput,
        );
      }
      if (!res.ok) throw new Error(`the webhook answered ${res.status}`);
      return { status: res.status };
    },
  };
}

export type FailoverActivities = ReturnType<typeof createFailoverActivities>;
