// Test helpers on the real Temporal dev server: a client and a worker on a queue of the test's own.
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { createWorker, LifeboatWorker, WorkerOptions } from '../../worker/worker';
import { config } from './s3';

export async function temporalEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({
    address: config.temporal.address,
    namespace: config.temporal.namespace,
  });
}

export async function testWorker(taskQueue: string, options: WorkerOptions = {}): Promise<LifeboatWorker> {
  return createWorker(config, { ...options, taskQueue });
}
