// Cross-region failover and failback: inputs, the active-region record, and the go/no-go decision.
import { z } from 'zod';
import { BucketPair } from './replication';
import { gateFields, leaseFields } from './safety';
import { bucketName, isoInstant, regionName } from './schema';

const side = z.object({ region: regionName, bucket: bucketName }).strict();

/** Query parameters that carry a credential in webhook URLs (tokens, keys, signatures, passwords). */
const CREDENTIAL_PARAM =
  /^(x-amz-.*|.*token.*|.*secret.*|.*passw.*|.*signature.*|sig|key|api[-_]?key|apikey|auth.*|code|access[-_]?key.*|client[-_]?secret)$/i;

/**
 * Why a webhook URL carries a credential (user:password@, a token in the query), or undefined. A
 * workflow input is kept in history for all to read: the secret comes from the configuration
 * (webhook.secretVar), and the worker signs each call with it.
 */
export function webhookCredential(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined; // the url check itself reports it
  }
  if (u.username || u.password)
    return 'carries a user name or password (user:password@): inputs are kept in history; set webhook.secretVar in the configuration instead';
  for (const name of u.searchParams.keys())
    if (CREDENTIAL_PARAM.test(name))
      return `carries a credential in its query ("${name}"): inputs are kept in history; set webhook.secretVar in the configuration instead`;
  return undefined;
}

const webhookUrl = z
  .url()
  .refine((u) => /^https?:/i.test(u), { message: 'expected an http or https URL' })
  .superRefine((u, ctx) => {
    const why = webhookCredential(u);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  });

/** Where applications and the CLI read which side of a pair to use: one small JSON object per side. */
export const DEFAULT_RECORD_KEY = '.lifeboat/active-region.json';

function notTheSameSide(
  input: { source: { region: string; bucket: string }; replica: { region: string; bucket: string } },
  ctx: z.RefinementCtx,
): void {
  if (input.source.region === input.replica.region && input.source.bucket === input.replica.bucket)
    ctx.addIssue({ code: 'custom', path: ['replica'], message: 'is the source itself' });
}

export const RegionFailoverInput = z
  .object({
    /** The protected bucket (normally read and written) and its replica (the side to fail over to). */
    source: side,
    replica: side,
    /** Probe, verify and assess only: no approval asked, nothing switched. */
    dryRun: z.boolean().default(false),
    /** Skip the approval gate (drills). */
    autoApprove: z.boolean().default(false),
    /** How long the gate waits for `approve` or `reject` before the failover stops, in seconds. */
    approvalTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .default(3600),
    /** How long a health probe of the source waits for an answer. */
    probeTimeoutSeconds: z.number().int().min(1).max(300).default(10),
    /**
     * Compare versions by version id in the verification (S3 CRR and Ceph multisite keep them); false
     * compares ETag and size, for replicas filled by copies.
     */
    compareVersionIds: z.boolean().default(true),
    /** Set up replica -> source replication, so writes made during the outage flow back later. */
    reverseReplication: z.boolean().default(true),
    /** Key of the active-region record in each side's bucket. */
    recordKey: z.string().min(1).max(1024).default(DEFAULT_RECORD_KEY),
    /**
     * Told (HTTP POST, JSON) when direct access switches. No credentials in the URL (refused): the
     * worker signs each call with the configuration's webhook secret (x-lifeboat-signature).
     */
    webhookUrl: webhookUrl.optional(),
    /** The RPO objective in seconds: the gate shows whether the replica's measured lag is within it. */
    rpoObjectiveSeconds: z.number().nonnegative().optional(),
    reason: z.string().max(500).optional(),
  })
  .strict()
  .superRefine(notTheSameSide);
export type RegionFailoverInput = z.input<typeof RegionFailoverInput>;
export type RegionFailoverRequest = z.output<typeof RegionFailoverInput>;

