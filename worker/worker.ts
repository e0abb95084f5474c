// Creates the Worker with every workflow and activity, its clients built once and injected, and
// beside it a worker on the lock queue: the bucket lock workflows run wherever a Lifeboat worker runs.
import { bundleWorkflowCode, Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities';
import { LifeboatConfig } from '../core/config';
import { connectWorker, createS3Clients } from './clients';
import { ConfigError } from './config';
import { createReplicationProviders } from './replication';

export interface WorkerOptions {
  /** Lower S3's 5 GiB multipart copy threshold (tests). */
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
  taskQueue?: string;
}

/**
 * The job worker (the configuration's task queue, or the test's own) and the lock worker (the
 * configuration's lock queue, shared by every worker of the namespace), run and stopped together.
 */
export class LifeboatWorker {
  constructor(
    readonly jobs: Worker,
    readonly locks: Worker,
  ) {}

  async run(): Promise<void> {
    const runs = [this.jobs.run(), this.locks.run()];
    try {
      await Promise.all(runs);
    } catch (err) {
      this.shutdown();
      await Promise.allSettled(runs);
      throw err;
    }
  }

  /** Starts a graceful shutdown of both (running activities get the grace time). */
  shutdown(): void {
    for (const w of [this.jobs, this.locks]) if (w.getState() === 'RUNNING') w.shutdown();
  }

  async runUntil<R>(fnOrPromise: Promise<R> | (() => Promise<R>)): Promise<R> {
    const running = this.run();
    try {
      return await (typeof fnOrPromise === 'function' ? fnOrPromise() : fnOrPromise);
    } finally {
      this.shutdown();
      await running;
    }
  }
}

// One bundle per process: the two workers (and a test's several) share the workflow code.
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietBundler });
  return bundle;
}
const quietBundler = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

export async function createWorker(
  config: LifeboatConfig,
  options: WorkerOptions = {},
): Promise<LifeboatWorker> {
  const connection = await connectWorker(config.temporal);
  const s3 = createS3Clients(config);
  const activities = createActivities({
    s3,
    replication: createReplicationProviders(config, s3),
    reports: config.reports,
    multipartThresholdBytes: options.multipartThresholdBytes,
    partSizeBytes: options.partSizeBytes,
    lockTaskQueue: config.temporal.lockTaskQueue,
    webhookSecret: webhookSecret(config),
  });
  const common = {
    connection,
    namespace: config.temporal.namespace,
    workflowBundle: await workflowBundle(),
    activities,
    // On SIGINT/SIGTERM: stop polling, let running activities finish for up to 10 s, then cancel them.
    shutdownGraceTime: '10s',
    // Heartbeats reach the server at most once a second: a pause or cancel reaches a page within ~1 s
    // (the default throttle is 80% of the heartbeat timeout, 16 s here).
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
    shutdownForceTime: '30s',
  } as const;
  const jobs = await Worker.create({ ...common, taskQueue: options.taskQueue ?? config.temporal.taskQueue });
  const locks = await Worker.create({ ...common, taskQueue: config.temporal.lockTaskQueue });
  return new LifeboatWorker(jobs, locks);
}

/** The webhook secret, read from the variable the configuration names (never from an input). */
function webhookSecret(config: LifeboatConfig): string | undefined {
  const name = config.webhook?.secretVar;
  if (!name) return undefined;
  const value = process.env[name];
  if (!value) throw new ConfigError(`webhook.secretVar names ${name}, which is not set`);
  return value;
}
