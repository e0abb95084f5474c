// Creates the Worker with every workflow and activity, its clients built once and injected.
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { LifeboatConfig } from '../core/config';
import { connectWorker, createS3Clients } from './clients';
import { createReplicationProviders } from './replication';

export interface WorkerOptions {
  /** Lower S3's 5 GiB multipart copy threshold (tests). */
  multipartThresholdBytes?: number;
  partSizeBytes?: number;
  taskQueue?: string;
}

export async function createWorker(config: LifeboatConfig, options: WorkerOptions = {}): Promise<Worker> {
  const connection = await connectWorker(config.temporal);
  const s3 = createS3Clients(config);
  const activities = createActivities({
    s3,
    replication: createReplicationProviders(config, s3),
    reports: config.reports,
    multipartThresholdBytes: options.multipartThresholdBytes,
    partSizeBytes: options.partSizeBytes,
  });
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: options.taskQueue ?? config.temporal.taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities,
    // On SIGINT/SIGTERM: stop polling, let running activities finish for up to 10 s, then cancel them.
    shutdownGraceTime: '10s',
    // Heartbeats reach the server at most once a second: a pause or cancel reaches a page within ~1 s
    // (the default throttle is 80% of the heartbeat timeout, 16 s here).
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
    shutdownForceTime: '30s',
  });
}