export const RegionFailbackInput = z
  .object({
    /** The same pair as the failover: `source` is the side coming back, `replica` the one serving now. */
    source: side,
    replica: side,
    /** Seconds between health probes of the source while waiting for it (durable timers). */
    probeIntervalSeconds: z.number().int().min(1).max(3600).default(60),
    probeTimeoutSeconds: z.number().int().min(1).max(300).default(10),
    /** Give up waiting for the source after this many seconds. */
    maxWaitSeconds: z
      .number()
      .int()
      .min(1)
      .max(90 * 24 * 3600)
      .default(7 * 24 * 3600),
    /** As in regionFailover: how the first verification compares versions. */
    compareVersionIds: z.boolean().default(true),
    /** How long the platform's own catch-up may take before the bulk transfer does the rest. */
    catchUpTimeoutSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86400)
      .default(900),
    /** Seconds between checks of the replication lag during the catch-up. */
    catchUpPollSeconds: z.number().int().min(1).max(300).default(5),
    /** Probes of the source, and catch-up checks, per workflow run before continuing as new (bounded history). */
    probesPerRun: z.number().int().min(1).max(2000).default(500),
    catchUpPollsPerRun: z.number().int().min(1).max(2000).default(300),
    recordKey: z.string().min(1).max(1024).default(DEFAULT_RECORD_KEY),
    webhookUrl: webhookUrl.optional(),
    reason: z.string().max(500).optional(),
    /** The bulk transfer of the delta holds a lease on the source bucket and passes the gate: these are its settings. */
    ...leaseFields,
    /** A failback waits for a job writing to the source bucket to end (default), instead of failing at the end. */
    waitForLease: z.boolean().default(true),
    ...gateFields,
  })
  .strict()
  .superRefine(notTheSameSide);
export type RegionFailbackInput = z.input<typeof RegionFailbackInput>;
export type RegionFailbackRequest = z.output<typeof RegionFailbackInput>;

/** The record kept in both sides' buckets: applications read it to know where to read and write. */
export const ActiveRegionRecord = z
  .object({
    pair: BucketPair,
    /** The side to use now. */
    active: side,
    since: isoInstant,
    /** The workflow that wrote it. */
    by: z.string(),
    reason: z.string().optional(),
    /** Increases with every switch: a reader that sees two records keeps the higher. */
    generation: z.number().int().nonnegative(),
  })
  .strict();
export type ActiveRegionRecord = z.infer<typeof ActiveRegionRecord>;

/** The newer of two records (by generation, then time); undefined when there is none. */
export function newerRecord(
  a: ActiveRegionRecord | undefined,
  b: ActiveRegionRecord | undefined,
): ActiveRegionRecord | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.generation !== b.generation) return a.generation > b.generation ? a : b;
  return Date.parse(a.since) >= Date.parse(b.since) ? a : b;
}

export interface Readiness {
  go: boolean;
  /** One sentence per finding, for the gate and the step log. */
  findings: string[];
}

/**
 * The go/no-go shown at the approval gate. A failover is always possible (the primary is down);
 * what the operator needs is how much data is at risk, and whether that fits the objective.
 */
export function failoverReadiness(facts: {
  sourceHealthy: boolean;
  replicaHealthy: boolean;
  rpoSeconds: number | null;
  rpoObjectiveSeconds?: number;
  keysBehind: number | null;
}): Readiness {
  const findings: string[] = [];
  let go = true;
  if (!facts.replicaHealthy) {
    go = false;
    findings.push('the replica does not answer: failing over to it would make nothing readable');
  }
  findings.push(
    facts.sourceHealthy
      ? 'the source answers: this is a planned failover (drill or maintenance)'
      : 'the source does not answer',
  );
  if (facts.keysBehind === null) findings.push('how far the replica is behind is unknown');
  else if (facts.keysBehind === 0) findings.push('the replica has every change the verification saw');
  else findings.push(`the replica is missing ${facts.keysBehind} change(s)`);
  if (facts.rpoSeconds !== null) {
    const within =
      facts.rpoObjectiveSeconds === undefined
        ? ''
        : facts.rpoSeconds <= facts.rpoObjectiveSeconds
          ? `, within the ${facts.rpoObjectiveSeconds} s objective`
          : `, beyond the ${facts.rpoObjectiveSeconds} s objective`;
    findings.push(`RPO estimate ${Math.round(facts.rpoSeconds)} s${within}`);
  }
  return { go, findings };
}
