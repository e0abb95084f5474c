// The configuration file's schema: region profiles, protected buckets and their objectives, Temporal.
import { z } from 'zod';
import { bucketName, regionName } from './schema';

/**
 * Where a region's credentials come from. Secrets are never written in the file: they are read by
 * the worker (and the CLI, for downloads) at start, and never enter workflow inputs or history.
 */
export const CredentialsSource = z.discriminatedUnion('source', [
  /** The SDK's default chain: environment, shared config files, SSO, container and instance roles. */
  z.object({ source: z.literal('default') }).strict(),
  /** A named profile of the shared AWS config and credentials files. */
  z.object({ source: z.literal('profile'), profile: z.string().min(1) }).strict(),
  /** Environment variables, by name (defaults: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). */
  z
    .object({
      source: z.literal('environment'),
      accessKeyIdVar: z.string().min(1).default('AWS_ACCESS_KEY_ID'),
      secretAccessKeyVar: z.string().min(1).default('AWS_SECRET_ACCESS_KEY'),
      sessionTokenVar: z.string().min(1).optional(),
    })
    .strict(),
  /** The keys the local stack wrote to its profile file (.stack/profile.json): lab use only. */
  z.object({ source: z.literal('local-stack') }).strict(),
]);
export type CredentialsSource = z.infer<typeof CredentialsSource>;

/** Ceph RGW multisite facts of a region whose platform is 'ceph' (no secrets: keys come from variables). */
export const CephZoneSettings = z
  .object({
    /** The RGW zone this region is. */
    zone: z.string().min(1),
    zonegroup: z.string().min(1),
    /** ceph.conf of the zone's cluster (CEPH_CONF for radosgw-admin); omit for the host's default. */
    confPath: z.string().min(1).optional(),
    /** How to run radosgw-admin against the zone's cluster (default ["radosgw-admin"]). */
    adminCommand: z.array(z.string().min(1)).min(1).optional(),
    /** argv that restarts the zone's gateways after a period commit (e.g. systemctl restart ceph-radosgw@...). */
    restartCommand: z.array(z.string().min(1)).min(1).optional(),
    /** Environment variables holding the multisite system user's keys, for `period pull` on failback. */
    systemAccessKeyVar: z.string().min(1).optional(),
    systemSecretKeyVar: z.string().min(1).optional(),
  })
  .strict();
export type CephZoneSettings = z.infer<typeof CephZoneSettings>;

export const RegionProfile = z
  .object({
    /** S3 endpoint URL; omit for AWS S3's own endpoints. */
    endpoint: z.url().optional(),
    /** The signing region (an AWS region code on AWS). */
    region: z.string().min(1),
    forcePathStyle: z.boolean().default(false),
    /**
     * Server-side copies of the bulk engine use Lifeboat's lean signed CopyObject request instead of
     * the AWS SDK's (a third of the worker CPU per object) when the endpoint is set and path-style.
     * Default true; false: every request through the SDK.
     */
    fastCopy: z.boolean().optional(),
    credentials: CredentialsSource.default({ source: 'default' }),
    /** Platform that carries replication and failover for this region. */
    platform: z.enum(['aws', 'ceph']).default('aws'),
    /** CloudWatch endpoint URL (replication lag); omit for AWS's own endpoints. */
    cloudwatchEndpoint: z.url().optional(),
    /** IAM role S3 assumes to replicate out of this region's buckets (platform aws). */
    replicationRoleArn: z
      .string()
      .regex(/^arn:[a-z-]+:iam::\d{12}:role\/\S+$/, { message: 'expected an IAM role ARN' })
      .optional(),
    /** Required by the Ceph replication provider when platform is 'ceph'. */
    ceph: CephZoneSettings.optional(),
  })
  .strict();
export type RegionProfile = z.infer<typeof RegionProfile>;

export const ProtectedBucket = z
  .object({
    region: regionName,
    bucket: bucketName,
    replica: z.object({ region: regionName, bucket: bucketName }).strict().optional(),
    objectives: z
      .object({
        rtoMinutes: z.number().positive(),
        rpoMinutes: z.number().nonnegative(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ProtectedBucket = z.infer<typeof ProtectedBucket>;

export const TemporalSettings = z
  .object({
    address: z.string().min(1).default('127.0.0.1:7233'),
    namespace: z.string().min(1).default('default'),
    taskQueue: z.string().min(1).default('lifeboat'),
    /**
     * The queue of the bucket lock workflows, which every Lifeboat worker polls besides its own: one
     * arbiter per bucket whichever queue a job runs on.
     */
    lockTaskQueue: z.string().min(1).default('lifeboat-locks'),
    /** Web UI base URL, for links the CLI prints. */
    webUi: z.string().optional(),
    /** Name of the environment variable holding a Temporal Cloud API key. */
    apiKeyVar: z.string().min(1).optional(),
    /** mTLS client certificate and key (paths), for Temporal Cloud or a self-hosted cluster. */
    tls: z
      .object({
        clientCertPath: z.string().min(1),
        clientKeyPath: z.string().min(1),
        serverRootCaPath: z.string().min(1).optional(),
        serverName: z.string().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type TemporalSettings = z.infer<typeof TemporalSettings>;

/** How the worker authenticates its webhook calls (failover and failback notices). */
export const WebhookSettings = z
  .object({
    /**
     * Environment variable holding the shared secret: each call carries x-lifeboat-timestamp and
     * x-lifeboat-signature: sha256=HMAC-SHA256(secret, "<timestamp>.<body>") in hex.
     */
    secretVar: z.string().min(1).optional(),
  })
  .strict();
export type WebhookSettings = z.infer<typeof WebhookSettings>;

/** Where plans, undo manifests, failure lists and reports are written. */
export const ReportsLocation = z
  .object({ region: regionName, bucket: bucketName, prefix: z.string().default('lifeboat/') })
  .strict();
export type ReportsLocation = z.infer<typeof ReportsLocation>;

export const LifeboatConfig = z
  .object({
    temporal: TemporalSettings.default({
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'lifeboat',
      lockTaskQueue: 'lifeboat-locks',
    }),
    regions: z.record(regionName, RegionProfile).refine((r) => Object.keys(r).length > 0, {
      message: 'expected at least one region profile',
    }),
    protectedBuckets: z.record(z.string().min(1), ProtectedBucket).default({}),
    reports: ReportsLocation.optional(),
    webhook: WebhookSettings.optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.reports && !Object.hasOwn(cfg.regions, cfg.reports.region)) {
      ctx.addIssue({
        code: 'custom',
        path: ['reports', 'region'],
        message: `region "${cfg.reports.region}" is not defined under regions`,
      });
    }
    for (const [name, pb] of Object.entries(cfg.protectedBuckets)) {
      for (const [field, region] of [
        ['region', pb.region],
        ['replica.region', pb.replica?.region],
      ] as const) {
        if (region !== undefined && !Object.hasOwn(cfg.regions, region)) {
          ctx.addIssue({
            code: 'custom',
            path: ['protectedBuckets', name, ...field.split('.')],
            message: `region "${region}" is not defined under regions`,
          });
        }
      }
    }
  });
export type LifeboatConfig = z.infer<typeof LifeboatConfig>;
